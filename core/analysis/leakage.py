"""Suspected target leakage: one feature alone predicts the target almost perfectly, out of fold.

A cheap in-sample screen (the target's purity over a feature's quantile bins) picks the candidates;
the best of them get a cross-validated one-feature model on the development rows only.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from core.analysis.findings import Finding, is_numeric
from core.modeling.workers import worker_options
from core.types import DatasetInfo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

LEAK_SCORE = 0.98  # one feature alone, out of fold: ROC AUC (classification) or R² (regression)
LEAK_SCREEN = 0.85  # in-sample binned score below which a feature cannot reach LEAK_SCORE out of fold
LEAK_MAX_CANDIDATES = 50  # features given the cross-validated check (the best screened ones)
_BINS = 32  # quantile bins of the leakage screen


def _codes(s: pd.Series) -> np.ndarray:
    """A column as small integer bin codes: quantile bins for numbers, categories otherwise; NaN own bin."""
    import numpy as np
    import pandas as pd

    if is_numeric(s):
        v = s.to_numpy(dtype=float)
        ok = ~np.isnan(v)
        codes = np.full(len(v), _BINS, dtype=np.int64)
        if ok.any():
            edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, _BINS + 1)[1:-1]))
            codes[ok] = np.searchsorted(edges, v[ok], side="right")
        return codes
    codes = pd.factorize(s, use_na_sentinel=False)[0]
    return np.asarray(codes, dtype=np.int64)


def _screen_score(codes: np.ndarray, y: np.ndarray, classification: bool, n_classes: int) -> float:
    """In-sample score of predicting y from one binned feature: balanced accuracy, or η² (R² of bin means)."""
    import numpy as np

    k = int(codes.max()) + 1
    if classification:
        table = np.bincount(codes * n_classes + y, minlength=k * n_classes).reshape(k, n_classes)
        pred = table.argmax(axis=1)
        totals = table.sum(axis=0)
        correct = np.array([table[pred == c, c].sum() for c in range(n_classes)])
        return float(np.mean(correct[totals > 0] / totals[totals > 0]))
    count = np.bincount(codes, minlength=k)
    means = np.bincount(codes, weights=y, minlength=k) / np.maximum(count, 1)
    resid = y - means[codes]
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - resid @ resid / total) if total > 0 else 0.0


def leakage_findings(X: pd.DataFrame, y: pd.Series, dataset: DatasetInfo, jobs: int) -> list[Finding]:
    """Features that alone predict the target almost perfectly, out of fold (a cheap screen first)."""
    import numpy as np
    from joblib import Parallel, delayed

    from core.modeling.evaluation import make_splitter

    if len(X) < 20:
        return []
    # A ranking target (a graded relevance) is screened as a number, on folds of rows: a screen, not a score.
    task = "regression" if dataset.task == "ranking" else dataset.task
    classification = dataset.is_classification
    if classification:
        classes = list(dataset.classes) or sorted(y.unique())
        yy = y.map({c: i for i, c in enumerate(classes)}).to_numpy()
        if np.isnan(yy.astype(float)).any() or len(np.unique(yy)) < 2:
            return []
        yy = yy.astype(np.int64)
        n_classes = len(classes)
    else:
        yy = y.to_numpy(dtype=float)
        n_classes = 0
    candidates = []
    for col in X.columns:
        codes = _codes(X[col])
        if codes.max() == codes.min():
            continue
        s = _screen_score(codes, yy, classification, n_classes)
        if s >= LEAK_SCREEN:
            candidates.append((s, col))
    screened = [c for _, c in sorted(candidates, key=lambda t: -t[0])[:LEAK_MAX_CANDIDATES]]
    if not screened:
        return []
    try:
        splits = list(make_splitter(task, 5, 1, 0).split(X, y))
    except ValueError:
        return []
    results = Parallel(n_jobs=jobs, **worker_options())(
        delayed(_one_feature_cv)(X[[c]], yy, task, splits) for c in screened
    )
    out = []
    metric = "R²" if task == "regression" else "ROC AUC"
    for col, score in zip(screened, results):
        if score is not None and score >= LEAK_SCORE:
            out.append(
                Finding(
                    "leakage",
                    "high",
                    (str(col),),
                    (),
                    f"{col} alone predicts {dataset.target} almost perfectly (out-of-fold {metric} "
                    f"{score:.3f}): suspected target leakage",
                    "check it is known at prediction time; if it is derived from the target, drop it",
                    float(score),
                    0,
                )
            )
    return out


def _one_feature_cv(X1: pd.DataFrame, y: np.ndarray, task: str, splits: list[tuple[Any, Any]]) -> float | None:
    """Out-of-fold score of a small tree on one feature (categories one-hot encoded inside each fold)."""
    import numpy as np
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import r2_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        col = X1.columns[0]
        if is_numeric(X1[col]):
            prep = make_column_transformer((SimpleImputer(strategy="median", add_indicator=True), [col]))
        else:
            prep = make_column_transformer(
                (
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="(missing)"),
                        OneHotEncoder(handle_unknown="ignore", max_categories=50),
                    ),
                    [col],
                )
            )
        tree = (DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier)(
            max_depth=8, min_samples_leaf=3, random_state=0
        )
        model = make_pipeline(prep, tree)
        try:
            if task == "regression":
                pred = np.zeros(len(y))
                for train, val in splits:
                    pred[val] = model.fit(X1.iloc[train], y[train]).predict(X1.iloc[val])
                return float(r2_score(y, pred))
            n_classes = int(y.max()) + 1
            proba = np.zeros((len(y), n_classes))
            for train, val in splits:
                m = model.fit(X1.iloc[train], y[train])
                proba[np.ix_(val, m.classes_)] = m.predict_proba(X1.iloc[val])
            if n_classes == 2:
                return float(roc_auc_score(y, proba[:, 1]))
            return float(roc_auc_score(y, proba, multi_class="ovr", labels=list(range(n_classes))))
        except ValueError:
            return None
