"""Data-quality findings: what is wrong with a dataset before any model is trusted.

:func:`check_quality` looks at an imported dataset and returns
:class:`~core.analysis.findings.Finding` records, each with a severity, the affected columns and
file rows, a one-line message and a one-line suggested action. Structure, leakage, shift and
mislabeled rows have modules of their own; this one runs them. Which rows each check reads:

- *structure* (missing values, constant / near-constant, identifier-like and high-cardinality
  columns, duplicate rows and conflicting labels (both compared without the identifier-like
  columns), class imbalance) uses every labeled row, dev and test, as SQL inside DuckDB
  (:mod:`core.analysis.structure`), so a dataset larger than memory is checked too: a duplicate
  that sits in both parts inflates the test score, and that is exactly what a user must learn
  before trusting it;
- *models* (suspected target leakage, possibly mislabeled rows) are fitted on the development
  rows only, out of fold, so the locked test rows never train anything;
- *shift* compares dev and test features (never test labels): per-column KS / chi-square
  tests with a Holm correction, and an adversarial-validation AUC.

The model checks read a seeded random sample of each part, and only its rows are loaded.
Thresholds are module constants (here and in the checks' modules), chosen so that clean data
(no duplicates, a random split) raises no alarm of the kinds duplicates / conflicts / leakage /
constant / shift; the reasons are next to each constant. ``rows`` are file row numbers (the
index ``load_split`` returns), at most :data:`~core.analysis.findings.MAX_ROWS` of them; ``n_rows``
is the full count.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Literal

import duckdb

from core.analysis.findings import KINDS, SEVERITIES, Finding
from core.analysis.fixes import conflict_fix, with_edits
from core.analysis.label_issues import mislabeled_findings
from core.analysis.leakage import leakage_findings
from core.analysis.shift import shift_findings
from core.analysis.structure import labeled_rows, structure_findings
from core.data.frames import load_split
from core.data.sampling import read_within_budget
from core.errors import InputError, StoreError
from core.modeling.evaluation import check_jobs
from core.stopping import StopToken, check
from core.store import Store
from core.store.datasets import get_dataset
from core.text import first_line
from core.types import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_quality"]

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

    def go_on() -> None:
        check(stop, "data-quality check stopped")

    check_jobs(jobs)
    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    try:
        with store.reading():  # many short reads, not one long one: a run's writes get in between
            with store.read() as con:
                rows = labeled_rows(con, dataset)
                counted = con.execute(
                    f"SELECT count(*) FILTER (WHERE __part = 'dev'), count(*) FILTER (WHERE __part = 'test') "
                    f"FROM {rows.only([])}"
                ).fetchone()
            n_dev, n_test = (int(n) for n in counted or (0, 0))
            if n_dev + n_test == 0:
                raise InputError(f"dataset {dataset.name!r} has no labeled rows to check")
            findings, ids = structure_findings(store, rows, dataset, n_dev + n_test)
            conflicts = None
            if any(f.kind == "conflicting_labels" for f in findings):
                conflicts = read_within_budget(store, dataset, lambda con: conflict_fix(con, rows, ids))
    except duckdb.Error as e:
        raise StoreError(f"cannot check dataset {dataset.name!r}: {first_line(e)}") from e
    go_on()
    X_fit, y_fit = _load_sample(store, dataset, "dev", n_dev, model_rows)
    X_test_fit, _ = _load_sample(store, dataset, "test", n_test, model_rows)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        findings += _sampled(len(X_fit), n_dev, len(X_test_fit), n_test)
        findings += leakage_findings(X_fit, y_fit, dataset, jobs)
        if len(X_test_fit) >= 5 and len(X_fit) >= 5:
            go_on()
            findings += shift_findings(X_fit, X_test_fit, dataset, jobs, go_on)
        if mislabeled and dataset.is_classification:
            go_on()
            findings += mislabeled_findings(X_fit, y_fit, dataset, jobs)
    findings = with_edits(findings, ids, conflicts)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    kind_rank = {k: i for i, k in enumerate(KINDS)}
    return tuple(sorted(findings, key=lambda f: (rank[f.severity], kind_rank.get(f.kind, 99), f.columns)))


def _load_sample(
    store: Store, dataset: DatasetInfo, part: Literal["dev", "test"], count: int, n: int
) -> tuple[pd.DataFrame, pd.Series]:
    """At most ``n`` of the part's ``count`` rows, drawn at random with the dataset's split seed, in
    file order, as ``load_split`` gives them; only those rows are read. The draw picks positions
    among the part's rows in file order, so the sample does not depend on how the rows are stored."""
    import numpy as np

    if count <= n:
        return load_split(store, dataset, part)
    keep = np.sort(np.random.default_rng(dataset.split_seed).choice(count, size=n, replace=False))
    return load_split(store, dataset, part, positions=keep.tolist())


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
