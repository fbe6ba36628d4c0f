"""Learning and validation curves of a run, computed on the run's own folds and stored point by point.

A *learning curve* refits the run's pipeline on growing, seeded subsets of each fold's
training rows (log-spaced sizes; for classification every class is in every subset) and
scores the subset (train) and the fold's full validation rows (validation). A *validation
curve* refits it on each fold's full training rows over the values of one parameter, by
default the model family's complexity knob (``core.modeling.models.Baseline.knob_for``).

Both use exactly the run's cross-validation (``make_splitter`` with its folds, repeats and
seed on the development split), its parameters and its metrics, so a curve's point at the
run's own setting reproduces the run's scores. One *point* is one (setting, fold) fit; points
are joblib tasks streamed back with ``return_as="generator_unordered"``, and each is committed
in its own transaction the moment it arrives, so a plot can grow while the user watches and an
interrupted curve keeps what it finished. Stored points are reused, never recomputed: asking
again for a finished curve reads it back at once.

Storage (``curve_points``): one row per (point, metric) with ``curve`` ('learning' or
'validation'), ``param`` ('train_size' or the parameter name), ``x``, ``label``, ``value``
(the exact parameter value as JSON: the identity of a setting), ``fold_index``, ``train``,
``validation``, ``fit_time`` and ``error``. ``x`` is the setting's coordinate for a plot: the
training size, the parameter value when every value is a number, otherwise the value's
position in the list (``label`` then says what it is, e.g. ``None`` for an unlimited depth).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from core.errors import InputError, RunCancelled
from core.modeling.evaluation import METRICS, key_metrics
from core.store import Store
from core.types import DatasetInfo, RunRecord, Task

LOG_X_RATIO = 20.0  # positive x values spanning this ratio or more read best on a log axis (plots and exports)

__all__ = [
    "Curve",
    "CurveKind",
    "CurvePoint",
    "CurveProgress",
    "CurveRow",
    "Setting",
    "clear_curve",
    "curve_stamp",
    "default_sizes",
    "learning_curve",
    "load_curve",
    "stored_curve_params",
    "validation_curve",
    "value_label",
]

CurveKind = Literal["learning", "validation"]
LEARNING_PARAM = "train_size"
DEFAULT_POINTS = 6  # learning-curve sizes (5-8 is what people read comfortably)
MAX_POINTS = 8
MIN_ROWS = 10  # the smallest training subset
MIN_PER_CLASS = 3  # ... holds about this many rows of the rarest class (and always at least one)


@dataclass(frozen=True)
class Setting:
    """One x of a curve: a training size, or one value of the parameter."""

    x: float
    label: str
    value: Any  # the training size, or the parameter value (JSON-able)


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
            pts = [p for p in self.points if _same_value(p.value, s.value)]
            train = [p.train.get(metric, math.nan) for p in pts]
            val = [p.validation.get(metric, math.nan) for p in pts]
            train = [v for v in train if math.isfinite(v)]
            val = [v for v in val if math.isfinite(v)]
            out.append(CurveRow(s.x, s.label, s.value, len(val), *_mean_std(train), *_mean_std(val)))
        return tuple(out)

    @property
    def best(self) -> int | None:
        rows = self.rows()
        candidates = [(i, r.val_mean) for i, r in enumerate(rows)
                      if r.n >= self.n_folds and math.isfinite(r.val_mean)]
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
    should_stop: Callable[[], bool] | None = None,
) -> Curve:
    """The run's learning curve: train and validation scores against the training-set size.

    ``sizes`` default to :func:`default_sizes`. Points already stored are reused; the others
    are fitted (``jobs`` worker processes), stored one transaction each and reported to
    ``on_point`` as they finish. ``should_stop()`` is checked after each point: when it says
    so, the partial curve is returned. ``KeyboardInterrupt`` raises ``RunCancelled``; finished
    points are kept either way.
    """
    ctx = _Context.load(store, run_id)
    if sizes is None:
        sizes = default_sizes(ctx.dataset, ctx.y, ctx.splits)
    sizes = _check_sizes(sizes, ctx)
    settings = tuple(Setting(float(s), str(s), s) for s in sizes)
    pipeline = ctx.pipeline(ctx.run.params)
    codes = _class_codes(ctx.y) if ctx.dataset.is_classification else None

    def task(i: int, fold: int) -> tuple[Any, Any, Any]:
        train, val = ctx.splits[fold]
        return pipeline, _subsample(train, codes, sizes[i], (ctx.run.seed, fold, sizes[i])), val

    return _compute(store, ctx, "learning", LEARNING_PARAM, settings, task, None, jobs, on_point, should_stop)


def validation_curve(
    store: Store,
    run_id: int | str,
    param: str | None = None,
    values: Sequence[Any] | None = None,
    *,
    jobs: int = 1,
    on_point: Callable[[CurveProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Curve:
    """The run's validation curve over ``param`` (default: its model's complexity knob).

    ``values`` default to the knob's grid (``core.modeling.models``), with the run's own value added
    if missing. Every other parameter stays as the run set it. Streaming, storage, reuse and
    cancelling work as in :func:`learning_curve`.
    """
    ctx = _Context.load(store, run_id)
    knob, knob_values = ctx.baseline.knob_for(ctx.dataset.task)
    if param is None:
        if knob is None:
            raise InputError(f"the {ctx.run.model} baseline has no complexity knob; give a parameter and values")
        param = knob
    param = param.strip()
    valid = ctx.param_names()
    if param not in valid:
        raise InputError(f"unknown parameter {param!r} for {ctx.run.model}; valid: {', '.join(sorted(valid))}")
    current = ctx.current_value(param)
    if values is None:
        if param != knob:
            raise InputError(f"give the values of {param!r} to try (only the knob {knob!r} has a default grid)")
        values = _with_current(list(knob_values), current)
    values = _ordered(_unique_values(values, param), knob_values if param == knob else None)
    pipelines = [ctx.pipeline({**ctx.run.params, param: v}) for v in values]
    ctx.check_params(pipelines, param, values)
    settings = _settings(values)
    current_index = next((i for i, v in enumerate(values) if _same_value(v, current)), None)

    def task(i: int, fold: int) -> tuple[Any, Any, Any]:
        train, val = ctx.splits[fold]
        return pipelines[i], train, val

    return _compute(store, ctx, "validation", param, settings, task, current_index, jobs, on_point, should_stop)


def load_curve(store: Store, run_id: int | str, kind: CurveKind, param: str | None = None) -> Curve | None:
    """The stored points of a run's curve, without computing anything (``None`` if there are none).

    ``param`` defaults to ``train_size`` for learning curves and, for validation curves, to
    the model's knob (else the parameter of the latest stored validation curve).
    """
    from core.modeling.models import BASELINES
    from core.store.runs import get_run

    run = get_run(store, run_id)
    baseline = BASELINES.get(run.model)
    if kind == "learning":
        param = LEARNING_PARAM
    elif kind != "validation":
        raise InputError(f"unknown curve {kind!r}; use 'learning' or 'validation'")
    stored = _stored_points(store, run.id, kind, param)
    if kind == "validation" and param is None:
        knob = baseline.knob_for(run.task)[0] if baseline else None
        params = _stored_params(store, run.id)
        param = knob if knob in params else (params[-1] if params else None)
        stored = _stored_points(store, run.id, kind, param) if param else {}
    if not stored:
        return None
    by_value: dict[str, Setting] = {}
    for p in stored.values():
        by_value.setdefault(_value_key(p.value), Setting(p.x, p.label, p.value))
    settings = tuple(sorted(by_value.values(), key=lambda s: s.x))
    knob, knob_values = baseline.knob_for(run.task) if baseline is not None else (None, ())
    if kind == "validation" and param == knob:  # in the order validation_curve computes them
        order = _ordered([s.value for s in settings], knob_values)
        settings = tuple(sorted(settings, key=lambda s: next(i for i, v in enumerate(order) if _same_value(v, s.value))))
    current = None
    if kind == "validation" and baseline is not None:
        value = _current_value(run, baseline, param)
        current = next((i for i, s in enumerate(settings) if _same_value(s.value, value)), None)
    key = key_metrics(run.task)[0]
    return Curve(
        run_id=run.id, kind=kind, param=param, task=run.task, key_metric=key.name,
        greater_is_better=key.greater_is_better, settings=settings, n_folds=run.folds * run.repeats,
        points=tuple(sorted(stored.values(), key=lambda p: (p.x, p.fold_index))), current=current,
        log_x=_log_x(settings),
    )


def stored_curve_params(store: Store, run_id: int | str) -> list[str]:
    """The parameters of a run's stored validation curves, oldest first (for reports that list them all)."""
    from core.store.runs import parse_run_id

    return _stored_params(store, parse_run_id(run_id))


