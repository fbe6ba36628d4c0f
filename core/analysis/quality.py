"""Data-quality findings: what is wrong with a dataset before any model is trusted.

:func:`check_quality` looks at an imported dataset and returns :class:`Finding` records, each
with a severity, the affected columns and file rows, a one-line message and a one-line
suggested action. Which rows each check reads:

- *structure* (missing values, constant / near-constant, identifier-like and high-cardinality
  columns, duplicate rows and conflicting labels (both compared without the identifier-like
  columns), class imbalance) uses every labeled row, dev
  and test: a duplicate that sits in both parts inflates the test score, and that is exactly
  what a user must learn before trusting it;
- *models* (suspected target leakage, possibly mislabeled rows) are fitted on the development
  rows only, out of fold, so the locked test rows never train anything;
- *shift* compares dev and test features (never test labels): per-column KS / chi-square
  tests with a Holm correction, and an adversarial-validation AUC.

Thresholds are module constants, chosen so that clean data (no duplicates, a random split)
raises no alarm of the kinds duplicates / conflicts / leakage / constant / shift; the reasons
are next to each constant. ``rows`` are file row numbers (the index ``load_split`` returns),
at most :data:`MAX_ROWS` of them; ``n_rows`` is the full count.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.data.frames import load_split
from core.store.datasets import get_dataset
from core.errors import InputError
from core.stopping import StopToken, check
from core.store import Store
from core.types import DatasetInfo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Finding", "check_quality", "finding_to_dict", "finding_from_dict", "SEVERITIES", "KINDS"]

Severity = Literal["high", "medium", "low", "info"]
SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "info")
KINDS: tuple[str, ...] = (
    "leakage", "duplicates", "conflicting_labels", "shift", "adversarial_validation", "missing", "constant",
    "near_constant", "identifier", "high_cardinality", "class_imbalance", "mislabeled",
)

MAX_ROWS = 50  # rows listed per finding; n_rows has the full count
MISSING_HIGH, MISSING_MEDIUM = 0.5, 0.2  # fraction of missing cells in a column
NEAR_CONSTANT_SHARE = 0.98  # one value in >= 98% of the rows: almost no information, folds may see one value
HIGH_CARDINALITY = 30  # the one-hot encoder keeps 30 categories (models.MAX_CATEGORIES); more are pooled
LEAK_SCORE = 0.98  # one feature alone, out of fold: ROC AUC (classification) or R² (regression)
LEAK_SCREEN = 0.85  # in-sample binned score below which a feature cannot reach LEAK_SCORE out of fold
LEAK_MAX_CANDIDATES = 50  # features given the cross-validated check (the best screened ones)
SHIFT_ALPHA = 0.01  # family-wise error rate of the per-column tests (Holm): a random split rarely trips it
ADV_MIN_AUC = 0.6  # adversarial AUC must exceed this and 0.5 + 3 null standard errors to count as shift
ADV_HIGH_AUC = 0.8
MISLABELED_TOP = 20  # rows listed for inspection
MISLABELED_LOW = 0.1  # out-of-fold probability of the own label below which a row is suspicious
_BINS = 32  # quantile bins of the leakage screen


@dataclass(frozen=True)
class Finding:
    """One problem in the data (or a fact worth knowing, severity ``info``)."""

    kind: str
    severity: Severity
    columns: tuple[str, ...]
    rows: tuple[int, ...]  # file row numbers, at most MAX_ROWS
    message: str
    action: str
    value: float | None = None  # the number the severity was judged on (a fraction, an AUC ...)
    n_rows: int = 0  # how many rows are affected in all (rows may be capped)
    scores: tuple[float, ...] = ()  # per listed row, when it has one (mislabeled: own-label probability)


def finding_to_dict(f: Finding) -> dict:
    """Stable JSON-ready keys: kind, severity, columns, rows, n_rows, message, action, value, scores."""
    d = asdict(f)
    d["columns"], d["rows"], d["scores"] = list(f.columns), list(f.rows), [round(s, 6) for s in f.scores]
    if d["value"] is not None and not math.isfinite(d["value"]):
        d["value"] = None
    return {k: d[k] for k in ("kind", "severity", "columns", "rows", "n_rows", "message", "action", "value",
                              "scores")}


def finding_from_dict(d: dict) -> Finding:
    """The finding :func:`finding_to_dict` wrote (a child process sends findings to the app this way)."""
    return Finding(kind=d["kind"], severity=d["severity"], columns=tuple(d["columns"]), rows=tuple(d["rows"]),
                   message=d["message"], action=d["action"], value=d["value"], n_rows=d["n_rows"],
                   scores=tuple(d["scores"]))


def check_quality(
    store: Store, dataset_ref: str | int | DatasetInfo, *, mislabeled: bool = True, jobs: int = 1,
    stop: StopToken | None = None,
) -> tuple[Finding, ...]:
    """Every finding on the dataset, most severe first (then by kind, then by column).

    ``stop`` is checked before each of the costly checks (leakage, shift, mislabeled rows) and
    between the columns of the shift test (see :mod:`core.stopping`), so a screen the user left
    does not keep the worker processes busy for the rest of the check.
    """
    import pandas as pd

    def go_on() -> None:
        check(stop, "data-quality check stopped")

    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    X_dev, y_dev = load_split(store, dataset, "dev")
    if dataset.n_test:
        X_test, y_test = load_split(store, dataset, "test")
    else:
        X_test, y_test = X_dev.iloc[:0], y_dev.iloc[:0]
    X = pd.concat([X_dev, X_test])
    y = pd.concat([y_dev, y_test])
    if len(X) == 0:
        raise InputError(f"dataset {dataset.name!r} has no labeled rows to check")
    is_test = pd.Series(False, index=X.index)
    is_test.loc[X_test.index] = True

    findings: list[Finding] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        findings += _missing(X)
        findings += _constant(X)
        ids = _identifiers(X)
        findings += ids
        findings += _high_cardinality(X)
        # An id column makes every row unique: compare rows on the other columns.
        X_rows = X.drop(columns=[f.columns[0] for f in ids])
        if X_rows.shape[1]:
            findings += _duplicates(X_rows, y, is_test)
            if dataset.is_classification:
                findings += _conflicts(X_rows, y, is_test)
        if dataset.is_classification:
            findings += _imbalance(y, dataset)
        go_on()
        findings += _leakage(X_dev, y_dev, dataset, jobs)
        if len(X_test) >= 5 and len(X_dev) >= 5:
            go_on()
            findings += _shift(X_dev, X_test, dataset, jobs, go_on)
        if mislabeled and dataset.is_classification:
            go_on()
            findings += _mislabeled(X_dev, y_dev, dataset, jobs)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    kind_rank = {k: i for i, k in enumerate(KINDS)}
    return tuple(sorted(findings, key=lambda f: (rank[f.severity], kind_rank.get(f.kind, 99), f.columns)))


# --------------------------------------------------------------------------- structure


def _rows(index: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in list(index)[:MAX_ROWS])


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.995 else f"{100 * x:.2f}%"


def _is_numeric(s: pd.Series) -> bool:
    return s.dtype.kind in "fiub"


def _missing(X: pd.DataFrame) -> list[Finding]:
    out = []
    n = len(X)
    counts = X.isna().sum()
    for col, k in counts.items():
        if not k:
            continue
        frac = k / n
        sev: Severity = "high" if frac >= MISSING_HIGH else "medium" if frac >= MISSING_MEDIUM else "low"
        action = ("drop the column, or add a 'was missing' indicator if missingness carries signal"
                  if frac >= MISSING_HIGH else "impute inside the folds (the pipelines do: median / '(missing)') "
                  "and consider a missing-indicator feature")
        rows = X.index[X[col].isna().to_numpy()]
        out.append(Finding("missing", sev, (str(col),), _rows(rows),
                           f"{col}: {k} of {n} values missing ({_pct(frac)})", action, float(frac), int(k)))
    return out


def _constant(X: pd.DataFrame) -> list[Finding]:
    out = []
    n = len(X)
    for col in X.columns:
        s = X[col]
        counts = s.value_counts(dropna=False)
        if len(counts) <= 1:
            out.append(Finding("constant", "medium", (str(col),), (),
                               f"{col} has a single value in every row: it carries no information",
                               "drop the column", 1.0, 0))
            continue
        share = counts.iloc[0] / n
        if share >= NEAR_CONSTANT_SHARE:
            top = counts.index[0]
            rare = X.index[(s != top).to_numpy() if not (isinstance(top, float) and math.isnan(top))
                           else s.notna().to_numpy()]
            out.append(Finding("near_constant", "low", (str(col),), _rows(rare),
                               f"{col}: one value fills {_pct(share)} of the rows; {n - counts.iloc[0]} rows differ",
                               "drop it, or check the rare rows: some folds may see a single value", float(share),
                               int(n - counts.iloc[0])))
    return out


def _identifiers(X: pd.DataFrame) -> list[Finding]:
    """Columns with a different value in every row: text ids, or dense integer counters."""
    import numpy as np

    out = []
    n = len(X)
    if n < 20:
        return out
    for col in X.columns:
        s = X[col].dropna()
        if len(s) < 0.95 * n or s.nunique() != len(s):
            continue
        if _is_numeric(s):
            v = s.to_numpy(dtype=float)
            if not np.all(v == np.round(v)):
                continue  # a continuous measurement is naturally unique per row
            span = v.max() - v.min() + 1
            if len(v) / span < 0.5:
                continue  # sparse integers (amounts, counts) can be unique by chance
        out.append(Finding("identifier", "medium", (str(col),), (),
                           f"{col} has a different value in every row: it looks like an identifier",
                           "drop it from the features (an id only lets a model memorise rows)", 1.0, 0))
    return out


def _high_cardinality(X: pd.DataFrame) -> list[Finding]:
    out = []
    n = len(X)
    for col in X.columns:
        s = X[col]
        if _is_numeric(s):
            continue
        k = s.nunique()
        if k <= HIGH_CARDINALITY or k == s.notna().sum():  # unique per row is an identifier finding
            continue
        ratio = k / n
        sev: Severity = "medium" if ratio > 0.5 else "low"
        out.append(Finding("high_cardinality", sev, (str(col),), (),
                           f"{col}: {k} distinct categories in {n} rows; one-hot keeps the {HIGH_CARDINALITY} "
                           "most frequent and pools the rest",
                           "group rare categories, or use target / frequency encoding fitted inside the folds",
                           float(k), 0))
    return out


def _row_hash(X: pd.DataFrame) -> pd.Series:
    import pandas as pd

    return pd.util.hash_pandas_object(X, index=False)


def _duplicates(X: pd.DataFrame, y: pd.Series, is_test: pd.Series) -> list[Finding]:
    import pandas as pd

    key = pd.DataFrame({"x": _row_hash(X).to_numpy(), "y": pd.util.hash_pandas_object(y, index=False).to_numpy()},
                       index=X.index)
    dup_any = key.duplicated(keep=False)
    if not dup_any.any():
        return []
    extra = key.duplicated(keep="first")
    n_extra = int(extra.sum())
    groups = key[dup_any].groupby(["x", "y"], sort=False)
    across = int(sum(1 for _, g in groups if is_test.loc[g.index].nunique() > 1))
    frac = n_extra / len(X)
    rows = X.index[dup_any.to_numpy()]
    if across:
        return [Finding("duplicates", "high", (), _rows(rows),
                        f"{n_extra} duplicate rows (identical features and target); {across} groups appear in both "
                        "the development and the test rows, so the test score is optimistic",
                        "remove duplicates (or split by group) and re-import", float(frac), int(dup_any.sum()))]
    sev: Severity = "medium" if frac >= 0.05 else "low"
    return [Finding("duplicates", sev, (), _rows(rows),
                    f"{n_extra} duplicate rows ({_pct(frac)}): identical features and target",
                    "remove them if they are copies; keep them if they are real repeated observations "
                    "(then validate with grouped folds)", float(frac), int(dup_any.sum()))]


def _conflicts(X: pd.DataFrame, y: pd.Series, is_test: pd.Series) -> list[Finding]:
    import pandas as pd

    frame = pd.DataFrame({"x": _row_hash(X).to_numpy(), "y": y.astype(str).to_numpy()}, index=X.index)
    n_labels = frame.groupby("x")["y"].transform("nunique")
    bad = n_labels > 1
    if not bad.any():
        return []
    n_groups = int(frame.loc[bad, "x"].nunique())
    n_bad = int(bad.sum())
    frac = n_bad / len(X)
    rows = X.index[bad.to_numpy()]
    return [Finding("conflicting_labels", "high" if frac >= 0.05 else "medium", (), _rows(rows),
                    f"{n_groups} groups of identical feature rows have different labels ({n_bad} rows): no model "
                    "can get all of them right",
                    "check the labels of these rows; if both are real, a feature that tells them apart is missing",
                    float(frac), n_bad)]


def _imbalance(y: pd.Series, dataset: DatasetInfo) -> list[Finding]:
    counts = y.value_counts()
    if len(counts) < 2:
        return [Finding("class_imbalance", "high", (dataset.target,), (),
                        f"only one class ({counts.index[0] if len(counts) else '-'}) among the labeled rows",
                        "a classifier needs at least two classes: check the target", None, 0)]
    ratio = counts.iloc[0] / counts.iloc[-1]
    minority, n_min = counts.index[-1], int(counts.iloc[-1])
    if ratio < 3 and n_min >= 10:
        return []
    sev: Severity = "high" if ratio >= 100 or n_min < 10 else "medium" if ratio >= 10 else "low"
    return [Finding("class_imbalance", sev, (dataset.target,), (),
                    f"classes are imbalanced: {counts.index[0]} has {ratio:.1f}× the rows of {minority} "
                    f"({n_min} rows, {_pct(n_min / counts.sum())})",
                    "judge models by balanced accuracy or ROC AUC, not accuracy; try class_weight='balanced'",
                    float(ratio), 0)]


# --------------------------------------------------------------------------- leakage


def _codes(s: pd.Series) -> np.ndarray:
    """A column as small integer bin codes: quantile bins for numbers, categories otherwise; NaN own bin."""
    import numpy as np
    import pandas as pd

    if _is_numeric(s):
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


def _leakage(X: pd.DataFrame, y: pd.Series, dataset: DatasetInfo, jobs: int) -> list[Finding]:
    """Features that alone predict the target almost perfectly, out of fold (a cheap screen first)."""
    import numpy as np
    from joblib import Parallel, delayed

    from core.modeling.evaluation import make_splitter

    if len(X) < 20:
        return []
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
    screened = []
    for col in X.columns:
        codes = _codes(X[col])
        if codes.max() == codes.min():
            continue
        s = _screen_score(codes, yy, classification, n_classes)
        if s >= LEAK_SCREEN:
            screened.append((s, col))
    screened = [c for _, c in sorted(screened, key=lambda t: -t[0])[:LEAK_MAX_CANDIDATES]]
    if not screened:
        return []
    try:
        splits = list(make_splitter(dataset.task, 5, 1, 0).split(X, y))
    except ValueError:
        return []
    results = Parallel(n_jobs=jobs)(delayed(_one_feature_cv)(X[[c]], yy, dataset.task, splits) for c in screened)
    out = []
    metric = "R²" if dataset.task == "regression" else "ROC AUC"
    for col, score in zip(screened, results):
        if score is not None and score >= LEAK_SCORE:
            out.append(Finding("leakage", "high", (str(col),), (),
                               f"{col} alone predicts {dataset.target} almost perfectly (out-of-fold {metric} "
                               f"{score:.3f}): suspected target leakage",
                               "check it is known at prediction time; if it is derived from the target, drop it",
                               float(score), 0))
    return out


def _one_feature_cv(X1: pd.DataFrame, y: np.ndarray, task: str, splits: list) -> float | None:
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
        if _is_numeric(X1[col]):
            prep = make_column_transformer((SimpleImputer(strategy="median", add_indicator=True), [col]))
        else:
            prep = make_column_transformer(
                (make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                               OneHotEncoder(handle_unknown="ignore", max_categories=50)), [col]))
        tree = (DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier)(
            max_depth=8, min_samples_leaf=3, random_state=0)
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


# --------------------------------------------------------------------------- shift


def _holm(pvalues: list[float], alpha: float) -> list[bool]:
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    m = len(pvalues)
    reject = [False] * m
    for rank, i in enumerate(order):
        if pvalues[i] <= alpha / (m - rank):
            reject[i] = True
        else:
            break
    return reject


def _column_test(a: pd.Series, b: pd.Series) -> tuple[str, float, float] | None:
    """(test name, statistic, p-value) comparing one column between dev (a) and test (b)."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    if _is_numeric(a):
        va, vb = a.dropna().to_numpy(dtype=float), b.dropna().to_numpy(dtype=float)
        if len(va) < 5 or len(vb) < 5:
            return None
        r = stats.ks_2samp(va, vb)
        return "KS", float(r.statistic), float(r.pvalue)
    sa, sb = a.fillna("(missing)").astype(str), b.fillna("(missing)").astype(str)
    counts = pd.crosstab(pd.concat([sa, sb]), np.r_[np.zeros(len(sa)), np.ones(len(sb))])
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        return None
    # Pool categories with small expected counts so the chi-square approximation holds.
    expected = counts.sum(axis=1).to_numpy()[:, None] * counts.sum(axis=0).to_numpy()[None, :] / counts.to_numpy().sum()
    small = expected.min(axis=1) < 5
    if small.any():
        pooled = counts[small].sum(axis=0)
        counts = pd.concat([counts[~small], pooled.to_frame().T])
    if counts.shape[0] < 2:
        return None
    chi2, p, _, _ = stats.chi2_contingency(counts.to_numpy())
    return "chi-square", float(chi2), float(p)


