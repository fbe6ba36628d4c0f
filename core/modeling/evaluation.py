"""Cross-validation of baselines, streamed fold by fold into the store.

Every (model, fold) pair is one joblib task; ``return_as="generator_unordered"`` hands back
each fold the moment it finishes, and this process commits it at once, so a killed run
keeps its finished folds and a reader sees progress live. Folds come from the same
splitter and scores from the same scikit-learn scorers that ``cross_validate`` uses, so a
run's numbers equal plain scikit-learn's for the same seed and pipeline.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from typing import Any, Literal, NotRequired, TypedDict

from core.data.frames import load_split
from core.data.ranking import load_groups
from core.data.sampling import plan_sample
from core.errors import InputError, RunCancelled
from core.modeling.executors import FitTask, cost_of, make_executor
from core.modeling.fold_predictions import predict_fold
from core.modeling.metrics import metrics_for
from core.modeling.models import Baseline, make_pipeline, resolve_models
from core.modeling.ranking import GroupFolds, query_order, ranking_scorers
from core.modeling.specs import ModelSpec, model_family, spec_info
from core.stopping import StopToken, check, interrupt_as_cancel
from core.store import Store
from core.store import runs as run_store
from core.store.datasets import get_dataset
from core.store.predictions import FoldPredictions
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
    dataset_ref: str | int,
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
) -> list[int]:
    """Cross-validate each model on the dataset's development split; returns the run ids.

    ``params`` maps a model name to its estimator parameters. ``model_specs`` are run after the
    built-in ``models`` (which may then be empty). Fold results are committed as they arrive. A set
    ``stop`` token (or Ctrl-C) marks unfinished runs ``cancelled`` and raises :class:`RunCancelled`.
    ``sample``: fit on N development rows (``"all"``: every row; None: every row that fits the memory
    budget; :mod:`core.data.sampling`).
    """
    dataset = get_dataset(store, dataset_ref)
    baselines = resolve_models(models, dataset.task) if models or not model_specs else []
    names = [b.name for b in baselines] + [s.name for s in model_specs]
    if len(set(names)) < len(names):
        raise InputError(f"two models are named {next(n for n in names if names.count(n) > 1)!r}")
    params = params or {}
    unknown = set(params) - set(names)
    if unknown:
        raise InputError(f"parameters given for a model not being run: {', '.join(sorted(unknown))}")
    entries: list[tuple[str | ModelSpec, dict[str, Any] | None]] = [(b.name, params.get(b.name, {})) for b in baselines]
    return run_specs(
        store,
        dataset,
        entries + [(s, params.get(s.name, {})) for s in model_specs],
        folds=folds,
        repeats=repeats,
        seed=seed,
        sample=sample,
        jobs=jobs,
        on_created=on_created,
        on_progress=on_progress,
        stop=stop,
        cluster=cluster,
    )


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
) -> list[int]:
    """Cross-validate a list of ``(model, params)`` specs as one group of runs; returns the run ids.
    A model is a built-in's name or a :class:`~core.modeling.specs.ModelSpec`.

    The same model may appear several times with different parameters (a hyper-parameter
    search). Every spec's parameters are validated before any run is created, so bad input
    leaves the store unchanged. ``before_start(group_id, run_ids)`` runs right after the runs
    are created (before any fold) and may write to the store, e.g. to describe the group.
    ``stop`` is checked after each fold (see :mod:`core.stopping`). Folds run in ``jobs`` local
    processes, or on the Dask ``cluster`` at that address (:mod:`core.modeling.executors`). ``sample``
    as :func:`run_baselines` takes it.
    """
    if not specs:
        raise InputError("nothing to run: no model given")
    check_jobs(jobs)
    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    groups = load_groups(store, dataset) if dataset.task == "ranking" else None
    drawn = plan_sample(store, dataset, sample, folds, seed)
    X, y = load_split(store, dataset, "dev", drawn)
    from core.modeling.folds import dataset_splits  # it builds on this module's splitter

    splits, splits_hash = dataset_splits(store, dataset, folds, repeats, seed, X, y, groups, drawn)
    baselines = [model_family(model, dataset.task, X) for model, _ in specs]
    pipelines = [build_pipeline(b, dataset, X, dict(p or {}), seed) for b, (_, p) in zip(baselines, specs)]
    unique = len({b.name for b in baselines}) == len(baselines)
    _check_params(
        {(b.name if unique else _spec_label(b.name, p)): pipe for b, (_, p), pipe in zip(baselines, specs, pipelines)}
    )
    executor = make_executor(jobs, cluster)  # connects now: an unreachable cluster stores nothing
    group_id, run_ids = run_store.create_runs(
        store,
        dataset,
        [(b.name, dict(p or {})) for b, (_, p) in zip(baselines, specs)],
        folds=folds,
        repeats=repeats,
        seed=seed,
        versions=library_versions(),
        specs=[spec_info(b, pipe) for b, pipe in zip(baselines, pipelines)],
        sample=drawn,
    )
    if before_start:
        before_start(group_id, run_ids)
    if on_created:
        on_created(group_id, run_ids)
    runs = dict(zip(run_ids, baselines))
    by_run = dict(zip(run_ids, pipelines))
    scorers = scoring(dataset.task, groups)
    kinds = {run_id: model if isinstance(model, str) else "" for run_id, (model, _) in zip(run_ids, specs)}
    fold_args = {"scorers": scorers, "folds": folds, "classes": dataset.classes}
    tasks = [
        FitTask(
            fit_fold,
            {"run_id": run_id, "index": i, "pipeline": by_run[run_id], "train": train, "val": val, **fold_args},
            cost_of(kinds[run_id], len(train)),
            partial(_lost, run_id, i),
        )
        for i, (train, val) in enumerate(splits)
        for run_id in runs
    ] + [
        FitTask(
            _fit_glm,
            {"run_id": run_id, "pipeline": by_run[run_id]},
            cost_of("glm", len(y)),
            partial(_lost, run_id, None),
        )
        for run_id, b in runs.items()
        if b.name == "glm"
    ]
    state = _GroupState(store, runs, len(splits), splits_hash, on_progress)
    with executor, run_store.heartbeat_while(store, state.unfinished):
        try:
            with interrupt_as_cancel(CANCELLED):
                for result in executor.results(tasks, X, y):
                    state.handle(result)
                    check(stop, CANCELLED)
        except RunCancelled:
            state.finish_all("cancelled", "cancelled by the user")
            raise
        except BaseException as e:
            state.finish_all("failed", f"{type(e).__name__}: {e}")
            raise
    return run_ids


def _lost(run_id: int, index: int | None, message: str) -> FoldResult | GlmResult:
    """The result of a task that never finished (its cluster worker lost for good)."""
    if index is None:
        return {"kind": "glm", "run_id": run_id, "summary": None, "warnings": [f"GLM summary failed: {message}"]}
    return {"kind": "fold", "run_id": run_id, "error": f"fold {index + 1}: {message}", "warnings": []}


def _spec_label(model: str, params: dict[str, Any] | None) -> str:
    if not params:
        return model
    return f"{model} ({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"


class _GroupState:
    """Bookkeeping for one group: folds done per run, failures, warnings, completion."""

    def __init__(
        self,
        store: Store,
        runs: dict[int, Baseline],
        n_splits: int,
        folds_hash: str,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.store = store
        self.runs = runs
        self.n_splits = n_splits
        self.folds_hash = folds_hash
        self.on_progress = on_progress
        self.done = dict.fromkeys(runs, 0)
        self.pending_glm = {r for r, b in runs.items() if b.name == "glm"}
        self.errors: dict[int, str] = {}
        self.warnings: dict[int, dict[str, None]] = {r: {} for r in runs}
        self.finished: set[int] = set()

    def handle(self, result: FoldResult | GlmResult) -> None:
        run_id = result["run_id"]
        self.warnings[run_id].update(dict.fromkeys(result["warnings"]))
        fold = None
        if result["kind"] == "fold":
            error = result.get("error")
            if error:
                self.errors.setdefault(run_id, error)
            else:
                run_store.record_fold(self.store, run_id, result["fold"], result.get("predictions"))
            fold = result.get("fold")
            self.done[run_id] += 1
        else:
            self.pending_glm.discard(run_id)
            if result["summary"] is not None:
                run_store.record_glm(self.store, run_id, result["summary"])
        self._progress(run_id, fold)
        if self.done[run_id] == self.n_splits and run_id not in self.pending_glm:
            self._finish(run_id, "failed" if run_id in self.errors else "done")

    def finish_all(self, status: RunStatus, reason: str) -> None:
        for run_id in self.runs:
            if run_id not in self.finished:
                self._finish(run_id, status, reason)

    def _finish(self, run_id: int, status: RunStatus, reason: str | None = None) -> None:
        self.finished.add(run_id)
        error = self.errors.get(run_id, reason) if status != "done" else None
        run_store.finish_run(
            self.store,
            run_id,
            status,
            error=error,
            folds_hash=self.folds_hash,
            warnings=list(self.warnings[run_id])[:20],
        )
        self._progress(run_id, None, status, error)

    def _progress(
        self, run_id: int, fold: FoldScore | None, status: RunStatus = "running", error: str | None = None
    ) -> None:
        if self.on_progress:
            self.on_progress(
                Progress(run_id, self.runs[run_id].name, self.done[run_id], self.n_splits, status, fold, error)
            )

    def unfinished(self) -> list[int]:
        return [r for r in self.runs if r not in self.finished]


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


def _check_params(pipelines: dict[str, Any]) -> None:
    for name, pipe in pipelines.items():
        try:
            model = pipe.named_steps["model"]
            if hasattr(model, "_parameter_constraints"):  # scikit-learn's own; a spec's estimator may have none
                model._validate_params()
        except Exception as e:
            raise InputError(f"bad parameter for {name}: {str(e).splitlines()[0]}") from None


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
            start = time.perf_counter()
            est.fit(X_train, y_train, **fit_params)  # a ranker's fit(group=...) gets its queries' sizes
            fit_time = time.perf_counter() - start
            scorer = check_scoring(est, scoring=scorers, raise_exc=False)
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


def _fit_glm(run_id: int, pipeline: Any, X: Any, y: Any) -> GlmResult:
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
