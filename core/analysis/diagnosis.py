"""The bias/variance diagnosis of a run, and advice that follows from its numbers.

Everything is computed in *error* terms on one metric, so that bigger is always worse and
gaps add up along the chain reference → train → validation → test:

- **error**: ``1 − accuracy`` for classification and **RMSE** for regression by default
  (RMSE stays in the target's units, so a gap reads as "how far off, in the target's units").
  When the dataset has a target score (:func:`set_target`) in another metric, that metric is
  used throughout: ``1 − score`` for scores where higher is better (accuracy, balanced
  accuracy, macro F1, ROC AUC, R²), the loss itself for losses (RMSE, MAE, log loss).
- **reference error**: the dataset's target (a human-level, existing-system or required
  score the user sets), else the best mean validation error among finished runs on the
  dataset (an upper bound on the achievable error: what has been reached so far).
- **dummy error**: the dummy baseline's mean validation error (a stored dummy run on the
  dataset, else computed on the run's folds): the error of knowing nothing but the target's
  distribution. It is the scale of the problem.
- **avoidable bias** = train error − reference; **variance** = validation error − train error;
  **test gap** = test error − validation error (from the run's latest test evaluation).

Thresholds (all relative to the scale of the problem, so they mean the same on a 2-class
problem, a 20-class one or a regression in dollars):

- a gap is *large* when it exceeds ``GAP_FRACTION`` (10 %) of the dummy's error — i.e. it
  costs more than a tenth of everything a model can gain over knowing nothing — and is
  larger than the noise of the estimate: twice the standard error of the validation mean
  over folds (avoidable bias, variance), or of the test error (test gap; binomial for error
  rates, ``sqrt(e(1 − e)/n_test)``).
- the **bottleneck** is the largest of the large gaps (ties go to the earlier stage:
  training, then validation, then test); ``"none"`` when no gap is large.
- **more data helps** when, on the learning curve, the validation error still falls over the
  last three training sizes (least-squares slope against log2 of the size, per fold) by more
  than ``SLOPE_FRACTION`` (2 %) of the dummy's error per doubling of the data, and by more
  than one standard error of that slope across folds; ``None`` when no learning curve is
  stored (``compute_curve=True`` computes it).

Advice is built from these numbers and from what the store holds (other runs on the
dataset, the run's warnings, stored validation curves, the dataset's shape), ranked by the
size of the gap it addresses; each item names a command that acts on it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import InputError
from core.modeling.metrics import METRICS, key_metrics, resolve_metric
from core.store import Store
from core.store import targets as target_store
from core.store.targets import StoredTarget
from core.types import RunRecord, Task

__all__ = [
    "Advice",
    "Bottleneck",
    "Diagnosis",
    "Target",
    "GAP_FRACTION",
    "SLOPE_FRACTION",
    "clear_target",
    "diagnose",
    "error_of",
    "get_target",
    "set_target",
]

Bottleneck = Literal["training", "validation", "test", "none"]
GAP_FRACTION = 0.10
SLOPE_FRACTION = 0.02
SLOPE_POINTS = 3  # the learning curve's slope is fitted over its last three sizes
NOISE_SE = 2.0  # a gap must exceed this many standard errors of its estimate
ROWS_PER_FEATURE = 10  # fewer development rows per feature than this: feature selection is worth a look
EXPRESSIVE = ("tree", "forest", "boosting")  # baselines that can fit non-linear structure
ERROR_RATE_METRICS = ("accuracy", "balanced_accuracy")  # 1 − score is a proportion of rows


@dataclass(frozen=True)
class Target:
    """A dataset's target score: human-level, an existing system's, or what the task requires."""

    dataset_id: int
    dataset: str
    metric: str
    score: float
    note: str | None
    set_at: float

    @property
    def error(self) -> float:
        return error_of(self.metric, self.score)


@dataclass(frozen=True)
class Advice:
    """One next step: ``kind`` is a stable id, ``text`` says what and why with the numbers,
    ``command`` is how to do it now (or None), ``numbers`` are the values behind it."""

    kind: str
    text: str
    command: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnosis:
    """Where a run's error comes from, and what to try next (see the module docstring)."""

    run_id: int
    dataset: str
    dataset_id: int
    model: str
    task: Task
    metric: str
    error_definition: str
    train_error: float
    validation_error: float
    validation_error_se: float
    reference_error: float
    reference_source: Literal["target", "best run"]
    reference_run_id: int | None
    dummy_error: float
    dummy_run_id: int | None  # None: computed on the run's folds, no dummy run stored
    avoidable_bias: float
    variance: float
    threshold: float  # a gap must exceed this (GAP_FRACTION × dummy error) to count
    noise: float  # ... and this (NOISE_SE × the validation error's standard error)
    test_error: float | None
    test_gap: float | None
    test_threshold: float | None
    test_evaluation_id: int | None
    test_evaluations: int  # on this dataset, by any run
    curve_size: float | None  # the learning curve's largest training size
    curve_gap: float | None  # validation − train error there
    curve_slope: float | None  # validation error change per doubling of the data there (< 0: still falling)
    more_data_helps: bool | None
    bottleneck: Bottleneck
    reason: str
    advice: tuple[Advice, ...]
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- targets