def _shift(X_dev: pd.DataFrame, X_test: pd.DataFrame, dataset: DatasetInfo, jobs: int,
           go_on: Callable[[], None]) -> list[Finding]:
    out: list[Finding] = []
    tested = []
    for col in X_dev.columns:  # thousands of columns take seconds: stop between them when asked
        go_on()
        r = _column_test(X_dev[col], X_test[col])
        if r is not None:
            tested.append((col, *r))
    if tested:
        reject = _holm([t[3] for t in tested], SHIFT_ALPHA)
        for (col, test, stat, p), bad in zip(tested, reject):
            if bad:
                # The hold-out is a random split, so a moderate p-value may be an unlucky draw.
                sev: Severity = "high" if p < 1e-12 else "medium" if p < 1e-6 else "low"
                out.append(Finding("shift", sev, (str(col),), (),
                                   f"{col} is distributed differently in the test rows ({test} {stat:.3g}, "
                                   f"p={p:.2g}; Holm-corrected over {len(tested)} columns)",
                                   "check how the test rows were collected; a model may not transfer",
                                   float(p), 0))
    auc = _adversarial_auc(X_dev, X_test, jobs)
    if auc is not None:
        n1, n0 = len(X_test), len(X_dev)
        null_se = math.sqrt((n0 + n1 + 1) / (12 * n0 * n1))
        limit = max(ADV_MIN_AUC, 0.5 + 3 * null_se)
        if auc > limit:
            top = sorted(tested, key=lambda t: t[3])[:5]
            cols = tuple(str(t[0]) for t in top)
            out.append(Finding("adversarial_validation", "high" if auc >= ADV_HIGH_AUC else "medium", cols, (),
                               f"a classifier tells test rows from development rows with out-of-fold AUC {auc:.3f} "
                               f"(chance 0.5; alarm above {limit:.2f})"
                               + (f"; most different columns: {', '.join(cols)}" if cols else ""),
                               "the test rows differ from the development rows: re-split at random, or validate "
                               "on data like the test rows", float(auc), 0))
    return out


