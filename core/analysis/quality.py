"""Data-quality findings: what is wrong with a dataset before any model is trusted.

:func:`check_quality` looks at an imported dataset and returns
:class:`~core.analysis.findings.Finding` records, each with a severity, the affected columns and
file rows, a one-line message and a one-line suggested action. The structure checks live here;
leakage, shift and mislabeled rows have modules of their own. Which rows each check reads:

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
from typing import TYPE_CHECKING

from core.analysis.findings import (
    KINDS,
    SEVERITIES,
    Finding,
    Severity,
    is_numeric,
    listed_rows,
    percent,
)
from core.analysis.fixes import with_edits
from core.analysis.label_issues import mislabeled_findings
from core.analysis.leakage import leakage_findings
from core.analysis.shift import shift_findings
from core.data.frames import load_split
from core.data.roles import MIN_PRESENT, MIN_ROWS, looks_like_identifier
from core.errors import InputError
from core.modeling.evaluation import check_jobs
from core.stopping import StopToken, check
from core.store import Store
from core.store.datasets import get_dataset
from core.types import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_quality"]

MISSING_HIGH, MISSING_MEDIUM = 0.5, 0.2  # fraction of missing cells in a column
NEAR_CONSTANT_SHARE = 0.98  # one value in >= 98% of the rows: almost no information, folds may see one value
HIGH_CARDINALITY = 30  # the one-hot encoder keeps 30 categories (models.MAX_CATEGORIES); more are pooled
# Rows of each part (development, test) that the checks fitting models (leakage, shift, mislabeled)
# use: on a million rows they took half an hour and gigabytes in the background after an import.
MODEL_CHECK_ROWS = 20_000


def check_quality(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    *,
    mislabeled: bool = True,
    jobs: int = 1,
    stop: StopToken | None = None,
    model_rows: int = MODEL_CHECK_ROWS,
) -> tuple[Finding, ...]:
    """Every finding on the dataset, most severe first (then by kind, then by column).

    The checks that fit models (leakage, shift, mislabeled rows) use a seeded random sample of at
    most ``model_rows`` rows of each part, said in a ``sampled`` finding; the others read every row.

    ``stop`` is checked before each of the costly checks (leakage, shift, mislabeled rows) and
    between the columns of the shift test (see :mod:`core.stopping`), so a screen the user left
    does not keep the worker processes busy for the rest of the check.
    """
    import pandas as pd

    def go_on() -> None:
        check(stop, "data-quality check stopped")

    check_jobs(jobs)
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
        X_fit, y_fit = _sample(X_dev, y_dev, model_rows, dataset.split_seed)
        X_test_fit, _ = _sample(X_test, y_test, model_rows, dataset.split_seed)
        findings += _sampled(len(X_fit), len(X_dev), len(X_test_fit), len(X_test))
        findings += leakage_findings(X_fit, y_fit, dataset, jobs)
        if len(X_test_fit) >= 5 and len(X_fit) >= 5:
            go_on()
            findings += shift_findings(X_fit, X_test_fit, dataset, jobs, go_on)
        if mislabeled and dataset.is_classification:
            go_on()
            findings += mislabeled_findings(X_fit, y_fit, dataset, jobs)
    findings = with_edits(findings, X_rows, y, is_test, [f.columns[0] for f in ids])
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    kind_rank = {k: i for i, k in enumerate(KINDS)}
    return tuple(sorted(findings, key=lambda f: (rank[f.severity], kind_rank.get(f.kind, 99), f.columns)))


def _sample(X: pd.DataFrame, y: pd.Series, n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """At most ``n`` of the rows, drawn at random with ``seed``, in file order."""
    import numpy as np

    if len(X) <= n:
        return X, y
    keep = np.sort(np.random.default_rng(seed).choice(len(X), size=n, replace=False))
    return X.iloc[keep], y.iloc[keep]


def _sampled(n_dev: int, all_dev: int, n_test: int, all_test: int) -> list[Finding]:
    if (n_dev, n_test) == (all_dev, all_test):
        return []
    test = f" and {n_test:,} of the {all_test:,} test rows" if n_test < all_test else ""
    return [
        Finding(
            "sampled",
            "info",
            (),
            (),
            f"leakage, shift and mislabeled rows were checked on a random sample of {n_dev:,} of the "
            f"{all_dev:,} development rows{test}; every other check read every row",
            "a row outside the sample is never listed as mislabeled: `mlloop review DATASET --from RUN` "
            "also lists every row a run gets wrong",
            n_rows=n_dev,
        )
    ]


# --------------------------------------------------------------------------- structure


def _missing(X: pd.DataFrame) -> list[Finding]:
    out = []
    n = len(X)
    counts = X.isna().sum()
    for col, k in counts.items():
        if not k:
            continue
        frac = k / n
        sev: Severity = "high" if frac >= MISSING_HIGH else "medium" if frac >= MISSING_MEDIUM else "low"
        action = (
            "drop the column, or add a 'was missing' indicator if missingness carries signal"
            if frac >= MISSING_HIGH
            else "impute inside the folds (the pipelines do: median / '(missing)') "
            "and consider a missing-indicator feature"
        )
        rows = X.index[X[col].isna().to_numpy()]
        out.append(
            Finding(
                "missing",
                sev,
                (str(col),),
                listed_rows(rows),
                f"{col}: {k} of {n} values missing ({percent(frac)})",
                action,
                float(frac),
                int(k),
            )
        )
    return out


def _constant(X: pd.DataFrame) -> list[Finding]:
    out = []
    n = len(X)
    for col in X.columns:
        s = X[col]
        counts = s.value_counts(dropna=False)
        if len(counts) <= 1:
            out.append(
                Finding(
                    "constant",
                    "medium",
                    (str(col),),
                    (),
                    f"{col} has a single value in every row: it carries no information",
                    "drop the column",
                    1.0,
                    0,
                )
            )
            continue
        share = counts.iloc[0] / n
        if share >= NEAR_CONSTANT_SHARE:
            top = counts.index[0]
            rare = X.index[
                (s != top).to_numpy() if not (isinstance(top, float) and math.isnan(top)) else s.notna().to_numpy()
            ]
            out.append(
                Finding(
                    "near_constant",
                    "low",
                    (str(col),),
                    listed_rows(rare),
                    f"{col}: one value fills {percent(share)} of the rows; {n - counts.iloc[0]} rows differ",
                    "drop it, or check the rare rows: some folds may see a single value",
                    float(share),
                    int(n - counts.iloc[0]),
                )
            )
    return out


def _identifiers(X: pd.DataFrame) -> list[Finding]:
    """Columns with a different value in every row: text ids, or dense integer counters."""
    import numpy as np

    out: list[Finding] = []
    n = len(X)
    if n < MIN_ROWS:
        return out
    for col in X.columns:
        s = X[col].dropna()
        k = s.nunique() if len(s) >= MIN_PRESENT * n else -1
        if k != len(s):  # quick: not unique per row
            continue
        numeric, integral, lo, hi = is_numeric(s), False, 0.0, 0.0
        if numeric and len(s):
            v = s.to_numpy(dtype=float)
            integral, lo, hi = bool(np.all(v == np.round(v))), float(v.min()), float(v.max())
        # The import's rule (core.data.roles), so an identifier it ignored is the one this would find.
        if not looks_like_identifier(n, len(s), k, numeric=numeric, integral=integral, lo=lo, hi=hi):
            continue
        out.append(
            Finding(
                "identifier",
                "medium",
                (str(col),),
                (),
                f"{col} has a different value in every row: it looks like an identifier",
                "drop it from the features (an id only lets a model memorise rows)",
                1.0,
                0,
            )
        )
    return out


def _high_cardinality(X: pd.DataFrame) -> list[Finding]:
    out = []
    n = len(X)
    for col in X.columns:
        s = X[col]
        if is_numeric(s):
            continue
        k = s.nunique()
        if k <= HIGH_CARDINALITY or k == s.notna().sum():  # unique per row is an identifier finding
            continue
        ratio = k / n
        sev: Severity = "medium" if ratio > 0.5 else "low"
        out.append(
            Finding(
                "high_cardinality",
                sev,
                (str(col),),
                (),
                f"{col}: {k} distinct categories in {n} rows; one-hot keeps the {HIGH_CARDINALITY} "
                "most frequent and pools the rest",
                "group rare categories, or use target / frequency encoding fitted inside the folds",
                float(k),
                0,
            )
        )
    return out


def _row_hash(X: pd.DataFrame) -> pd.Series:
    import pandas as pd

    return pd.util.hash_pandas_object(X, index=False)


def _duplicates(X: pd.DataFrame, y: pd.Series, is_test: pd.Series) -> list[Finding]:
    import pandas as pd

    key = pd.DataFrame(
        {"x": _row_hash(X).to_numpy(), "y": pd.util.hash_pandas_object(y, index=False).to_numpy()}, index=X.index
    )
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
        return [
            Finding(
                "duplicates",
                "high",
                (),
                listed_rows(rows),
                f"{n_extra} duplicate rows (identical features and target); {across} groups appear in both "
                "the development and the test rows, so the test score is optimistic",
                "remove duplicates (or split by group) and re-import",
                float(frac),
                int(dup_any.sum()),
            )
        ]
    sev: Severity = "medium" if frac >= 0.05 else "low"
    return [
        Finding(
            "duplicates",
            sev,
            (),
            listed_rows(rows),
            f"{n_extra} duplicate rows ({percent(frac)}): identical features and target",
            "remove them if they are copies; keep them if they are real repeated observations "
            "(then validate with grouped folds)",
            float(frac),
            int(dup_any.sum()),
        )
    ]


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
    return [
        Finding(
            "conflicting_labels",
            "high" if frac >= 0.05 else "medium",
            (),
            listed_rows(rows),
            f"{n_groups} groups of identical feature rows have different labels ({n_bad} rows): no model "
            "can get all of them right",
            "check the labels of these rows; if both are real, a feature that tells them apart is missing",
            float(frac),
            n_bad,
        )
    ]


def _imbalance(y: pd.Series, dataset: DatasetInfo) -> list[Finding]:
    counts = y.value_counts()
    if len(counts) < 2:
        return [
            Finding(
                "class_imbalance",
                "high",
                (dataset.target,),
                (),
                f"only one class ({counts.index[0] if len(counts) else '-'}) among the labeled rows",
                "a classifier needs at least two classes: check the target",
                None,
                0,
            )
        ]
    ratio = counts.iloc[0] / counts.iloc[-1]
    minority, n_min = counts.index[-1], int(counts.iloc[-1])
    if ratio < 3:
        return []  # balanced enough, however few rows each class has
    sev: Severity = "high" if ratio >= 100 or n_min < 10 else "medium" if ratio >= 10 else "low"
    return [
        Finding(
            "class_imbalance",
            sev,
            (dataset.target,),
            (),
            f"classes are imbalanced: {counts.index[0]} has {ratio:.1f}× the rows of {minority} "
            f"({n_min} rows, {percent(n_min / counts.sum())})",
            "judge models by balanced accuracy or ROC AUC, not accuracy; try class_weight='balanced'",
            float(ratio),
            0,
        )
    ]