def error_of(metric: str, score: float) -> float:
    """A score as an error: ``1 − score`` where higher is better, the loss itself otherwise."""
    info = METRICS.get(metric)
    if info is None:
        raise InputError(f"unknown metric {metric!r}")
    return 1.0 - score if info.greater_is_better else score


def set_target(store: Store, dataset: str | int, score: float, metric: str | None = None,
               note: str | None = None) -> Target:
    """Set (or replace) the dataset's target score, in ``metric`` (default: accuracy, or RMSE)."""
    from core.store.datasets import get_dataset

    info = get_dataset(store, dataset)
    metric = resolve_metric(metric, info.task).name
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise InputError(f"a target score must be a number, got {score!r}") from None
    if not math.isfinite(score):
        raise InputError(f"a target score must be finite, got {score}")
    m = METRICS[metric]
    if m.greater_is_better and score > 1.0:
        raise InputError(f"a {m.label} target must be at most 1, got {score:g}")
    if m.greater_is_better and metric != "r2" and score < 0.0:
        raise InputError(f"a {m.label} target must be between 0 and 1, got {score:g}")
    if not m.greater_is_better and score < 0.0:
        raise InputError(f"a {m.label} target cannot be negative, got {score:g}")
    stored = StoredTarget(metric, score, " ".join(str(note).split()) if note else None, time.time())
    target_store.save(store, info.id, stored)
    return Target(info.id, info.name, *stored)


def get_target(store: Store, dataset: str | int) -> Target | None:
    from core.store.datasets import get_dataset

    info = get_dataset(store, dataset)
    stored = target_store.load(store, info.id)
    return None if stored is None else Target(info.id, info.name, *stored)


def clear_target(store: Store, dataset: str | int) -> bool:
    """Remove the dataset's target; returns whether there was one."""
    from core.store.datasets import get_dataset

    return target_store.delete(store, get_dataset(store, dataset).id)


# --------------------------------------------------------------------------- diagnosis


def diagnose(store: Store, run_id: int | str, *, compute_curve: bool = False, jobs: int = 1) -> Diagnosis:
    """Diagnose a run: its errors, the avoidable bias, the variance, the bottleneck and ranked advice.

    The learning curve is read from the store (``mlloop curve RUN``); with ``compute_curve``
    it is computed first when missing or incomplete.
    """
    if compute_curve:  # writes curve points: no shared read connection
        return _diagnose(store, run_id, compute_curve, jobs)
    with store.reading():
        return _diagnose(store, run_id, compute_curve, jobs)


