"""Learning and validation curves of a run, computed on the run's own folds and stored point by point.

A *learning curve* refits the run's pipeline on growing, seeded subsets of each fold's training
rows (log-spaced sizes; every class in every subset for classification; whole queries for
ranking, its sizes counting queries) and scores the subset (train) and the fold's full
validation rows (validation). A *validation curve* refits it on each fold's full training rows
over the values of one parameter, by default the model family's complexity knob
(``core.modeling.models.Baseline.knob_for``).

Both use exactly the run's cross-validation (``make_splitter`` with its folds, repeats and
seed on the development split), its parameters and its metrics, so a curve's point at the
run's own setting reproduces the run's scores. One *point* is one (setting, fold) fit; points
are executor tasks (:mod:`core.analysis.curve_tasks`: local worker processes, or a Dask cluster's
workers with ``cluster``) streamed back as they finish, and each is committed in this process, in
its own transaction, the moment it arrives, so a plot can grow while the user watches and an
interrupted curve keeps what it finished. Stored points are reused, never recomputed: asking
again for a finished curve reads it back at once.

Storage (``curve_points``): one row per (point, metric) with ``curve`` ('learning' or
'validation'), ``param`` ('train_size', 'train_queries' for ranking, or the parameter name),
``x``, ``label``, ``value`` (the exact parameter value as JSON: the identity of a setting),
``fold_index``, ``train``, ``validation``, ``fit_time`` and ``error``. ``x`` is the setting's
coordinate for a plot: the training size, the parameter value when every value is a number,
otherwise the value's position in the list (``label`` then says what it is, e.g. ``None`` for an
unlimited depth).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from core.analysis.curve_settings import (
    Setting,
    TrainingSets,
    current_value,
    learning_param,
    mean_std,
    ordered_values,
    same_value,
    settings_of,
    unique_values,
    value_label,
    wants_log_x,
    with_current,
)
from core.errors import InputError
from core.modeling.evaluation import check_jobs
from core.modeling.metrics import METRICS, key_metrics
from core.stopping import StopToken, check, interrupt_as_cancel
from core.store import Store
from core.store import curve_points as point_store
from core.store.curve_points import decode_value, value_key
from core.store.sigint import sigint_held
from core.types import DatasetInfo, RunRecord, Task

CANCELLED = "cancelled: the curve's finished points are kept"


__all__ = [
    "Curve",
    "CurveKind",
    "CurvePoint",
    "CurveProgress",
    "CurveRow",
    "clear_curve",
    "curve_stamp",
    "learning_curve",
    "load_curve",
    "stored_curve_params",
    "validation_curve",
]

CurveKind = Literal["learning", "validation"]


@dataclass(frozen=True)
class CurvePoint:
    """One fit of a curve: a setting on one fold. ``train``/``validation`` map metric to score."""

    x: float
    label: str
    value: Any
    fold_index: int
    train: dict[str, float]
    validation: dict[str, float]
    fit_time: float = math.nan
    error: str | None = None


@dataclass(frozen=True)
class CurveRow:
    """One setting of a curve on one metric, over the folds that finished (sample std)."""

    x: float
    label: str
    value: Any
    n: int
    train_mean: float
    train_std: float
    val_mean: float
    val_std: float


@dataclass(frozen=True)
class CurveProgress:
    """A point has been computed and stored: ``done`` of ``total`` points now exist."""

    run_id: int
    kind: CurveKind
    param: str
    point: CurvePoint
    done: int
    total: int


@dataclass(frozen=True)
class Curve:
    """A learning or validation curve of one run: its settings and the points stored so far.

    ``current`` is the index of the run's own setting (validation curves), ``best`` the index
    of the setting with the best mean validation score on ``key_metric`` (its direction given
    by ``greater_is_better``) among settings whose every fold finished.
    """

    run_id: int
    kind: CurveKind
    param: str
    task: Task
    key_metric: str
    greater_is_better: bool
    settings: tuple[Setting, ...]
    n_folds: int
    points: tuple[CurvePoint, ...]
    current: int | None = None
    log_x: bool = False
    notes: tuple[str, ...] = ()
    n_computed: int = 0  # points fitted by the call that returned this curve (0: all reused)

    @property
    def n_expected(self) -> int:
        return len(self.settings) * self.n_folds

    @property
    def complete(self) -> bool:
        return len(self.points) >= self.n_expected

    @property
    def metrics(self) -> tuple[str, ...]:
        present = {m for p in self.points for m in (*p.train, *p.validation)}
        return tuple(m for m in METRICS if m in present) + tuple(sorted(present - set(METRICS)))

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.error for p in self.points if p.error))

    def rows(self, metric: str | None = None) -> tuple[CurveRow, ...]:
        """Per setting, mean ± std over folds of ``metric`` (default: the key metric)."""
        metric = metric or self.key_metric
        out = []
        for s in self.settings:
            pts = [p for p in self.points if same_value(p.value, s.value)]
            train = [p.train.get(metric, math.nan) for p in pts]
            val = [p.validation.get(metric, math.nan) for p in pts]
            train = [v for v in train if math.isfinite(v)]
            val = [v for v in val if math.isfinite(v)]
            out.append(CurveRow(s.x, s.label, s.value, len(val), *mean_std(train), *mean_std(val)))
        return tuple(out)

    @property
    def best(self) -> int | None:
        rows = self.rows()
        candidates = [(i, r.val_mean) for i, r in enumerate(rows) if r.n >= self.n_folds and math.isfinite(r.val_mean)]
        if not candidates:
            return None
        sign = 1.0 if self.greater_is_better else -1.0
        # Ties go to the first setting: knob values run from the simplest model to the most complex.
        # (means are rounded so that float noise in equal means does not break the tie)
        return max(candidates, key=lambda c: (round(sign * c[1], 10), -c[0]))[0]

    @property
    def best_setting(self) -> Setting | None:
        return None if self.best is None else self.settings[self.best]


# --------------------------------------------------------------------------- public API


def learning_curve(
    store: Store,
    run_id: int | str,
    sizes: Sequence[int] | None = None,
    *,
    jobs: int = 1,
    on_point: Callable[[CurveProgress], None] | None = None,
    stop: StopToken | None = None,
    fit: bool = True,
    cluster: str | None = None,
) -> Curve:
    """The run's learning curve: train and validation scores against the training-set size.

    ``sizes`` (rows; queries for a ranking run) default to :meth:`TrainingSets.sizes`'s. Points
    already stored are reused; the others are fitted (``jobs`` worker processes, or on the Dask
    ``cluster`` at that address), stored one
    transaction each and reported to ``on_point`` as they finish. ``stop`` is checked after each
    point (see :mod:`core.stopping`): a set token or Ctrl-C raises ``RunCancelled``, and finished
    points are kept. With ``fit=False`` nothing is fitted: the curve over the settings it would
    compute, holding the points already stored (what a screen shows while a child computes).
    """
    check_jobs(jobs)
    ctx = RunContext.load(store, run_id)
    sets = TrainingSets(ctx.dataset, ctx.y, ctx.splits, ctx.groups)  # rows, or whole queries for ranking
    sizes = sets.sizes(sizes)
    settings = tuple(Setting(float(s), str(s), s) for s in sizes)
    pipeline = ctx.pipeline(ctx.run.params)

    def task(i: int, fold: int) -> tuple[Any, Any, Any]:
        train, val = ctx.splits[fold]
        return pipeline, sets.subset(train, sizes[i], (ctx.run.seed, fold, sizes[i])), val

    param = learning_param(ctx.dataset.task)
    return _compute(store, ctx, "learning", param, settings, task, None, jobs, on_point, stop, fit, cluster)


def validation_curve(
    store: Store,
    run_id: int | str,
    param: str | None = None,
    values: Sequence[Any] | None = None,
    *,
    jobs: int = 1,
    on_point: Callable[[CurveProgress], None] | None = None,
    stop: StopToken | None = None,
    fit: bool = True,
    cluster: str | None = None,
) -> Curve:
    """The run's validation curve over ``param`` (default: its model's complexity knob).

    ``values`` default to the knob's grid (``core.modeling.models``), with the run's own value added
    if missing. Every other parameter stays as the run set it. Streaming, storage, reuse,
    stopping, ``fit`` and ``cluster`` work as in :func:`learning_curve`.
    """
    check_jobs(jobs)
    ctx = RunContext.load(store, run_id)
    knob, knob_values = ctx.baseline.knob_for(ctx.dataset.task)
    if param is None:
        if knob is None:
            raise InputError(
                f"{ctx.run.model} has no complexity knob built in; give one and its values: "
                "--param NAME --values V1,V2,..."
            )
        param = knob
    param = param.strip()
    valid = ctx.param_names()
    if param not in valid:
        raise InputError(f"unknown parameter {param!r} for {ctx.run.model}; valid: {', '.join(sorted(valid))}")
    current = ctx.current_value(param)
    if values is None:
        if param != knob:
            raise InputError(f"give the values of {param!r} to try (only the knob {knob!r} has a default grid)")
        values = with_current(list(knob_values), current)
    values = ordered_values(unique_values(values, param), knob_values if param == knob else None)
    pipelines = [ctx.pipeline({**ctx.run.params, param: v}) for v in values]
    ctx.check_params(pipelines, param, values)
    settings = settings_of(values)
    current_index = next((i for i, v in enumerate(values) if same_value(v, current)), None)

    def task(i: int, fold: int) -> tuple[Any, Any, Any]:
        train, val = ctx.splits[fold]
        return pipelines[i], train, val

    return _compute(store, ctx, "validation", param, settings, task, current_index, jobs, on_point, stop, fit, cluster)


def load_curve(store: Store, run_id: int | str, kind: CurveKind, param: str | None = None) -> Curve | None:
    """The stored points of a run's curve, without computing anything (``None`` if there are none).

    ``param`` defaults to :func:`learning_param` for learning curves and, for validation curves, to
    the model's knob (else the parameter of the latest stored validation curve).
    """
    from core.modeling.models import BASELINES
    from core.store.runs import get_run

    run = get_run(store, run_id)
    baseline = BASELINES.get(run.model)
    if kind == "learning":
        param = learning_param(run.task)
    elif kind != "validation":
        raise InputError(f"unknown curve {kind!r}; use 'learning' or 'validation'")
    elif param is None:
        knob = baseline.knob_for(run.task)[0] if baseline else None
        params = point_store.validation_params(store, run.id)
        param = knob if knob in params else (params[-1] if params else None)
    if param is None:  # a validation curve, and none is stored
        return None
    stored = _stored_points(store, run.id, kind, param)
    if not stored:
        return None
    by_value: dict[str, Setting] = {}
    for p in stored.values():
        by_value.setdefault(value_key(p.value), Setting(p.x, p.label, p.value))
    settings = tuple(sorted(by_value.values(), key=lambda s: s.x))
    knob, knob_values = baseline.knob_for(run.task) if baseline is not None else (None, ())
    if kind == "validation" and param == knob:  # in the order validation_curve computes them
        order = ordered_values([s.value for s in settings], knob_values)
        settings = tuple(sorted(settings, key=lambda s: next(i for i, v in enumerate(order) if same_value(v, s.value))))
    current = None
    if kind == "validation" and (baseline is not None or run.spec is not None):
        value = current_value(run, baseline, param)
        current = next((i for i, s in enumerate(settings) if same_value(s.value, value)), None)
    key = key_metrics(run.task)[0]
    return Curve(
        run_id=run.id,
        kind=kind,
        param=param,
        task=run.task,
        key_metric=key.name,
        greater_is_better=key.greater_is_better,
        settings=settings,
        n_folds=run.folds * run.repeats,
        points=tuple(sorted(stored.values(), key=lambda p: (p.x, p.fold_index))),
        current=current,
        log_x=wants_log_x(settings),
    )


def stored_curve_params(store: Store, run_id: int | str) -> list[str]:
    """The parameters of a run's stored validation curves, oldest first (for reports that list them all)."""
    from core.store.runs import parse_run_id

    return point_store.validation_params(store, parse_run_id(run_id))


