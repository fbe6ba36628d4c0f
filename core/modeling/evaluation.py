"""Cross-validation of baselines, streamed fold by fold into the store.

Every (model, fold) pair is one task (:func:`fit_fold`); the executor hands back each fold the
moment it finishes, and this process commits it at once, so a killed run keeps its finished
folds and a reader sees progress live (:mod:`core.modeling.groups` runs the groups, several
datasets' in one pool). Folds come from the same splitter and scores from the same
scikit-learn scorers that ``cross_validate`` uses, so a run's numbers equal plain
scikit-learn's for the same seed and pipeline.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal, NotRequired, TypedDict

from core.errors import InputError
from core.modeling.executors import cancel_start, start_workers
from core.modeling.fold_predictions import predict_fold
from core.modeling.metrics import metrics_for
from core.modeling.models import Baseline, make_pipeline, resolve_models
from core.modeling.ranking import GroupFolds, query_order, ranking_scorers
from core.modeling.responses import responses_remembered
from core.modeling.specs import ModelSpec
from core.stopping import StopToken
from core.store import Store
from core.store.datasets import get_dataset
from core.store.predictions import FoldPredictions
from core.store.run_queue import queue_busy
from core.text import error_line
from core.types import DatasetInfo, FoldScore, GlmSummary, RunStatus, Task

CANCELLED = "cancelled: finished folds are kept"


class FoldResult(TypedDict):
    """What a fold task hands back: its scores (and validation predictions, when asked), or why it
    failed; its warnings either way."""

    kind: Literal["fold"]
    run_id: int
    warnings: list[str]
    fold: NotRequired[FoldScore]
    predictions: NotRequired[FoldPredictions]
    error: NotRequired[str]


class GlmResult(TypedDict):
    """What a GLM task hands back: the summary (``None`` when the fit failed) and its warnings."""

    kind: Literal["glm"]
    run_id: int
    summary: GlmSummary | None
    warnings: list[str]


def check_jobs(jobs: int) -> int:
    """Worker processes as joblib counts them: N, or -1 for every core (-N: all but N-1); 0 means nothing."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0:
        raise InputError(f"--jobs must be a number of worker processes (1, 2, ...) or -1 for every core, got {jobs!r}")
    return jobs


def scoring(task: Task, groups: Any = None) -> dict[str, Any]:
    """Metric name -> scikit-learn scorer name; ROC AUC is one-vs-rest for multiclass.

    Ranking's scorers are callables that need ``groups``, each row's query by file row
    (:func:`core.data.ranking.load_groups`).
    """
    if task == "ranking":
        if groups is None:
            raise InputError("ranking metrics need the dataset's groups (queries)")
        return dict(ranking_scorers(groups))
    out = {m.name: m.scorer for m in metrics_for(task)}
    if task == "multiclass":
        out["roc_auc"] = "roc_auc_ovr"
    return out


def make_splitter(task: Task, folds: int, repeats: int = 1, seed: int = 0, groups: Any = None) -> Any:
    """The cross-validation splitter a run uses (stratified for classification; by group, unstratified,
    for ranking, which needs ``groups`` as :func:`scoring` does)."""
    from sklearn.model_selection import KFold, RepeatedKFold, RepeatedStratifiedKFold, StratifiedKFold

    if folds < 2:
        raise InputError(f"--cv needs at least 2 folds, got {folds}")
    if repeats < 1:
        raise InputError(f"--repeats must be at least 1, got {repeats}")
    if task == "ranking":
        if groups is None:
            raise InputError("ranking folds need the dataset's groups (queries)")
        return GroupFolds(groups, folds, repeats, seed)
    stratified = task != "regression"
    if repeats > 1:
        cls = RepeatedStratifiedKFold if stratified else RepeatedKFold
        return cls(n_splits=folds, n_repeats=repeats, random_state=seed)
    return (StratifiedKFold if stratified else KFold)(n_splits=folds, shuffle=True, random_state=seed)


def feature_types(X: Any) -> tuple[list[str], list[str]]:
    """Numeric and categorical columns of a frame from :func:`core.data.frames.load_split`."""
    numeric = [c for c in X.columns if X[c].dtype.kind in "fiub"]
    categorical = [c for c in X.columns if c not in set(numeric)]
    return numeric, categorical