def _diagnose(store: Store, run_id: int | str, compute_curve: bool, jobs: int) -> Diagnosis:
    from core.analysis.curves import load_curve
    from core.store.datasets import get_dataset
    from core.analysis.holdout import list_test_evaluations
    from core.store.runs import get_run, list_runs

    run = get_run(store, run_id)
    dataset = get_dataset(store, run.dataset_id)
    target = get_target(store, run.dataset_id)
    metric = target.metric if target else key_metrics(run.task)[0].name
    summary = run.summaries.get(metric)
    if summary is None or not math.isfinite(summary.val_mean) or not math.isfinite(summary.train_mean):
        raise InputError(f"run {run.id} has no finished folds with {metric} scores to diagnose (status {run.status})")
    notes: list[str] = []
    others = [r for r in list_runs(store, run.dataset_id) if r.id != run.id]
    done = [r for r in others if r.status == "done" and _val_error(r, metric) is not None]

    train_err = error_of(metric, summary.train_mean)
    val_err = error_of(metric, summary.val_mean)
    se = summary.val_std / math.sqrt(summary.n) if summary.n > 1 and math.isfinite(summary.val_std) else 0.0

    # the reference: a target, else the best validation error reached on this dataset
    if target is not None:
        ref_err, ref_source, ref_run = target.error, "target", None
    else:
        ref_err, ref_run = val_err, run.id
        for r in done:
            e = _val_error(r, metric)
            if e < ref_err:
                ref_err, ref_run = e, r.id
        ref_source = "best run"

    # the dummy: a stored dummy run (same folds first), else computed on this run's folds
    dummy_err, dummy_run = _stored_dummy(run, done, metric)
    if run.model == "dummy":
        dummy_err, dummy_run = val_err, run.id
    if dummy_err is None:
        dummy_err, dummy_run = _computed_dummy_error(store, run, metric), None
    scale = dummy_err if math.isfinite(dummy_err) and dummy_err > 0 else max(val_err, 1e-12)
    if not (math.isfinite(dummy_err) and dummy_err > 0):
        notes.append("the dummy's error is zero: gaps are measured against this run's validation error instead")

    threshold = GAP_FRACTION * scale
    noise = NOISE_SE * se
    bias = train_err - ref_err
    variance = val_err - train_err

    # the test set: this run's latest evaluation
    evaluations = list_test_evaluations(store, dataset=run.dataset_id)
    mine = [e for e in evaluations if e.run_id == run.id and math.isfinite(e.scores.get(metric, math.nan))]
    test_err = test_gap = test_threshold = test_id = None
    if mine:
        latest = mine[-1]
        test_err = error_of(metric, latest.scores[metric])
        test_gap = test_err - val_err
        test_se = math.sqrt(max(test_err * (1 - test_err), 0.0) / latest.n_test) if metric in ERROR_RATE_METRICS else 0.0
        test_threshold = max(threshold, NOISE_SE * test_se)
        test_id = latest.id

    # the learning curve at its largest size
    curve = load_curve(store, run.id, "learning")
    if compute_curve and (curve is None or not curve.complete):
        from core.analysis.curves import learning_curve

        curve = learning_curve(store, run.id, jobs=jobs)
    c_size, c_gap, c_slope, more_data = _curve_facts(curve, metric, scale)

    gaps = [("training", bias, max(threshold, noise)), ("validation", variance, max(threshold, noise))]
    if test_gap is not None:
        gaps.append(("test", test_gap, test_threshold))
    large = [(name, gap, limit) for name, gap, limit in gaps if gap > limit]
    bottleneck: Bottleneck = "none"
    if large:
        bottleneck = max(large, key=lambda g: (round(g[1], 12), -[n for n, _, _ in gaps].index(g[0])))[0]

    facts = _Facts(
        run=run, dataset=dataset, metric=metric, target=target, others=others, done=done,
        train_err=train_err, val_err=val_err, ref_err=ref_err, ref_source=ref_source, ref_run=ref_run,
        dummy_err=dummy_err, threshold=threshold, noise=noise, bias=bias, variance=variance,
        test_err=test_err, test_gap=test_gap, n_evaluations=len(evaluations), curve_size=c_size,
        curve_slope=c_slope, more_data=more_data, store=store,
    )
    if run.model != "dummy" and val_err > dummy_err + threshold:
        notes.append(f"the validation error {_f(val_err)} is worse than the dummy's {_f(dummy_err)}: this model does "
                     "worse than predicting " + ("the mean" if run.task == "regression" else "the majority class"))
    if more_data is False:
        trend = "is flat or rising" if c_slope >= 0 else "falls only slowly"
        notes.append(f"more data is unlikely to help much: the validation error {trend} at the largest sizes "
                     f"({c_slope:+.3f} per doubling of the training rows, up to {c_size:g} rows)")
    return Diagnosis(
        run_id=run.id, dataset=dataset.name, dataset_id=dataset.id, model=run.model, task=run.task,
        metric=metric, error_definition=_error_definition(metric), train_error=train_err,
        validation_error=val_err, validation_error_se=se, reference_error=ref_err,
        reference_source=ref_source, reference_run_id=ref_run, dummy_error=dummy_err, dummy_run_id=dummy_run,
        avoidable_bias=bias, variance=variance, threshold=threshold, noise=noise, test_error=test_err,
        test_gap=test_gap, test_threshold=test_threshold, test_evaluation_id=test_id,
        test_evaluations=len(evaluations), curve_size=c_size, curve_gap=c_gap, curve_slope=c_slope,
        more_data_helps=more_data, bottleneck=bottleneck, reason=_reason(bottleneck, facts, gaps),
        advice=tuple(_advice(bottleneck, large, facts)), notes=tuple(notes),
    )