def clear_curve(store: Store, run_id: int | str, kind: CurveKind | None = None, param: str | None = None) -> int:
    """Delete stored curve points of a run (all of them, one kind, or one parameter); returns points deleted."""
    from core.store.runs import parse_run_id

    return point_store.delete_points(store, parse_run_id(run_id), kind, param)


def curve_stamp(store: Store, run_id: int) -> tuple[int, float]:
    """A cheap fingerprint of a run's stored curve points; it changes whenever a point lands."""
    return point_store.stamp(store, run_id)


# --------------------------------------------------------------------------- computing


class RunContext:
    """A run, its dataset, its development rows and its folds, loaded once per curve."""

    def __init__(
        self,
        run: RunRecord,
        baseline: Any,
        dataset: DatasetInfo,
        X: Any,
        y: Any,
        splits: list[tuple[Any, Any]],
        notes: tuple[str, ...],
        groups: Any = None,
    ) -> None:
        self.run, self.baseline, self.dataset = run, baseline, dataset
        self.X, self.y, self.splits, self.notes = X, y, splits, notes
        self.groups = groups  # a ranking dataset's query per row (core.data.ranking), else None

    @classmethod
    def load(cls, store: Store, run_id: int | str) -> RunContext:
        from core.data.frames import load_split
        from core.data.ranking import dataset_groups
        from core.modeling.folds import dataset_splits
        from core.modeling.specs import run_family
        from core.store.datasets import get_dataset
        from core.store.runs import get_run

        run = get_run(store, run_id)
        dataset = get_dataset(store, run.dataset_id)
        X, y = load_split(store, dataset, "dev", run.sample)  # a sampled run's curve stays within its sample
        baseline = run_family(run, X)  # a spec is resolved again from its text
        groups = dataset_groups(store, dataset)
        splits, splits_hash = dataset_splits(store, dataset, run.folds, run.repeats, run.seed, X, y, groups, run.sample)
        notes: tuple[str, ...] = ()
        if run.sample is not None:
            notes = (f"run {run.id} was {run.sample.describe()}: `mlloop diagnose {run.id}` says if more would help",)
        if run.folds_hash and splits_hash != run.folds_hash:
            notes += (
                "these folds differ from the run's (a different scikit-learn version?): "
                "curve scores are not paired with the run's",
            )
        return cls(run, baseline, dataset, X, y, splits, notes, groups)

    def pipeline(self, params: Mapping[str, Any]) -> Any:
        from core.modeling.evaluation import build_pipeline

        try:
            return build_pipeline(self.baseline, self.dataset, self.X, dict(params), self.run.seed)
        except TypeError as e:  # an unknown keyword reaches the estimator's __init__
            raise InputError(f"bad parameter for {self.run.model}: {e}") from None

    def param_names(self) -> set[str]:
        return set(self.baseline.estimator(self.dataset.task, {}, self.run.seed).get_params())  # deep, as tune

    def current_value(self, param: str) -> Any:
        return current_value(self.run, self.baseline, param)

    def check_params(self, pipelines: list[Any], param: str, values: list[Any]) -> None:
        for pipe, v in zip(pipelines, values):
            model = pipe.named_steps["model"]
            try:
                if hasattr(model, "_parameter_constraints"):  # a spec's estimator may have none
                    model._validate_params()
            except Exception as e:
                raise InputError(f"bad value {value_label(v)!r} for {param}: {str(e).splitlines()[0]}") from None