def clear_curve(store: Store, run_id: int | str, kind: CurveKind | None = None, param: str | None = None) -> int:
    """Delete stored curve points of a run (all of them, one kind, or one parameter); returns points deleted."""
    from core.store.runs import parse_run_id

    rid = parse_run_id(run_id)
    where, args = ["run_id = ?"], [rid]
    if kind is not None:
        where.append("curve = ?")
        args.append(kind)
    if param is not None:
        where.append("param = ?")
        args.append(param)
    clause = " AND ".join(where)
    with store.write() as con:
        n = con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT curve, param, value, fold_index FROM curve_points WHERE {clause})",
            args,
        ).fetchone()[0]
        con.execute(f"DELETE FROM curve_points WHERE {clause}", args)
    return int(n)


def curve_stamp(store: Store, run_id: int) -> tuple:
    """A cheap fingerprint of a run's stored curve points; it changes whenever a point lands."""
    with store.read() as con:
        return con.execute(
            "SELECT count(*), coalesce(max(created_at), 0) FROM curve_points WHERE run_id = ?", [run_id]
        ).fetchone()


def default_sizes(dataset: DatasetInfo, y: Any, splits: Sequence[tuple[Any, Any]],
                  n_points: int = DEFAULT_POINTS) -> list[int]:
    """Log-spaced training sizes from the smallest sensible subset to the smallest fold's training rows.

    The smallest size holds about ``MIN_PER_CLASS`` rows of the rarest class (classification)
    and at least ``MIN_ROWS`` rows; the largest is the smallest fold's full training set.
    """
    import numpy as np

    n_max = min(len(train) for train, _ in splits)
    n_min = min(_min_size(dataset, y), n_max)
    sizes = sorted({int(round(v)) for v in np.geomspace(n_min, n_max, max(2, min(n_points, MAX_POINTS)))})
    if len(sizes) < 2:
        raise InputError(f"too few rows for a learning curve: the folds train on {n_max} rows")
    return sizes


