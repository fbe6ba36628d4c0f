"""A fold's out-of-fold predictions, from the pipeline the fold fitted, on the rows it held out.

They are what ``cross_val_predict`` returns for those rows with the same folds and pipeline: a
regressor's ``predict``; a classifier's ``predict_proba`` with its columns put in the dataset's
class order (a class missing from the fold's training rows gets probability 0, as
``cross_val_predict`` does), and the predicted class read off the probabilities instead of a
second pass through ``predict`` (for every classifier in the registry the two agree: ``predict``
is the class of highest probability). NumPy is imported when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.store.predictions import FoldPredictions


def predict_fold(est: Any, X_val: Any, classes: Sequence[str], repeat: int, fold: int) -> FoldPredictions:
    """``est`` fitted on the fold's training rows; ``X_val`` indexed by row id; ``classes`` empty for regression."""
    import numpy as np

    rows = np.asarray(X_val.index, dtype=np.int64)
    if not classes:
        return FoldPredictions(repeat, fold, rows, values=np.asarray(est.predict(X_val), dtype=np.float64))
    position = {c: i for i, c in enumerate(classes)}
    columns = np.array([position[str(c)] for c in est.classes_], dtype=np.int16)
    if not hasattr(est, "predict_proba"):
        labels = np.array([position[str(v)] for v in est.predict(X_val)], dtype=np.int16)
        return FoldPredictions(repeat, fold, rows, labels=labels)
    fitted = np.asarray(est.predict_proba(X_val), dtype=np.float64)
    proba = np.zeros((len(rows), len(classes)), dtype=np.float64)
    proba[:, columns] = fitted
    return FoldPredictions(repeat, fold, rows, labels=columns[np.argmax(fitted, axis=1)], proba=proba)
