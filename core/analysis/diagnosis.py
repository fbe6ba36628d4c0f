"""The bias/variance diagnosis of a run, and advice that follows from its numbers.

Everything is computed in *error* terms on one metric, so that bigger is always worse and
gaps add up along the chain reference → train → validation → test:

- **error**: ``1 − accuracy`` for classification and **RMSE** for regression by default
  (RMSE stays in the target's units, so a gap reads as "how far off, in the target's units").
  When the dataset has a target score (:func:`core.analysis.targets.set_target`) in another metric, that metric is
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
  over folds, corrected for the folds' correlation as the comparison's t-test is (Nadeau &
  Bengio: ``std · sqrt(1/n + n_validation/n_train)``, which ``--repeats`` cannot shrink below
  one split's worth), for avoidable bias and variance; or of the test error (test gap;
  binomial for error rates, ``sqrt(e(1 − e)/n_test)``). With a true gap of zero, the noise
  guard alone calls it large in about 6% of diagnoses at 5 folds and 4% at 10 (a one-sided
  t test at two standard errors; a simulation test measures it); the 10 % limit lowers that.
- without a target, the reference is the best validation error among the dataset's runs; a
  best of many is optimistic (``reference_runs`` says of how many), and the advice says so.
- the **bottleneck** is the largest of the large gaps (ties go to the earlier stage:
  training, then validation, then test); ``"none"`` when no gap is large.
- **more data helps** when, on the learning curve, the validation error still falls over the
  last three training sizes (least-squares slope against log2 of the size, per fold) by more
  than ``SLOPE_FRACTION`` (2 %) of the dummy's error per doubling of the data, and by more
  than one standard error of that slope across folds; ``None`` when no learning curve is
  stored (``compute_curve=True`` computes it).

Advice (:mod:`core.analysis.advice`) is built from these numbers and from what the store holds (other runs on the
dataset, the run's warnings, stored validation curves, the dataset's shape), ranked by the
size of the gap it addresses; each item names a command that acts on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from core.analysis.advice import (
    Advice,
    Bottleneck,
    Facts,
    format_error,
    more_rows_command,
    ranked_advice,
    reason,
    validation_error_of,
)
from core.analysis.compare import corrected_std_error, val_train_ratio
from core.analysis.curve_settings import size_unit
from core.analysis.targets import get_target
from core.errors import InputError
from core.modeling.metrics import METRICS, error_of, key_metrics
from core.store import Store
from core.types import RunRecord, Task

__all__ = ["Diagnosis", "GAP_FRACTION", "SLOPE_FRACTION", "diagnose"]

GAP_FRACTION = 0.10
SLOPE_FRACTION = 0.02
SLOPE_POINTS = 3  # the learning curve's slope is fitted over its last three sizes
NOISE_SE = 2.0  # a gap must exceed this many standard errors of its estimate
ERROR_RATE_METRICS = ("accuracy", "balanced_accuracy")  # 1 − score is a proportion of rows


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
    reference_runs: int | None  # the best run was the best of this many (a best of many is optimistic)
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
    from core.analysis.holdout import list_test_evaluations
    from core.store.datasets import get_dataset
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
    done = [r for r in others if r.status == "done" and validation_error_of(r, metric) is not None]

    train_err = error_of(metric, summary.train_mean)
    val_err = error_of(metric, summary.val_mean)
    se = (
        corrected_std_error(summary.val_std, summary.n, val_train_ratio(run))
        if summary.n > 1 and math.isfinite(summary.val_std)
        else 0.0
    )

    # the reference: a target, else the best validation error reached on this dataset
    ref_source: Literal["target", "best run"]
    ref_pool: int | None = None  # how many runs the best run was chosen from
    if target is not None:
        ref_err, ref_source, ref_run = target.error, "target", None
    else:
        ref_err, ref_run = val_err, run.id
        for r in done:
            e = validation_error_of(r, metric)
            if e is not None and e < ref_err:
                ref_err, ref_run = e, r.id
        ref_source, ref_pool = "best run", 1 + len(done)

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
        test_se = (
            math.sqrt(max(test_err * (1 - test_err), 0.0) / latest.n_test) if metric in ERROR_RATE_METRICS else 0.0
        )
        test_threshold = max(threshold, NOISE_SE * test_se)
        test_id = latest.id

    # the learning curve at its largest size
    curve = load_curve(store, run.id, "learning")
    if compute_curve and (curve is None or not curve.complete):
        from core.analysis.curves import learning_curve

        curve = learning_curve(store, run.id, jobs=jobs)
    c_size, c_gap, c_slope, more_data = _curve_facts(curve, metric, scale)

    gaps: list[tuple[Bottleneck, float, float]] = [
        ("training", bias, max(threshold, noise)),
        ("validation", variance, max(threshold, noise)),
    ]
    if test_gap is not None and test_threshold is not None:
        gaps.append(("test", test_gap, test_threshold))
    large = [(name, gap, limit) for name, gap, limit in gaps if gap > limit]
    bottleneck: Bottleneck = "none"
    if large:
        bottleneck = max(large, key=lambda g: (round(g[1], 12), -[n for n, _, _ in gaps].index(g[0])))[0]

    facts = Facts(
        run=run,
        dataset=dataset,
        metric=metric,
        target=target,
        others=others,
        done=done,
        train_err=train_err,
        val_err=val_err,
        ref_err=ref_err,
        ref_source=ref_source,
        ref_run=ref_run,
        ref_pool=ref_pool,
        dummy_err=dummy_err,
        threshold=threshold,
        noise=noise,
        bias=bias,
        variance=variance,
        test_err=test_err,
        test_gap=test_gap,
        n_evaluations=len(evaluations),
        curve_size=c_size,
        curve_slope=c_slope,
        more_data=more_data,
        store=store,
    )
    if run.model != "dummy" and val_err > dummy_err + threshold:
        notes.append(
            f"the validation error {format_error(val_err)} is worse than the dummy's "
            f"{format_error(dummy_err)}: this model does "
            "worse than predicting " + ("the mean" if run.task == "regression" else "the majority class")
        )
    if more_data is False:
        assert c_slope is not None and c_size is not None  # more_data is decided from a slope up to a size
        trend, unit = "is flat or rising" if c_slope >= 0 else "falls only slowly", size_unit(run.task)
        notes.append(
            f"more data is unlikely to help much: the validation error {trend} at the largest sizes "
            f"({c_slope:+.3f} per doubling of the training {unit}, up to {c_size:g} {unit})"
        )
    if run.sample is not None:
        notes.append(_sample_note(run, dataset.name, more_data))
    return Diagnosis(
        run_id=run.id,
        dataset=dataset.name,
        dataset_id=dataset.id,
        model=run.model,
        task=run.task,
        metric=metric,
        error_definition=_error_definition(metric),
        train_error=train_err,
        validation_error=val_err,
        validation_error_se=se,
        reference_error=ref_err,
        reference_source=ref_source,
        reference_run_id=ref_run,
        reference_runs=ref_pool,
        dummy_error=dummy_err,
        dummy_run_id=dummy_run,
        avoidable_bias=bias,
        variance=variance,
        threshold=threshold,
        noise=noise,
        test_error=test_err,
        test_gap=test_gap,
        test_threshold=test_threshold,
        test_evaluation_id=test_id,
        test_evaluations=len(evaluations),
        curve_size=c_size,
        curve_gap=c_gap,
        curve_slope=c_slope,
        more_data_helps=more_data,
        bottleneck=bottleneck,
        reason=reason(bottleneck, facts, gaps),
        advice=tuple(ranked_advice(bottleneck, large, facts)),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- numbers


def _error_definition(metric: str) -> str:
    info = METRICS[metric]
    return f"1 − {info.label}" if info.greater_is_better else info.label


def _stored_dummy(run: RunRecord, done: list[RunRecord], metric: str) -> tuple[float | None, int | None]:
    dummies = [r for r in done if r.model == "dummy"]
    dummies.sort(key=lambda r: (r.folds_hash != run.folds_hash, -r.id))
    for r in dummies:
        e = validation_error_of(r, metric)
        if e is not None:
            return e, r.id
    return None, None


def _computed_dummy_error(store: Store, run: RunRecord, metric: str) -> float:
    """The dummy baseline cross-validated on the run's folds, in this process (it fits instantly).
    Only the run's folds are re-created, not its model, so a run of a Python object has a dummy too."""
    from core.data.frames import load_split
    from core.data.ranking import dataset_groups
    from core.modeling.evaluation import build_pipeline, fit_fold, scoring
    from core.modeling.folds import dataset_splits
    from core.modeling.models import BASELINES
    from core.store.datasets import get_dataset

    dataset = get_dataset(store, run.dataset_id)
    X, y = load_split(store, dataset, "dev", run.sample)
    groups = dataset_groups(store, dataset)
    splits, _ = dataset_splits(store, dataset, run.folds, run.repeats, run.seed, X, y, groups, run.sample)
    pipe = build_pipeline(BASELINES["dummy"], dataset, X, {}, run.seed)
    scorers = scoring(dataset.task, groups)
    scores = []
    for i, (train, val) in enumerate(splits):
        result = fit_fold(0, i, pipe, X, y, train, val, scorers, 1)
        if result.get("fold") is not None:
            v = result["fold"].validation.get(metric, math.nan)
            if math.isfinite(v):
                scores.append(v)
    return error_of(metric, sum(scores) / len(scores)) if scores else math.nan


def _sample_note(run: RunRecord, dataset: str, more_data: bool | None) -> str:
    """Whether a run fitted on a sample would gain from more of the development rows, from its learning curve."""
    assert run.sample is not None
    fitted = run.sample.describe()
    if more_data:
        return (
            f"{fitted} and its validation error still falls at the largest sizes: more rows would help: re-run "
            f"with a larger --sample or without it (`{more_rows_command(run, dataset)}`)"
        )
    if more_data is False:
        return f"{fitted}; its learning curve is flat at the largest sizes: more rows are unlikely to help"
    return f"{fitted}; whether more rows would help needs its learning curve (`mlloop curve {run.id}`)"


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
    gap = (
        error_of(metric, last.val_mean) - error_of(metric, last.train_mean) if math.isfinite(last.train_mean) else None
    )
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
    se = (
        math.sqrt(sum((s - slope) ** 2 for s in slopes) / (len(slopes) - 1)) / math.sqrt(len(slopes))
        if len(slopes) > 1
        else 0.0
    )
    helps = -slope > SLOPE_FRACTION * scale and -slope > se
    return last.x, gap, slope, helps


def _ols_slope(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0
