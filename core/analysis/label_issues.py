"""Possibly mislabeled rows: development rows whose own label gets a low out-of-fold probability."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.analysis.findings import Finding, Severity
from core.types import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd

MISLABELED_TOP = 20  # rows listed for inspection
MISLABELED_LOW = 0.1  # out-of-fold probability of the own label below which a row is suspicious


def mislabeled_findings(X: pd.DataFrame, y: pd.Series, dataset: DatasetInfo, jobs: int) -> list[Finding]:
    """Rows whose out-of-fold probability of their own label is lowest (a linear model, like the baseline)."""
    import numpy as np
    from sklearn.model_selection import cross_val_predict

    from core.modeling.evaluation import build_pipeline, make_splitter
    from core.modeling.models import BASELINES

    counts = y.value_counts()
    if len(counts) < 2 or counts.min() < 5 or len(X) < 30:
        return []
    pipe = build_pipeline(BASELINES["linear"], dataset, X, {}, 0)
    try:  # only a class too small to fold means "no answer"; a failing fit is an error
        splits = list(make_splitter(dataset.task, 5, 1, 0).split(X, y))
    except ValueError:
        return []
    proba = cross_val_predict(pipe, X, y, cv=splits, method="predict_proba", n_jobs=jobs)
    classes = sorted(y.unique())  # predict_proba columns follow the sorted labels
    pos = y.map({c: i for i, c in enumerate(classes)}).to_numpy().astype(int)
    own = proba[np.arange(len(y)), pos]
    order = np.argsort(own, kind="stable")
    wrong = own < proba.max(axis=1)
    top = [i for i in order[:MISLABELED_TOP] if wrong[i]]
    if not top:
        return []
    n_low = int((own < MISLABELED_LOW).sum())
    sev: Severity = "low" if n_low else "info"
    return [
        Finding(
            "mislabeled",
            sev,
            (dataset.target,),
            tuple(int(X.index[i]) for i in top),
            f"{len(top)} development rows whose out-of-fold probability of their own label is lowest "
            f"(from {own[top[0]]:.3f}); {n_low} rows below {MISLABELED_LOW}",
            "inspect these rows: fix wrong labels, or keep them if they are hard but right",
            float(n_low),
            len(top),
            tuple(float(own[i]) for i in top),
        )
    ]