def _adversarial_auc(X_dev: pd.DataFrame, X_test: pd.DataFrame, jobs: int) -> float | None:
    """Out-of-fold ROC AUC of extremely randomised trees predicting 'is a test row'."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from core.modeling.evaluation import feature_types

    X = pd.concat([X_dev, X_test])
    label = np.r_[np.zeros(len(X_dev), dtype=int), np.ones(len(X_test), dtype=int)]
    numeric, categorical = feature_types(X)
    folds = min(5, len(X_test), len(X_dev))
    if folds < 2:
        return None
    prep = make_column_transformer(
        ("passthrough", numeric),
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2,
                        max_categories=64), categorical),
    )
    # Extremely randomised trees, not gradient boosting: no OpenMP threads to oversubscribe a shared
    # machine, NaN handled, and with random thresholds and max_features='sqrt' about 4x faster than a
    # random forest on thousands of columns (500 x 5,000: 2 s for the five folds) at the same AUC.
    model = make_pipeline(prep, ExtraTreesClassifier(
        n_estimators=100, min_samples_leaf=3, max_features="sqrt", random_state=0))
    try:  # only a split too small to fold means "no answer"; a failing fit is an error
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(X, label))
    except ValueError:
        return None
    proba = cross_val_predict(model, X, label, cv=splits, method="predict_proba", n_jobs=jobs)
    return float(roc_auc_score(label, proba[:, 1]))


# --------------------------------------------------------------------------- labels


def _mislabeled(X: pd.DataFrame, y: pd.Series, dataset: DatasetInfo, jobs: int) -> list[Finding]:
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
    return [Finding("mislabeled", sev, (dataset.target,), tuple(int(X.index[i]) for i in top),
                    f"{len(top)} development rows whose out-of-fold probability of their own label is lowest "
                    f"(from {own[top[0]]:.3f}); {n_low} rows below {MISLABELED_LOW}",
                    "inspect these rows: fix wrong labels, or keep them if they are hard but right",
                    float(n_low), len(top), tuple(float(own[i]) for i in top))]
