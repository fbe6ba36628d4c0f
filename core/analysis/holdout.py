"""The locked test set: an explicit, recorded and counted evaluation of a run on the hold-out rows.

Cross-validation only ever sees a dataset's development rows; the hold-out ('test') rows
drawn at import are touched here and nowhere else. An evaluation fits the run's pipeline
(same model, parameters and seed) on the whole development split (a sampled run: its sample),
scores the test rows with the run's metrics and records the scores (``test_evaluations``). Test
rows over the dataset's memory budget are read and predicted in batches, and scored at once
(:func:`core.modeling.responses.batched_scores`). Every evaluation counts: the
first one on a dataset is an unbiased estimate of the chosen run's error; from the second on,
the test set has started to take part in choosing, and the result says so
(:attr:`TestEvaluation.warning`).
"""

from __future__ import annotations

import time
import warnings as _warnings
from collections.abc import Iterator
from typing import Any

from core.errors import InputError, MlloopError
from core.store import Store
from core.store import test_evaluations as test_evaluation_store
from core.text import error_line
from core.types import DatasetInfo, TestEvaluation

__all__ = ["TestEvaluation", "count_test_evaluations", "evaluate_on_test", "list_test_evaluations"]


def evaluate_on_test(store: Store, run_id: int | str) -> TestEvaluation:
    """Fit the run's pipeline on all development rows (a sampled run's: on its sample), score the locked
    test rows, record it."""
    from sklearn.metrics import check_scoring

    from core.data.frames import load_split
    from core.data.ranking import dataset_groups
    from core.data.versions import test_edit_warning
    from core.modeling.evaluation import build_pipeline, scoring, signed_scores, warning_lines
    from core.modeling.ranking import query_order
    from core.modeling.responses import batched_scores
    from core.modeling.specs import run_family
    from core.store.datasets import get_dataset
    from core.store.runs import get_run

    run = get_run(store, run_id)
    dataset = get_dataset(store, run.dataset_id)
    if dataset.n_test == 0:
        raise InputError(f"dataset {dataset.name!r} has no locked test rows (imported with --test-size 0?)")
    X_dev, y_dev = load_split(store, dataset, "dev", run.sample)
    n_train = len(y_dev)
    baseline = run_family(run, X_dev)  # a spec is resolved again from its text
    scorers = scoring(dataset.task, dataset_groups(store, dataset, "test"))
    batch = holdout_batch_rows(dataset)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        try:
            est = build_pipeline(baseline, dataset, X_dev, run.params, run.seed)
            dev_scorers = scoring(dataset.task, dataset_groups(store, dataset, "dev"))
            X_fit, y_fit, fit_params = query_order(est, X_dev, y_dev, dev_scorers)  # a ranker's group sizes
            start = time.perf_counter()
            est.fit(X_fit, y_fit, **fit_params)
            fit_time = time.perf_counter() - start
            del X_dev, y_dev, X_fit, y_fit  # the test rows take their room
            scorer = check_scoring(est, scoring=scorers, raise_exc=False)
            raw, n_test = batched_scores(est, scorer, _test_batches(store, dataset, batch))
            scores = signed_scores(raw, scorers)
        except Exception as e:
            raise MlloopError(f"run {run.id} could not be fitted on the development rows: {error_line(e)}") from e
    edited = test_edit_warning(store, dataset)  # a version that edited test rows says so every time
    fit_warnings = (*([edited] if edited else []), *tuple(warning_lines(caught))[:20])
    now = time.time()
    eval_id, earlier = test_evaluation_store.insert(
        store,
        run_id=run.id,
        dataset_id=dataset.id,
        created_at=now,
        n_train=n_train,
        n_test=n_test,
        fit_time=fit_time,
        scores=scores,
        fit_warnings=fit_warnings,
    )
    return TestEvaluation(
        id=eval_id,
        run_id=run.id,
        dataset_id=dataset.id,
        dataset=dataset.name,
        model=run.model,
        created_at=now,
        n_train=n_train,
        n_test=n_test,
        fit_time=fit_time,
        scores=scores,
        ordinal=len(earlier) + 1,
        earlier_runs=earlier,
        fit_warnings=fit_warnings,
    )


def holdout_batch_rows(dataset: DatasetInfo) -> int:
    """How many test rows are scored at a time: as many as a fit's rows within the dataset's memory
    budget (:func:`core.data.sampling.memory_budget`), every test row when they fit."""
    from core.data.sampling import fit_bytes, memory_budget

    budget, _ = memory_budget(None, [dataset])
    return max(1, min(max(dataset.n_test, 1), budget // fit_bytes(dataset, 1)))


def _test_batches(store: Store, dataset: DatasetInfo, batch: int) -> Iterator[tuple[Any, Any]]:
    """The locked test rows in file order, ``batch`` at a time (all at once when they fit)."""
    from core.data.frames import load_split

    if batch >= dataset.n_test:
        yield load_split(store, dataset, "test")
        return
    first = 0
    while True:
        X, y = load_split(store, dataset, "test", positions=range(first, first + batch))
        if len(y):
            yield X, y
        if len(y) < batch:
            return
        first += batch


def list_test_evaluations(
    store: Store, dataset: str | int | None = None, run_id: int | str | None = None
) -> list[TestEvaluation]:
    """Recorded evaluations, oldest first: all, one dataset's (name or id), or one run's."""
    from core.store.datasets import get_dataset
    from core.store.runs import parse_run_id

    return test_evaluation_store.select(
        store,
        None if dataset is None else get_dataset(store, dataset).id,
        None if run_id is None else parse_run_id(run_id),
    )


def count_test_evaluations(store: Store, dataset: str | int) -> int:
    """How many times the dataset's locked test rows have been evaluated."""
    from core.store.datasets import get_dataset

    return test_evaluation_store.count(store, get_dataset(store, dataset).id)