# --------------------------------------------------------------------------- numbers


@dataclass
class _Facts:
    run: RunRecord
    dataset: Any
    metric: str
    target: Target | None
    others: list[RunRecord]
    done: list[RunRecord]
    train_err: float
    val_err: float
    ref_err: float
    ref_source: str
    ref_run: int | None
    dummy_err: float
    threshold: float
    noise: float
    bias: float
    variance: float
    test_err: float | None
    test_gap: float | None
    n_evaluations: int
    curve_size: float | None
    curve_slope: float | None
    more_data: bool | None
    store: Store


def _error_definition(metric: str) -> str:
    info = METRICS[metric]
    return f"1 − {info.label}" if info.greater_is_better else info.label


def _val_error(r: RunRecord, metric: str) -> float | None:
    s = r.summaries.get(metric)
    if s is None or not math.isfinite(s.val_mean):
        return None
    return error_of(metric, s.val_mean)


def _train_error(r: RunRecord, metric: str) -> float | None:
    s = r.summaries.get(metric)
    if s is None or not math.isfinite(s.train_mean):
        return None
    return error_of(metric, s.train_mean)


def _stored_dummy(run: RunRecord, done: list[RunRecord], metric: str) -> tuple[float | None, int | None]:
    dummies = [r for r in done if r.model == "dummy"]
    dummies.sort(key=lambda r: (r.folds_hash != run.folds_hash, -r.id))
    for r in dummies:
        e = _val_error(r, metric)
        if e is not None:
            return e, r.id
    return None, None


def _computed_dummy_error(store: Store, run: RunRecord, metric: str) -> float:
    """The dummy baseline cross-validated on the run's folds, in this process (it fits instantly)."""
    from core.analysis.curves import RunContext
    from core.modeling.evaluation import fit_fold, build_pipeline, scoring
    from core.modeling.models import BASELINES

    ctx = RunContext.load(store, run.id)
    pipe = build_pipeline(BASELINES["dummy"], ctx.dataset, ctx.X, {}, run.seed)
    scorers = scoring(ctx.dataset.task)
    scores = []
    for i, (train, val) in enumerate(ctx.splits):
        result = fit_fold(0, i, pipe, ctx.X, ctx.y, train, val, scorers, 1)
        if result.get("fold") is not None:
            v = result["fold"].validation.get(metric, math.nan)
            if math.isfinite(v):
                scores.append(v)
    return error_of(metric, sum(scores) / len(scores)) if scores else math.nan


def _curve_facts(curve: Any, metric: str, scale: float) -> tuple[float | None, float | None, float | None, bool | None]:
    """Size, gap and slope at the learning curve's largest size, and whether more data helps.

    The slope is the least-squares slope of the validation error against log2(training
    size) over the last ``SLOPE_POINTS`` sizes (so: the change per doubling of the data),
    fitted per fold; more data helps when the mean slope falls faster than ``SLOPE_FRACTION``
    of the dummy's error per doubling and by more than one standard error across folds.
    """
    if curve is None:
        return None, None, None, None
    complete = [r for r in curve.rows(metric) if r.n >= curve.n_folds and math.isfinite(r.val_mean)]
    if not complete:
        return None, None, None, None
    last = complete[-1]
    gap = error_of(metric, last.val_mean) - error_of(metric, last.train_mean) if math.isfinite(last.train_mean) else None
    tail = [r.x for r in complete[-SLOPE_POINTS:] if r.x > 0]
    if len(tail) < 2:
        return last.x, gap, None, None
    slopes = []
    for fold in range(curve.n_folds):
        xs, es = [], []
        for p in curve.points:
            v = p.validation.get(metric, math.nan)
            if p.fold_index == fold and p.x in tail and math.isfinite(v):
                xs.append(math.log2(p.x))
                es.append(error_of(metric, v))
        if len(xs) == len(tail):
            slopes.append(_ols_slope(xs, es))
    if not slopes:
        return last.x, gap, None, None
    slope = sum(slopes) / len(slopes)
    se = (math.sqrt(sum((s - slope) ** 2 for s in slopes) / (len(slopes) - 1)) / math.sqrt(len(slopes))
          if len(slopes) > 1 else 0.0)
    helps = -slope > SLOPE_FRACTION * scale and -slope > se
    return last.x, gap, slope, helps