def knob_rank(values: Sequence[Any], value: Any) -> float:
    """Where ``value`` sits on a knob's simple → complex scale (``knob_for`` orders its values
    that way); a value between two of them ranks between, ``None`` (no limit) last."""
    for i, v in enumerate(values):
        if _same_value(v, value):
            return float(i)
    numbers = [(i, v) for i, v in enumerate(values) if _is_number(v)]
    if not _is_number(value) or not numbers:
        return math.inf if value is None else -1.0
    ascending = numbers[0][1] <= numbers[-1][1]
    for i, v in numbers:
        if (value < v) if ascending else (value > v):
            return i - 0.5
    return numbers[-1][0] + 0.5


def value_label(value: Any) -> str:
    """How a parameter value reads in a plot or table: ``None``, ``0.01``, ``balanced``."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


# --------------------------------------------------------------------------- computing


class _Context:
    """A run, its dataset, its development rows and its folds, loaded once per curve."""

    def __init__(self, run: RunRecord, baseline: Any, dataset: DatasetInfo, X: Any, y: Any,
                 splits: list[tuple[Any, Any]], notes: tuple[str, ...]) -> None:
        self.run, self.baseline, self.dataset = run, baseline, dataset
        self.X, self.y, self.splits, self.notes = X, y, splits, notes

    @classmethod
    def load(cls, store: Store, run_id: int | str) -> _Context:
        from core.data.frames import load_split
        from core.store.datasets import get_dataset
        from core.modeling.evaluation import _folds_hash, _splits, make_splitter
        from core.modeling.models import BASELINES
        from core.store.runs import get_run

        run = get_run(store, run_id)
        baseline = BASELINES.get(run.model)
        if baseline is None:
            raise InputError(f"run {run.id} used the model {run.model!r}, which this mlloop does not know")
        dataset = get_dataset(store, run.dataset_id)
        X, y = load_split(store, dataset, "dev")
        splits = _splits(make_splitter(dataset.task, run.folds, run.repeats, run.seed), X, y, dataset)
        notes = ()
        if run.folds_hash and _folds_hash(splits) != run.folds_hash:
            notes = ("these folds differ from the run's (a different scikit-learn version?): "
                     "curve scores are not paired with the run's",)
        return cls(run, baseline, dataset, X, y, splits, notes)

    def pipeline(self, params: dict) -> Any:
        from core.modeling.evaluation import build_pipeline

        try:
            return build_pipeline(self.baseline, self.dataset, self.X, dict(params), self.run.seed)
        except TypeError as e:  # an unknown keyword reaches the estimator's __init__
            raise InputError(f"bad parameter for {self.run.model}: {e}") from None

    def param_names(self) -> set[str]:
        return set(self.baseline.estimator(self.dataset.task, {}, self.run.seed).get_params(deep=False))

    def current_value(self, param: str) -> Any:
        return _current_value(self.run, self.baseline, param)

    def check_params(self, pipelines: list[Any], param: str, values: list[Any]) -> None:
        for pipe, v in zip(pipelines, values):
            try:
                pipe.named_steps["model"]._validate_params()
            except Exception as e:
                raise InputError(f"bad value {value_label(v)!r} for {param}: {str(e).splitlines()[0]}") from None


def _compute(
    store: Store,
    ctx: _Context,
    kind: CurveKind,
    param: str,
    settings: tuple[Setting, ...],
    task: Callable[[int, int], tuple[Any, Any, Any]],
    current: int | None,
    jobs: int,
    on_point: Callable[[CurveProgress], None] | None,
    should_stop: Callable[[], bool] | None,
) -> Curve:
    from joblib import Parallel, delayed

    from core.modeling.evaluation import scoring

    run = ctx.run
    stored = _stored_points(store, run.id, kind, param)
    points: dict[tuple[str, int], CurvePoint] = {}
    todo = []
    for i, s in enumerate(settings):
        for fold in range(len(ctx.splits)):
            key = (_value_key(s.value), fold)
            if key in stored:
                points[key] = replace(stored[key], x=s.x, label=s.label, value=s.value)
            else:
                todo.append((i, fold))
    total = len(settings) * len(ctx.splits)
    computed = 0
    if todo and not (should_stop and should_stop()):
        scorers = scoring(ctx.dataset.task)
        jobs_list = []
        for i, fold in todo:
            pipeline, train, val = task(i, fold)
            jobs_list.append(delayed(_fit_point)(i, fold, pipeline, ctx.X, ctx.y, train, val, scorers))
        results = Parallel(n_jobs=jobs, return_as="generator_unordered")(jobs_list)
        try:
            for result in results:
                s = settings[result["setting"]]
                point = CurvePoint(s.x, s.label, s.value, result["fold"], result["train"], result["validation"],
                                   result["fit_time"], result["error"])
                _store_point(store, run.id, kind, param, point, list(scorers))
                points[(_value_key(s.value), point.fold_index)] = point
                computed += 1
                if on_point:
                    on_point(CurveProgress(run.id, kind, param, point, len(points), total))
                if should_stop and should_stop():
                    break
        except KeyboardInterrupt:
            raise RunCancelled("cancelled: the curve's finished points are kept") from None
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    key = key_metrics(ctx.dataset.task)[0]
    return Curve(
        run_id=run.id, kind=kind, param=param, task=ctx.dataset.task, key_metric=key.name,
        greater_is_better=key.greater_is_better, settings=settings, n_folds=len(ctx.splits),
        points=tuple(sorted(points.values(), key=lambda p: (p.x, p.fold_index))), current=current,
        log_x=_log_x(settings), notes=ctx.notes, n_computed=computed,
    )


def _fit_point(setting: int, fold: int, pipeline: Any, X: Any, y: Any, train: Any, val: Any,
               scorers: dict[str, str]) -> dict:
    """One curve point in a worker process: the same fit and scoring as a run's fold."""
    from core.modeling.evaluation import _fit_fold

    result = _fit_fold(0, fold, pipeline, X, y, train, val, scorers, 1)
    out = {"setting": setting, "fold": fold, "train": {}, "validation": {}, "fit_time": math.nan,
           "error": result.get("error")}
    if result.get("fold") is not None:
        f = result["fold"]
        out.update(train=f.train, validation=f.validation, fit_time=f.fit_time)
    return out