def _compute(
    store: Store,
    ctx: RunContext,
    kind: CurveKind,
    param: str,
    settings: tuple[Setting, ...],
    task: Callable[[int, int], tuple[Any, Any, Any]],
    current: int | None,
    jobs: int,
    on_point: Callable[[CurveProgress], None] | None,
    stop: StopToken | None,
    fit: bool,
    cluster: str | None,
) -> Curve:
    from core.analysis.curve_tasks import point_results
    from core.modeling.evaluation import scoring

    run = ctx.run
    stored = _stored_points(store, run.id, kind, param)
    points: dict[tuple[str, int], CurvePoint] = {}
    todo = []
    for i, s in enumerate(settings):
        for fold in range(len(ctx.splits)):
            key = (value_key(s.value), fold)
            if key in stored:
                points[key] = replace(stored[key], x=s.x, label=s.label, value=s.value)
            else:
                todo.append((i, fold))
    total = len(settings) * len(ctx.splits)
    computed = 0
    if todo and fit:
        scorers = scoring(ctx.dataset.task, ctx.groups)
        results = point_results(todo, task, ctx.X, ctx.y, scorers, jobs, cluster)
        try:
            with interrupt_as_cancel(CANCELLED), store.writes_held():  # point after point, the file stays attached
                for result in results:
                    s = settings[result["setting"]]
                    point = CurvePoint(
                        s.x,
                        s.label,
                        s.value,
                        result["fold"],
                        result["train"],
                        result["validation"],
                        result["fit_time"],
                        result["error"],
                    )
                    with sigint_held():  # a finished point lands whole; Ctrl-C comes after it
                        _store_point(store, run.id, kind, param, point, list(scorers))
                    points[(value_key(s.value), point.fold_index)] = point
                    computed += 1
                    if on_point:
                        on_point(CurveProgress(run.id, kind, param, point, len(points), total))
                    check(stop, CANCELLED)
        finally:
            results.close()  # stops the points not started
    key_metric = key_metrics(ctx.dataset.task)[0]
    return Curve(
        run_id=run.id,
        kind=kind,
        param=param,
        task=ctx.dataset.task,
        key_metric=key_metric.name,
        greater_is_better=key_metric.greater_is_better,
        settings=settings,
        n_folds=len(ctx.splits),
        points=tuple(sorted(points.values(), key=lambda p: (p.x, p.fold_index))),
        current=current,
        log_x=wants_log_x(settings),
        notes=ctx.notes,
        n_computed=computed,
    )


def _store_point(store: Store, run_id: int, kind: CurveKind, param: str, point: CurvePoint, metrics: list[str]) -> None:
    point_store.insert_point(
        store,
        run_id,
        kind,
        param,
        x=point.x,
        fold_index=point.fold_index,
        label=point.label,
        value=point.value,
        train=point.train,
        validation=point.validation,
        metrics=metrics,
        fit_time=point.fit_time,
        error=point.error,
        created_at=time.time(),
    )


def _stored_points(store: Store, run_id: int, kind: CurveKind, param: str) -> dict[tuple[str, int], CurvePoint]:
    out: dict[tuple[str, int], CurvePoint] = {}
    for row in point_store.select_points(store, run_id, kind, param):
        v = (
            decode_value(row.value_json)
            if row.value_json is not None
            else (int(row.x) if kind == "learning" else row.x)
        )
        key = (value_key(v), row.fold_index)
        if key not in out:
            out[key] = CurvePoint(
                row.x,
                row.label if row.label is not None else value_label(v),
                v,
                row.fold_index,
                {},
                {},
                row.fit_time,
                row.error,
            )
        out[key].train[row.metric] = row.train
        out[key].validation[row.metric] = row.validation
    return out
