"""Groups of runs fitted in one pool of workers: one dataset's models, or several datasets' at once.

A group is the runs started together on one dataset. Several groups share one executor when they
are started together (``mlloop run A B C``, the demo): every dataset × model × fold task joins one
batch, slowest first across the datasets (:func:`~core.modeling.executors.by_cost`), and each
dataset's rows go to the workers once. One pool per dataset at the same time would give each a
pool as wide as the machine: on 2 cores the demo's four pools needed 56 s, and a dummy on 944 rows
reported 38 s.

Nothing is stored until every group is checked (:func:`plan_group`), so bad input for one dataset
leaves the store unchanged for all. Each group keeps its own bookkeeping (:class:`_GroupState`): a
fold is committed the moment it arrives, and a run finishes with its last fold, whatever else the
pool is still doing. With ``queue``, the runs wait their turn in the store's run queue
(:mod:`core.store.run_queue`) before any fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

from core.data.frames import load_split
from core.data.ranking import load_groups
from core.data.sampling import plan_sample
from core.errors import InputError, RunCancelled
from core.modeling.evaluation import (
    CANCELLED,
    FoldResult,
    GlmResult,
    Progress,
    build_pipeline,
    check_jobs,
    fit_fold,
    fit_glm,
    library_versions,
    scoring,
)
from core.modeling.executors import FitTask, cost_of, make_executor
from core.modeling.folds import dataset_splits
from core.modeling.models import Baseline
from core.modeling.specs import ModelSpec, model_family, spec_info
from core.stopping import StopToken, check, interrupt_as_cancel
from core.store import Store, run_queue
from core.store import runs as run_store
from core.store.datasets import get_dataset
from core.store.sigint import sigint_held
from core.types import DatasetInfo, FoldScore, RunSample, RunStatus


@dataclass(frozen=True)
class GroupPlan:
    """One group checked and ready to run: its rows, folds and pipelines. Nothing is stored yet."""

    dataset: DatasetInfo
    models: list[tuple[str, dict[str, Any]]]  # each run's model name and parameters, as stored
    baselines: list[Baseline]
    pipelines: list[Any]
    kinds: list[str]  # a built-in's name, for its cost; "" for a spec
    X: Any
    y: Any
    splits: list[tuple[Any, Any]]
    splits_hash: str
    scorers: dict[str, Any]
    folds: int
    repeats: int
    seed: int
    before_start: Callable[[int, list[int]], None] | None = None
    sample: RunSample | None = None  # the development rows fitted on, when not all (core.data.sampling)


def plan_group(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    specs: Sequence[tuple[str | ModelSpec, dict[str, Any] | None]],
    *,
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    before_start: Callable[[int, list[int]], None] | None = None,
    sample: int | str | None = None,
    memory: int | None = None,
) -> GroupPlan:
    """Load the dataset's development rows (``sample`` of them: N, ``"all"``, or None for the memory
    cap's choice; :func:`~core.data.sampling.plan_sample`) and folds and build every spec's pipeline,
    checking its parameters; raises :class:`InputError` for bad input. ``before_start`` goes to
    :func:`run_groups`; ``memory`` is the budget of the memory cap."""
    if not specs:
        raise InputError("nothing to run: no model given")
    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    groups = load_groups(store, dataset) if dataset.task == "ranking" else None
    drawn = plan_sample(store, dataset, sample, folds, seed, memory=memory)
    X, y = load_split(store, dataset, "dev", drawn)
    splits, splits_hash = dataset_splits(store, dataset, folds, repeats, seed, X, y, groups, drawn)
    baselines = [model_family(model, dataset.task, X) for model, _ in specs]
    params = [dict(p or {}) for _, p in specs]
    pipelines = [build_pipeline(b, dataset, X, p, seed) for b, p in zip(baselines, params)]
    unique = len({b.name for b in baselines}) == len(baselines)
    _check_params(
        {(b.name if unique else _spec_label(b.name, p)): pipe for b, p, pipe in zip(baselines, params, pipelines)}
    )
    return GroupPlan(
        dataset,
        [(b.name, p) for b, p in zip(baselines, params)],
        baselines,
        pipelines,
        [model if isinstance(model, str) else "" for model, _ in specs],
        X,
        y,
        splits,
        splits_hash,
        scoring(dataset.task, groups),
        folds,
        repeats,
        seed,
        before_start,
        drawn,
    )


def run_groups(
    store: Store,
    plans: Sequence[GroupPlan],
    *,
    jobs: int = 1,
    cluster: str | None = None,
    on_created: Callable[[int, list[int]], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: StopToken | None = None,
    queue: bool = False,
) -> list[list[int]]:
    """Run the planned groups in one executor (``jobs`` local processes, or the Dask ``cluster``);
    returns each group's run ids.

    Every group's runs are created first (``before_start(group_id, run_ids)`` then
    ``on_created(group_id, run_ids)`` for each), then all their folds run as one batch. ``stop`` is
    checked after each fold; a set token (or Ctrl-C) marks every unfinished run ``cancelled`` and
    raises :class:`RunCancelled`. With ``queue`` the runs are created ``queued`` and wait for their
    turn in the store's run queue, unless they fit on a cluster (they do not use this machine's cores).
    """
    check_jobs(jobs)
    queue = queue and not cluster
    # the queue's turn (entered below, once the runs exist) is held until every run is finished and the
    # workers are gone: the next group starts on a free machine, after this one's last end
    with (
        ExitStack() as held,
        make_executor(jobs, cluster) as executor,  # connects now: an unreachable cluster stores nothing
    ):
        states: list[_GroupState] = []

        def unfinished() -> list[int]:
            return [run_id for state in states for run_id in state.unfinished()]

        try:
            with interrupt_as_cancel(CANCELLED):
                for key, plan in enumerate(plans):
                    with sigint_held():  # a group's runs are stored and known here, or neither
                        states.append(_GroupState.create(store, plan, key, on_progress, queue))
                for state in states:
                    if state.plan.before_start:
                        state.plan.before_start(state.group_id, state.run_ids)
                    if on_created:
                        on_created(state.group_id, state.run_ids)
                by_run = {run_id: state for state in states for run_id in state.run_ids}
                tasks = [task for state in states for task in state.tasks()]
                data = {key: (state.plan.X, state.plan.y) for key, state in enumerate(states)}
                with run_queue.heartbeat_while(store, unfinished):
                    if queue:
                        group_ids = [state.group_id for state in states]
                        held.enter_context(
                            run_queue.turn(store, group_ids, list(by_run), lambda: check(stop, CANCELLED))
                        )
                    with store.writes_held():  # fold after fold, the file stays attached between commits
                        for result in executor.results(tasks, data):
                            with sigint_held():  # a finished fold lands whole; Ctrl-C comes after it
                                by_run[result["run_id"]].handle(result)
                            check(stop, CANCELLED)
        except RunCancelled:
            with sigint_held():
                for state in states:
                    state.finish_all("cancelled", "cancelled by the user")
            raise
        except BaseException as e:
            with sigint_held():
                for state in states:
                    state.finish_all("failed", f"{type(e).__name__}: {e}")
            raise
    return [state.run_ids for state in states]


def _lost(run_id: int, index: int | None, message: str) -> FoldResult | GlmResult:
    """The result of a task that never finished (its cluster worker lost for good)."""
    if index is None:
        return {"kind": "glm", "run_id": run_id, "summary": None, "warnings": [f"GLM summary failed: {message}"]}
    return {"kind": "fold", "run_id": run_id, "error": f"fold {index + 1}: {message}", "warnings": []}


def _spec_label(model: str, params: dict[str, Any] | None) -> str:
    if not params:
        return model
    return f"{model} ({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"


def _check_params(pipelines: dict[str, Any]) -> None:
    for name, pipe in pipelines.items():
        try:
            model = pipe.named_steps["model"]
            if hasattr(model, "_parameter_constraints"):  # scikit-learn's own; a spec's estimator may have none
                model._validate_params()
        except Exception as e:
            raise InputError(f"bad parameter for {name}: {str(e).splitlines()[0]}") from None


class _GroupState:
    """Bookkeeping for one group: folds done per run, failures, warnings, completion."""

    def __init__(
        self,
        store: Store,
        plan: GroupPlan,
        key: int,
        group_id: int,
        run_ids: list[int],
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.store = store
        self.plan = plan
        self.key = key  # its rows' key in the batch's data
        self.group_id = group_id
        self.run_ids = run_ids
        self.runs = dict(zip(run_ids, plan.baselines))
        self.n_splits = len(plan.splits)
        self.on_progress = on_progress
        self.done = dict.fromkeys(run_ids, 0)
        self.pending_glm = {r for r, b in self.runs.items() if b.name == "glm"}
        self.errors: dict[int, str] = {}
        self.warnings: dict[int, dict[str, None]] = {r: {} for r in run_ids}
        self.finished: set[int] = set()

    @classmethod
    def create(
        cls, store: Store, plan: GroupPlan, key: int, on_progress: Callable[[Progress], None] | None, queued: bool
    ) -> _GroupState:
        """Store the group's runs (``queued``, or ``running``) and keep their books."""
        group_id, run_ids = run_store.create_runs(
            store,
            plan.dataset,
            plan.models,
            folds=plan.folds,
            repeats=plan.repeats,
            seed=plan.seed,
            versions=library_versions(),
            specs=[spec_info(b, pipe) for b, pipe in zip(plan.baselines, plan.pipelines)],
            sample=plan.sample,
            status="queued" if queued else "running",
        )
        return cls(store, plan, key, group_id, run_ids, on_progress)

    def tasks(self) -> list[FitTask]:
        """A task per run and fold (slow models' first, by :func:`cost_of`), and one per GLM for its summary."""
        plan = self.plan
        common = {"scorers": plan.scorers, "folds": plan.folds, "classes": plan.dataset.classes}
        by_run = list(zip(self.run_ids, plan.pipelines, plan.kinds))
        return [
            FitTask(
                fit_fold,
                {"run_id": run_id, "index": i, "pipeline": pipe, "train": train, "val": val, **common},
                cost_of(kind, len(train)),
                partial(_lost, run_id, i),
                self.key,
            )
            for i, (train, val) in enumerate(plan.splits)
            for run_id, pipe, kind in by_run
        ] + [
            FitTask(
                fit_glm,
                {"run_id": run_id, "pipeline": pipe},
                cost_of("glm", len(plan.y)),
                partial(_lost, run_id, None),
                self.key,
            )
            for run_id, pipe, _ in by_run
            if self.runs[run_id].name == "glm"
        ]

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
        outcome = self._outcome(run_id)
        if outcome:
            self._finish(run_id, outcome)

    def finish_all(self, status: RunStatus, reason: str) -> None:
        """End every run not yet finished: ``status`` with ``reason``, unless all its work landed (its
        finishing write was what a Ctrl-C stopped, waiting for the lock): then ``done`` or ``failed``."""
        for run_id in self.run_ids:
            if run_id not in self.finished:
                self._finish(run_id, self._outcome(run_id) or status, reason)

    def _outcome(self, run_id: int) -> RunStatus | None:
        """``done`` or ``failed`` (a fold failed) once all the run's work landed; None before."""
        if self.done[run_id] < self.n_splits or run_id in self.pending_glm:
            return None
        return "failed" if run_id in self.errors else "done"

    def _finish(self, run_id: int, status: RunStatus, reason: str | None = None) -> None:
        error = self.errors.get(run_id, reason) if status != "done" else None
        run_store.finish_run(
            self.store,
            run_id,
            status,
            error=error,
            folds_hash=self.plan.splits_hash,
            warnings=list(self.warnings[run_id])[:20],
        )
        self.finished.add(run_id)  # only once stored: a Ctrl-C may stop the write's wait for the lock
        self._progress(run_id, None, status, error)

    def _progress(
        self, run_id: int, fold: FoldScore | None, status: RunStatus = "running", error: str | None = None
    ) -> None:
        if self.on_progress:
            self.on_progress(
                Progress(run_id, self.runs[run_id].name, self.done[run_id], self.n_splits, status, fold, error)
            )

    def unfinished(self) -> list[int]:
        return [r for r in self.run_ids if r not in self.finished]
