"""A fold's out-of-fold predictions, from the pipeline the fold fitted, on the rows it held out.

They are what ``cross_val_predict`` returns for those rows with the same folds and pipeline: a
regressor's ``predict``; a classifier's ``predict_proba`` with its columns put in the dataset's
class order (a class missing from the fold's training rows gets probability 0, as
``cross_val_predict`` does) and its ``predict``. For the registry's classifiers ``predict`` is the
class of highest probability, so it is read off the probabilities instead of a second pass over
the rows; any other estimator (a model spec) is asked. A model that cannot predict loses its
predictions, not its fold: a warning says so. NumPy is imported when called.
The validation scores asked the same pipeline for the same rows just before, and their answers
are reused (:func:`core.modeling.responses.responses_remembered`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from core.store.predictions import FoldPredictions
from core.text import error_line

# Classifiers whose predict() is classes_[argmax(predict_proba())] (DummyClassifier: for every
# strategy, as both draw from the same seeded generator).
ARGMAX_PREDICT = frozenset(
    {
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.dummy.DummyClassifier",
        "core.modeling.glm.GLMClassifier",
    }
)


def predict_fold(est: Any, X_val: Any, classes: Sequence[str], repeat: int, fold: int) -> FoldPredictions | None:
    """``est`` fitted on the fold's training rows; ``X_val`` indexed by row id; ``classes`` empty for regression."""
    try:
        return _predict(est, X_val, classes, repeat, fold)
    except Exception as e:
        warnings.warn(f"predictions not stored: {error_line(e)}", RuntimeWarning, stacklevel=2)
        return None


def _predict(est: Any, X_val: Any, classes: Sequence[str], repeat: int, fold: int) -> FoldPredictions:
    import numpy as np

    rows = np.asarray(X_val.index, dtype=np.int64)
    if not classes:
        return FoldPredictions(repeat, fold, rows, values=np.asarray(est.predict(X_val), dtype=np.float64))
    position = {c: i for i, c in enumerate(classes)}
    columns = np.array([position[str(c)] for c in est.classes_], dtype=np.int16)
    if not hasattr(est, "predict_proba"):
        return FoldPredictions(repeat, fold, rows, labels=_labels(est.predict(X_val), position))
    fitted = np.asarray(est.predict_proba(X_val), dtype=np.float64)
    proba = np.zeros((len(rows), len(classes)), dtype=np.float64)
    proba[:, columns] = fitted
    final = est[-1] if hasattr(est, "steps") else est
    if f"{type(final).__module__}.{type(final).__qualname__}" in ARGMAX_PREDICT:
        labels = columns[np.argmax(fitted, axis=1)]
    else:
        labels = _labels(est.predict(X_val), position)
    return FoldPredictions(repeat, fold, rows, labels=labels, proba=proba)


def _labels(predicted: Any, position: dict[str, int]) -> Any:
    import numpy as np

    return np.array([position[str(v)] for v in predicted], dtype=np.int16)