def _store_point(store: Store, run_id: int, kind: CurveKind, param: str, point: CurvePoint,
                 metrics: list[str]) -> None:
    """One point, every metric, in one transaction; a point someone else stored first is kept."""
    from core.store.runs import _finite

    value = _value_key(point.value)
    now = time.time()
    with store.write() as con:
        existing = con.execute(
            "SELECT DISTINCT CAST(value AS VARCHAR) FROM curve_points "
            "WHERE run_id = ? AND curve = ? AND param = ? AND fold_index = ?",
            [run_id, kind, param, point.fold_index],
        ).fetchall()
        if any(_value_key(_loads(v[0])) == value for v in existing):
            return
        rows, args = [], []
        for m in metrics:
            rows.append("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            args += [run_id, kind, param, point.x, point.fold_index, m, _finite(point.train.get(m)),
                     _finite(point.validation.get(m)), point.label, value, _finite(point.fit_time),
                     point.error, now]
        con.execute(
            "INSERT INTO curve_points (run_id, curve, param, x, fold_index, metric, train, validation, label, "
            f"value, fit_time, error, created_at) VALUES {', '.join(rows)}",
            args,
        )


def _stored_points(store: Store, run_id: int, kind: CurveKind, param: str | None) -> dict[tuple[str, int], CurvePoint]:
    if param is None:
        return {}
    with store.read() as con:
        rows = con.execute(
            "SELECT x, label, CAST(value AS VARCHAR), fold_index, metric, train, validation, fit_time, error "
            "FROM curve_points WHERE run_id = ? AND curve = ? AND param = ? ORDER BY x, fold_index, metric",
            [run_id, kind, param],
        ).fetchall()
    out: dict[tuple[str, int], CurvePoint] = {}
    for x, label, value, fold, metric, train, val, fit_time, error in rows:
        v = _loads(value) if value is not None else (int(x) if kind == "learning" else x)
        key = (_value_key(v), fold)
        if key not in out:
            out[key] = CurvePoint(x, label if label is not None else value_label(v), v, fold, {}, {},
                                  _nan(fit_time), error)
        out[key].train[metric] = _nan(train)
        out[key].validation[metric] = _nan(val)
    return out