def _ols_slope(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0


# --------------------------------------------------------------------------- words


def _f(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x != 0 and abs(x) < 10 ** -digits:
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def _reason(bottleneck: Bottleneck, f: _Facts, gaps: list[tuple[str, float, float]]) -> str:
    ref = (f"the target {_f(f.ref_err)}" if f.ref_source == "target"
           else f"the best validation error so far {_f(f.ref_err)} (run {f.ref_run})")
    limits = (f"a gap counts above {_f(max(f.threshold, f.noise))} (the larger of 10% of the dummy's error "
              f"{_f(f.dummy_err)} and twice the validation standard error)")
    if bottleneck == "training":
        return (f"underfitting: the avoidable bias {_f(f.bias)} (train error {_f(f.train_err)} − {ref}) is the "
                f"largest gap; {limits}")
    if bottleneck == "validation":
        return (f"overfitting or too little data: the variance {_f(f.variance)} (validation error {_f(f.val_err)} − "
                f"train error {_f(f.train_err)}) is the largest gap; {limits}")
    if bottleneck == "test":
        return (f"the test error {_f(f.test_err)} is {_f(f.test_gap)} above the validation error {_f(f.val_err)}: "
                "the development set has been overfitted, or the test rows differ from it")
    parts = [f"avoidable bias {_f(f.bias)}", f"variance {_f(f.variance)}"]
    if f.test_gap is not None:
        parts.append(f"test gap {_f(f.test_gap)}")
    return f"no large gap: {', '.join(parts)} against {ref}; {limits}"


def _advice(bottleneck: Bottleneck, large: list[tuple[str, float, float]], f: _Facts) -> list[Advice]:
    """Advice for every large gap, the bottleneck's first, then for the state the run is in."""
    out: list[Advice] = []
    order = sorted(large, key=lambda g: -g[1])
    for name, _, _ in order:
        if name == "validation":  # not the run the training advice already points at
            out += _validation_advice(f, {a.numbers["run"] for a in out if "run" in a.numbers})
        else:
            out += {"training": _training_advice, "test": _test_advice}[name](f)
    if bottleneck == "none":
        out += _none_advice(f)
    if f.target is None and f.ref_run == f.run.id and bottleneck != "test":
        out.append(Advice(
            "set_target",
            f"set a target: this run's validation error {_f(f.val_err)} is the best on {f.dataset.name!r} so far, "
            "so nothing shows how much better is possible; a human-level or existing-system score makes the "
            "avoidable bias measurable",
            f"mlloop target {_q(f.dataset.name)} SCORE --metric {f.metric}",
            {"validation_error": f.val_err},
        ))
    seen: set[str] = set()
    unique = []
    for a in out:
        if a.kind not in seen:
            seen.add(a.kind)
            unique.append(a)
    return unique


def _training_advice(f: _Facts) -> list[Advice]:
    out = []
    run, cv = f.run, _cv_args(f.run)
    better = sorted((r for r in f.done if r.model != "dummy" and _val_error(r, f.metric) < f.val_err - f.threshold / 2),
                    key=lambda r: _val_error(r, f.metric))
    if better:
        b = better[0]
        out.append(Advice(
            "more_expressive_model",
            f"a more expressive model: {b.model} reached {_f(_val_error(b, f.metric))} validation error vs this run's "
            f"{_f(f.val_err)} (run {b.id})",
            f"mlloop compare {run.id} {b.id}",
            {"run": b.id, "model": b.model, "validation_error": _val_error(b, f.metric), "this_run": f.val_err},
        ))
    else:
        tried = {r.model for r in f.others} | {run.model}
        untried = [m for m in EXPRESSIVE if m not in tried]
        if untried:
            out.append(Advice(
                "more_expressive_model",
                f"a more expressive model: {', '.join(untried)} not yet run on {f.dataset.name!r}; the avoidable "
                f"bias is {_f(f.bias)}",
                f"mlloop run {_q(f.dataset.name)} --models {','.join(untried)}{cv}",
                {"avoidable_bias": f.bias},
            ))
    warning = _convergence_warning(run)
    if warning:
        name = "maxiter" if run.model == "glm" else "max_iter"
        current = run.params.get(name, 100 if run.model == "glm" else _default(run, name))
        bigger = [int(current) * k for k in (5, 20)] if isinstance(current, int) else [1000, 5000]
        out.append(Advice(
            "raise_max_iter",
            f"raise {name} (now {current}): the fit did not converge ({warning})",
            f"mlloop tune {run.id} --param {name}={','.join(map(str, bigger))}",
            {name: current},
        ))
    knob = _knob_advice(f, want="complex")
    if knob:
        out.append(knob)
    flexible = [(r, _train_error(r, f.metric)) for r in [run, *f.done] if r.model in ("tree", "forest", "boosting")]
    flexible = [(r, e) for r, e in flexible if e is not None]
    if flexible:
        r, e = min(flexible, key=lambda t: t[1])
        if e - f.ref_err > f.threshold:
            out.append(Advice(
                "inspect_labels",
                f"inspect possibly mislabeled or duplicated rows: even the closest training fit ({r.model}, run {r.id}) "
                f"leaves {_f(e)} training error, {_f(e - f.ref_err)} above the reference",
                f"mlloop show {r.id}",
                {"run": r.id, "train_error": e},
            ))
    return out


def _validation_advice(f: _Facts, exclude: set[int] = frozenset()) -> list[Advice]:
    out = []
    run, cv = f.run, _cv_args(f.run)
    if f.more_data is True:
        out.append(Advice(
            "more_data",
            f"more data: the validation error is still falling ({_f(f.curve_slope)} per doubling of the training "
            f"rows at {f.curve_size:g} rows)",
            None,
            {"slope_per_doubling": f.curve_slope, "size": f.curve_size},
        ))
    elif f.more_data is None:
        out.append(Advice(
            "learning_curve",
            f"compute the learning curve to see whether more data would close the {_f(f.variance)} gap",
            f"mlloop curve {run.id}",
            {"variance": f.variance},
        ))
    knob = _knob_advice(f, want="simple")
    if knob:
        out.append(knob)
    simpler = [r for r in f.done if r.id != run.id and _val_error(r, f.metric) <= f.val_err
               and (_val_error(r, f.metric) - (_train_error(r, f.metric) or 0.0)) < f.variance - f.threshold]
    simpler = [r for r in simpler if r.model != "dummy" and r.id not in exclude]
    if simpler:
        s = min(simpler, key=lambda r: _val_error(r, f.metric))
        gap = _val_error(s, f.metric) - _train_error(s, f.metric)
        out.append(Advice(
            "lower_variance_model",
            f"a model with less variance: {s.model} has validation error {_f(_val_error(s, f.metric))} with a "
            f"train–validation gap of {_f(gap)} vs this run's {_f(f.val_err)} and {_f(f.variance)} (run {s.id})",
            f"mlloop compare {run.id} {s.id}",
            {"run": s.id, "model": s.model, "validation_error": _val_error(s, f.metric), "gap": gap},
        ))
    n_features = len(f.dataset.feature_names) or max(f.dataset.n_cols - 1, 0)
    rows = f.dataset.n_dev
    if n_features and rows < ROWS_PER_FEATURE * n_features:
        out.append(Advice(
            "feature_selection",
            f"feature selection: {rows} development rows for {n_features} features "
            f"(fewer than {ROWS_PER_FEATURE} rows per feature)",
            None,
            {"rows": rows, "features": n_features},
        ))
    return out


def _test_advice(f: _Facts) -> list[Advice]:
    used = (f"; the test set of {f.dataset.name!r} has been evaluated {f.n_evaluations} times"
            if f.n_evaluations > 1 else "")
    numbers = {"test_error": f.test_err, "validation_error": f.val_err, "test_gap": f.test_gap,
               "evaluations": f.n_evaluations}
    return [
        Advice("stop_tuning_on_dev",
               f"stop tuning on the development set: the test error {_f(f.test_err)} is {_f(f.test_gap)} above the "
               f"validation error {_f(f.val_err)}{used}", None, numbers),
        Advice("check_distributions",
               "check that the development and test rows come from the same distribution (time, source, "
               "collection): a model that fits the development rows this well and fails on the test rows "
               "points at a shift", f"mlloop datasets {_q(f.dataset.name)}", numbers),
        Advice("fresh_data",
               "get fresh data: a new development set drawn like the test rows (and a new, unseen test set to "
               "measure the result)", None, numbers),
    ]


def _none_advice(f: _Facts) -> list[Advice]:
    if f.test_err is None:
        return [Advice(
            "evaluate_on_test",
            f"evaluate once on the locked test set: avoidable bias {_f(f.bias)} and variance {_f(f.variance)} are "
            f"both small; the test set of {f.dataset.name!r} has "
            + ("not been used yet" if f.n_evaluations == 0 else f"been used {f.n_evaluations} times already"),
            f"mlloop test {f.run.id}",
            {"evaluations": f.n_evaluations},
        )]
    return [Advice(
        "done",
        f"the test error {_f(f.test_err)} agrees with the validation error {_f(f.val_err)}: report it; every further "
        "test evaluation makes it less trustworthy",
        None,
        {"test_error": f.test_err, "validation_error": f.val_err},
    )]


def _knob_advice(f: _Facts, want: Literal["simple", "complex"]) -> Advice | None:
    """Move the complexity knob: from a stored validation curve if there is one, else suggest a search."""
    from core.analysis.curves import knob_rank, load_curve, value_label
    from core.modeling.models import BASELINES

    run = f.run
    baseline = BASELINES.get(run.model)
    if baseline is None:
        return None
    knob, values = baseline.knob_for(run.task)
    if knob is None:
        return None
    current = run.params.get(knob, _default(run, knob))
    curve = load_curve(f.store, run.id, "validation", knob)
    best = curve.best_setting if curve else None
    if curve is not None and best is not None:
        rows = curve.rows(f.metric)
        best_err = error_of(f.metric, rows[curve.best].val_mean)
        here = rows[curve.current].val_mean if curve.current is not None else math.nan
        here_err = error_of(f.metric, here) if math.isfinite(here) else f.val_err
        if knob_rank(values, best.value) == knob_rank(values, current) or here_err - best_err <= f.threshold / 2:
            return None  # the curve shows nothing worth moving the knob for
        direction = "simple" if knob_rank(values, best.value) < knob_rank(values, current) else "complex"
        kind = "regularise" if direction == "simple" else "less_regularisation"
        verb = "regularise" if direction == "simple" else "a more flexible setting"
        return Advice(
            kind,
            f"{verb}: the validation curve peaks at {knob}={best.label} (validation error {_f(best_err)} vs "
            f"{_f(here_err)} at this run's {knob}={value_label(current)})",
            f"mlloop tune {run.id} --param {knob}={_json(best.value)}",
            {knob: best.value, "validation_error": best_err, "current": current, "current_error": here_err},
        )
    rank = knob_rank(values, current)
    side = [v for v in values if (knob_rank(values, v) < rank if want == "simple" else knob_rank(values, v) > rank)]
    if not side:
        return None
    word = "simpler" if want == "simple" else "more complex"
    return Advice(
        "tune_" + knob,
        f"search the complexity knob: {knob} is {value_label(current)}; try {word} settings "
        f"({', '.join(value_label(v) for v in side)}), or draw the validation curve first (`mlloop curve {run.id} "
        "--validation`)",
        f"mlloop tune {run.id} --param {knob}={','.join(_json(v) for v in side)}",
        {knob: current},
    )


def _convergence_warning(run: RunRecord) -> str | None:
    for w in run.warnings:
        if "ConvergenceWarning" in w or "converge" in w.lower():
            return w[:160]
    if run.glm is not None and not run.glm.converged:
        return "the GLM's solver did not converge"
    return None


def _default(run: RunRecord, name: str) -> Any:
    from core.modeling.models import BASELINES

    try:
        return BASELINES[run.model].estimator(run.task, {}, run.seed).get_params(deep=False).get(name)
    except Exception:
        return None


def _cv_args(run: RunRecord) -> str:
    args = f" --cv {run.folds}"
    if run.repeats != 1:
        args += f" --repeats {run.repeats}"
    if run.seed != 0:
        args += f" --seed {run.seed}"
    return args


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _q(text: str) -> str:
    import shlex

    return shlex.quote(text)