def build_pipeline(
    baseline: Baseline, dataset: DatasetInfo, X: Any, params: dict[str, Any] | None = None, seed: int = 0
) -> Any:
    numeric, categorical = feature_types(X)
    return make_pipeline(baseline, dataset.task, numeric, categorical, params, seed)


@dataclass(frozen=True)
class Progress:
    """One event of a running group: a fold finished, or a run ended."""

    run_id: int
    model: str
    done: int
    total: int
    status: RunStatus
    fold: FoldScore | None = None
    error: str | None = None


def library_versions() -> dict[str, str]:
    import platform

    out = {"python": platform.python_version()}
    for dist in ("mlloop-tui", "scikit-learn", "statsmodels", "pandas", "numpy", "duckdb", "joblib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def run_baselines(
    store: Store,
    dataset_ref: str | int | Sequence[str | int],
    models: str | Sequence[str],
    *,
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    sample: int | str | None = None,
    jobs: int = 1,
    params: dict[str, dict[str, Any]] | None = None,
    on_created: Callable[[int, list[int]], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: StopToken | None = None,
    model_specs: Sequence[ModelSpec] = (),
    cluster: str | None = None,
    queue: bool = False,
    memory: int | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[int]:
    """Cross-validate each model on the dataset's development split; returns the run ids.

    Several datasets (a list of references) make one group each, and every fold of every group
    runs in one pool of workers (:mod:`core.modeling.groups`). ``params`` maps a model name to its
    estimator parameters. ``model_specs`` are run after the built-in ``models`` (which may then be
    empty). Fold results are committed as they arrive. A set ``stop`` token (or Ctrl-C) marks
    unfinished runs ``cancelled`` and raises :class:`RunCancelled`. ``queue``: wait for the
    store's run queue (:mod:`core.store.run_queue`). ``sample``: fit on N development rows of each
    dataset (``"all"``: every row; None: every row that fits the memory budget; :mod:`core.data.sampling`).
    ``memory``: that budget in bytes (default: the ``--memory`` the datasets were imported with, else
    ``$MLLOOP_MEMORY_BUDGET``, else a quarter of the RAM; :func:`~core.data.sampling.memory_budget`); it
    bounds the local workers too, and ``on_note`` hears when it lowers ``jobs``
    (:mod:`core.modeling.worker_memory`).
    """
    from core.modeling.groups import plan_group, run_groups  # groups build on this module

    check_jobs(jobs)
    refs = [dataset_ref] if isinstance(dataset_ref, str | int) else list(dataset_ref)
    datasets = [get_dataset(store, ref) for ref in refs]
    if not datasets:
        raise InputError("no dataset given")
    ids = [d.id for d in datasets]
    if len(set(ids)) < len(ids):
        raise InputError(f"dataset {next(d.name for d in datasets if ids.count(d.id) > 1)!r} is given twice")
    entries = [_entries(d, models, params or {}, model_specs) for d in datasets]
    jobs = _jobs_within_memory(datasets, sample, jobs, cluster, memory, on_note)
    with _workers_started_early(store, jobs, cluster, queue):
        plans = [
            plan_group(store, d, e, folds=folds, repeats=repeats, seed=seed, sample=sample, memory=memory)
            for d, e in zip(datasets, entries)
        ]
    groups = run_groups(
        store,
        plans,
        jobs=jobs,
        cluster=cluster,
        on_created=on_created,
        on_progress=on_progress,
        stop=stop,
        queue=queue,
    )
    return [run_id for run_ids in groups for run_id in run_ids]


def _entries(
    dataset: DatasetInfo, models: str | Sequence[str], params: dict[str, dict[str, Any]], specs: Sequence[ModelSpec]
) -> list[tuple[str | ModelSpec, dict[str, Any] | None]]:
    """The ``(model, params)`` pairs of :func:`run_specs` for built-in ``models`` (as the task has
    them) and model ``specs``; every name once, and ``params`` only for those names."""
    baselines = resolve_models(models, dataset.task) if models or not specs else []
    names = [b.name for b in baselines] + [s.name for s in specs]
    if len(set(names)) < len(names):
        raise InputError(f"two models are named {next(n for n in names if names.count(n) > 1)!r}")
    unknown = set(params) - set(names)
    if unknown:
        raise InputError(f"parameters given for a model not being run: {', '.join(sorted(unknown))}")
    entries: list[tuple[str | ModelSpec, dict[str, Any] | None]] = [(b.name, params.get(b.name, {})) for b in baselines]
    return entries + [(s, params.get(s.name, {})) for s in specs]


def run_specs(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    specs: Sequence[tuple[str | ModelSpec, dict[str, Any] | None]],
    *,
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    sample: int | str | None = None,
    jobs: int = 1,
    on_created: Callable[[int, list[int]], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    before_start: Callable[[int, list[int]], None] | None = None,
    stop: StopToken | None = None,
    cluster: str | None = None,
    queue: bool = False,
    memory: int | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[int]:
    """Cross-validate a list of ``(model, params)`` specs as one group of runs; returns the run ids.
    A model is a built-in's name or a :class:`~core.modeling.specs.ModelSpec`.

    The same model may appear several times with different parameters (a hyper-parameter
    search). Every spec's parameters are validated before any run is created, so bad input
    leaves the store unchanged. ``before_start(group_id, run_ids)`` runs right after the runs
    are created (before any fold) and may write to the store, e.g. to describe the group.
    ``stop`` is checked after each fold (see :mod:`core.stopping`). Folds run in ``jobs`` local
    processes, or on the Dask ``cluster`` at that address (:mod:`core.modeling.executors`). ``sample``,
    ``queue``, ``memory`` and ``on_note`` as :func:`run_baselines` takes them.
    """
    from core.modeling.groups import plan_group, run_groups  # groups build on this module

    if not specs:
        raise InputError("nothing to run: no model given")
    check_jobs(jobs)
    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    jobs = _jobs_within_memory([dataset], sample, jobs, cluster, memory, on_note)
    with _workers_started_early(store, jobs, cluster, queue):
        plan = plan_group(
            store,
            dataset,
            specs,
            folds=folds,
            repeats=repeats,
            seed=seed,
            before_start=before_start,
            sample=sample,
            memory=memory,
        )
    groups = run_groups(
        store,
        [plan],
        jobs=jobs,
        cluster=cluster,
        on_created=on_created,
        on_progress=on_progress,
        stop=stop,
        queue=queue,
    )
    return groups[0]


def _jobs_within_memory(
    datasets: Sequence[DatasetInfo],
    sample: int | str | None,
    jobs: int,
    cluster: str | None,
    memory: int | None,
    on_note: Callable[[str], None] | None,
) -> int:
    """``jobs``, or the fewer local workers the memory budget holds (a cluster's workers are not ours)."""
    if cluster:
        return jobs
    from joblib import effective_n_jobs

    from core.modeling.worker_memory import workers_within_memory

    fitting, note = workers_within_memory(datasets, sample, effective_n_jobs(jobs), memory)
    if note is None:
        return jobs
    if on_note:
        on_note(note)
    return fitting


@contextmanager
def _workers_started_early(store: Store, jobs: int, cluster: str | None, queue: bool) -> Iterator[None]:
    """Start the local workers while the runs are planned inside the block
    (:func:`~core.modeling.executors.start_workers`); should the planning fail (bad input), they are
    killed, so the process ends at once. Not for a cluster, nor for runs that will wait in the queue
    behind another group (idle workers would only hold memory)."""
    if not cluster and not (queue and queue_busy(store)):
        start_workers(jobs)
    try:
        yield
    except BaseException:
        cancel_start()
        raise


def fold_splits(splitter: Any, X: Any, y: Any, dataset: DatasetInfo) -> list[tuple[Any, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return list(splitter.split(X, y))
        except ValueError as e:
            raise InputError(f"cannot split {dataset.name!r} into folds: {e}") from e


def folds_hash(splits: list[tuple[Any, Any]]) -> str:
    """Identifies the exact folds, so two runs can be paired only if they share them."""
    h = hashlib.sha256()
    for _, val in splits:
        h.update(val.astype("int64").tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def fit_fold(
    run_id: int,
    index: int,
    pipeline: Any,
    X: Any,
    y: Any,
    train: Any,
    val: Any,
    scorers: dict[str, Any],
    folds: int,
    *,
    classes: Sequence[str] | None = None,
) -> FoldResult:
    """One fold in a worker process: fit on train rows, score train and validation rows.

    Given the dataset's ``classes`` (empty for regression), it also predicts the validation rows
    (:mod:`core.modeling.fold_predictions`); curves, which keep no predictions, leave it out.
    """
    from sklearn.base import clone
    from sklearn.metrics import check_scoring

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est = clone(pipeline)
            X_train, y_train, fit_params = query_order(est, X.iloc[train], y.iloc[train], scorers)
            X_val, y_val = X.iloc[val], y.iloc[val]
            y_train, y_val = fixed_width_labels(y_train), fixed_width_labels(y_val)
            start = time.perf_counter()
            est.fit(X_train, y_train, **fit_params)  # a ranker's fit(group=...) gets its queries' sizes
            fit_time = time.perf_counter() - start
            scorer = check_scoring(est, scoring=scorers, raise_exc=False)
            with responses_remembered(est, X_val):  # the stored predictions reuse the validation scores'
                start = time.perf_counter()
                val_scores = signed_scores(scorer(est, X_val, y_val), scorers)
                score_time = time.perf_counter() - start
                train_scores = signed_scores(scorer(est, X_train, y_train), scorers)
                repeat, position = divmod(index, folds)
                predictions = None if classes is None else predict_fold(est, X_val, classes, repeat, position)
        except Exception as e:
            return {"kind": "fold", "run_id": run_id, "error": error_line(e), "warnings": warning_lines(caught)}
    fold = FoldScore(
        index, index // folds, index % folds, len(train), len(val), fit_time, score_time, train_scores, val_scores
    )
    result: FoldResult = {"kind": "fold", "run_id": run_id, "fold": fold, "warnings": warning_lines(caught)}
    if predictions is not None:
        result["predictions"] = predictions
    return result


LONGEST_FIXED_LABEL = 16  # characters; a fixed-width label costs 4 bytes per character per row


def fixed_width_labels(y: Any) -> Any:
    """String class labels (object or pandas string dtype) as a fixed-width NumPy string array: the
    same labels in the same order, so fits, classes and scores are unchanged.

    Why: scikit-learn's scorers and label encoders call ``np.unique`` on ``y`` several times per
    metric, and sorting Python string objects is slow: 10 ms for 12,800 labels against 0.6 ms as
    fixed-width strings, which made scoring a binary fold on five metrics 1.8x slower. Labels longer
    than :data:`LONGEST_FIXED_LABEL` stay objects, so a long class name never multiplies the memory.
    """
    import numpy as np
    import pandas as pd
    from pandas.api.types import infer_dtype, is_string_dtype

    if not hasattr(y, "dtype") or not is_string_dtype(y.dtype) or len(y) == 0:
        return y
    if infer_dtype(y) != "string" or pd.isna(y).any():
        return y  # numbers, or a missing label that must not turn into the string "nan"
    fixed = np.asarray(y, dtype=str)
    return fixed if fixed.dtype.itemsize <= 4 * LONGEST_FIXED_LABEL else y


def fit_glm(run_id: int, pipeline: Any, X: Any, y: Any) -> GlmResult:
    """The GLM on the whole development set, for its coefficient table."""
    from sklearn.base import clone

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est = clone(pipeline).fit(X, y)
        except Exception as e:
            return {
                "kind": "glm",
                "run_id": run_id,
                "summary": None,
                "warnings": [f"GLM summary failed: {error_line(e)}", *warning_lines(caught)],
            }
    from core.modeling.glm import readable_terms

    summary: GlmSummary = est.named_steps["model"].summary_
    return {"kind": "glm", "run_id": run_id, "summary": readable_terms(summary), "warnings": warning_lines(caught)}


def signed_scores(scores: Mapping[str, float | str], scorers: Mapping[str, Any]) -> dict[str, float]:
    """scikit-learn negates losses so that greater is better; store them as people read them."""
    out: dict[str, float] = {}
    for name, value in scores.items():
        if isinstance(value, str):  # the scorer failed for this metric on this fold
            out[name] = float("nan")
        else:
            negated = isinstance(scorers[name], str) and scorers[name].startswith("neg_")
            out[name] = -float(value) if negated else float(value)
    return out


def warning_lines(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    return list(dict.fromkeys(f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}" for w in caught))