def _stored_params(store: Store, run_id: int) -> list[str]:
    with store.read() as con:
        rows = con.execute(
            "SELECT param FROM curve_points WHERE run_id = ? AND curve = 'validation' "
            "GROUP BY param ORDER BY max(coalesce(created_at, 0))",
            [run_id],
        ).fetchall()
    return [r[0] for r in rows]


# --------------------------------------------------------------------------- settings and subsets


def _min_size(dataset: DatasetInfo, y: Any) -> int:
    if not dataset.is_classification:
        return MIN_ROWS
    counts = y.value_counts()
    share = counts.min() / counts.sum()
    return max(MIN_ROWS, len(counts) * MIN_PER_CLASS, math.ceil(MIN_PER_CLASS / share))


def _check_sizes(sizes: Sequence[Any], ctx: _Context) -> list[int]:
    n_max = min(len(train) for train, _ in ctx.splits)
    n_min = min(_min_size(ctx.dataset, ctx.y), n_max)
    out = set()
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not float(s).is_integer():
            raise InputError(f"a training size must be a whole number of rows, got {s!r}")
        s = int(s)
        if not n_min <= s <= n_max:
            raise InputError(f"training size {s} is outside {n_min}..{n_max} (the smallest subset that holds "
                             f"every class, up to the smallest fold's training rows)")
        out.add(s)
    if not out:
        raise InputError("no training sizes given")
    return sorted(out)


def _class_codes(y: Any) -> Any:
    import numpy as np

    return np.unique(y.to_numpy(dtype=object).astype(str), return_inverse=True)[1]


def _subsample(train: Any, codes: Any, size: int, seed: tuple[int, ...]) -> Any:
    """A seeded subset of ``size`` training rows; stratified (every class kept) for classification."""
    import numpy as np

    if size >= len(train):
        return train
    rng = np.random.default_rng([abs(int(s)) for s in seed])
    if codes is None:
        return np.sort(rng.choice(train, size, replace=False))
    labels = codes[train]
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse)
    exact = counts / counts.sum() * size
    alloc = np.minimum(np.maximum(np.floor(exact).astype(int), 1), counts)
    while alloc.sum() < size:
        room = np.where(alloc < counts, exact - alloc, -np.inf)
        alloc[int(np.argmax(room))] += 1
    while alloc.sum() > size:
        over = np.where(alloc > 1, alloc - exact, -np.inf)
        alloc[int(np.argmax(over))] -= 1
    picked = [rng.choice(train[inverse == c], alloc[c], replace=False) for c in range(len(classes))]
    return np.sort(np.concatenate(picked))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _settings(values: list[Any]) -> tuple[Setting, ...]:
    numeric = all(_is_number(v) for v in values)
    return tuple(Setting(float(v) if numeric else float(i), value_label(v), v) for i, v in enumerate(values))


def _with_current(values: list[Any], current: Any) -> list[Any]:
    """The knob's grid with the run's own value inserted in order, if it is not there."""
    if any(_same_value(v, current) for v in values) or not _is_number(current):
        return values
    numbers = [v for v in values if _is_number(v)]
    ascending = len(numbers) < 2 or numbers[0] <= numbers[-1]
    for i, v in enumerate(values):
        if _is_number(v) and (current < v if ascending else current > v):
            return values[:i] + [current] + values[i:]
    last = max((i for i, v in enumerate(values) if _is_number(v)), default=len(values) - 1)
    return values[: last + 1] + [current] + values[last + 1:]


def _ordered(values: list[Any], knob_values: Sequence[Any] | None) -> list[Any]:
    """A validation curve's settings in one order, computed or loaded: the knob's simple →
    complex order (so a tie for the best goes to the simplest model), else ascending numbers,
    else as given."""
    if knob_values is not None:
        return sorted(values, key=lambda v: knob_rank(knob_values, v))
    if all(_is_number(v) for v in values):
        return sorted(values)
    return values


def _unique_values(values: Sequence[Any], param: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InputError(f"the values of {param} must be a list")
    out: dict[str, Any] = {}
    for v in values:
        try:
            out.setdefault(_value_key(v), v)
        except (TypeError, ValueError):
            raise InputError(f"value {v!r} of {param} cannot be stored (use numbers, text, true/false or null)") from None
    if not out:
        raise InputError(f"no values given for {param}")
    return list(out.values())


def _current_value(run: RunRecord, baseline: Any, param: str | None) -> Any:
    if param is None:
        return None
    if param in run.params:
        return run.params[param]
    try:
        return baseline.estimator(run.task, {}, run.seed).get_params(deep=False).get(param)
    except Exception:
        return None


def _log_x(settings: Sequence[Setting]) -> bool:
    values = [s.value for s in settings]
    if len(values) < 3 or not all(_is_number(v) and v > 0 for v in values):
        return False
    return max(values) / min(values) >= LOG_X_RATIO


def _value_key(value: Any) -> str:
    """The canonical JSON of a value: how a setting is recognised in the store (1 and 1.0 are equal)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _same_value(a: Any, b: Any) -> bool:
    try:
        return _value_key(a) == _value_key(b)
    except (TypeError, ValueError):
        return False


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)

