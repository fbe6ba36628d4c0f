"""What to try next, written from a diagnosis' numbers: the sentence that names the bottleneck, and
ranked advice, each item with the numbers behind it and a command that acts on it.

:mod:`core.analysis.diagnosis` computes the numbers (:class:`Facts`); this module only words them
and reads what else the store holds about the dataset (other runs, stored validation curves).
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Literal

from core.analysis.curve_settings import size_unit
from core.analysis.targets import Target
from core.modeling.metrics import error_of
from core.store import Store
from core.types import RunRecord

Bottleneck = Literal["training", "validation", "test", "none"]
ROWS_PER_FEATURE = 10  # fewer development rows per feature than this: feature selection is worth a look
EXPRESSIVE = ("tree", "forest", "boosting")  # baselines that can fit non-linear structure


@dataclass(frozen=True)
class Advice:
    """One next step: ``kind`` is a stable id, ``text`` says what and why with the numbers,
    ``command`` is how to do it now (or None), ``numbers`` are the values behind it."""

    kind: str
    text: str
    command: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Facts:
    """The numbers of one diagnosis that the advice is written from."""

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
    ref_pool: int | None
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


def validation_error_of(r: RunRecord, metric: str) -> float | None:
    """A run's mean validation error in ``metric`` (``None`` without a finite score)."""
    s = r.summaries.get(metric)
    if s is None or not math.isfinite(s.val_mean):
        return None
    return error_of(metric, s.val_mean)


def _done_error(r: RunRecord, metric: str) -> float:
    """The validation error of a run in ``Facts.done``, which holds only runs that have one."""
    err = validation_error_of(r, metric)
    assert err is not None, f"run {r.id} has no {metric} validation error"
    return err


def train_error_of(r: RunRecord, metric: str) -> float | None:
    """A run's mean training error in ``metric`` (``None`` without a finite score)."""
    s = r.summaries.get(metric)
    if s is None or not math.isfinite(s.train_mean):
        return None
    return error_of(metric, s.train_mean)


def format_error(x: float | None, digits: int = 3) -> str:
    """An error in the advice's sentences: three decimals, tiny non-zero values in scientific notation."""
    if x is None or not math.isfinite(x):
        return "-"
    if x != 0 and abs(x) < 10**-digits:
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def reason(bottleneck: Bottleneck, f: Facts, gaps: list[tuple[Bottleneck, float, float]]) -> str:
    ref = (
        f"the target {format_error(f.ref_err)}"
        if f.ref_source == "target"
        else f"the best validation error so far {format_error(f.ref_err)} (run {f.ref_run}, the best of "
        f"{f.ref_pool} runs: a best of many is optimistic, so a small gap to it may be luck)"
    )
    limits = (
        f"a gap counts above {format_error(max(f.threshold, f.noise))} (the larger of 10% of the dummy's error "
        f"{format_error(f.dummy_err)} and twice the validation error's corrected standard error)"
    )
    if f.run.data_warnings:
        kinds = ", ".join(dict.fromkeys(w.kind for w in f.run.data_warnings))
        return f"the data makes every score optimistic ({kinds}): fix it before reading the gaps; " + _gap_reason(
            bottleneck, f, ref, limits
        )
    return _gap_reason(bottleneck, f, ref, limits)


def _gap_reason(bottleneck: Bottleneck, f: Facts, ref: str, limits: str) -> str:
    if bottleneck == "training":
        return (
            f"underfitting: the avoidable bias {format_error(f.bias)} (train error "
            f"{format_error(f.train_err)} − {ref}) is the "
            f"largest gap; {limits}"
        )
    if bottleneck == "validation":
        return (
            f"overfitting or too little data: the variance {format_error(f.variance)} (validation error "
            f"{format_error(f.val_err)} − "
            f"train error {format_error(f.train_err)}) is the largest gap; {limits}"
        )
    if bottleneck == "test":
        return (
            f"the test error {format_error(f.test_err)} is {format_error(f.test_gap)} above the validation "
            f"error {format_error(f.val_err)}: "
            "the development set has been overfitted, or the test rows differ from it"
        )
    parts = [f"avoidable bias {format_error(f.bias)}", f"variance {format_error(f.variance)}"]
    if f.test_gap is not None:
        parts.append(f"test gap {format_error(f.test_gap)}")
    return f"no large gap: {', '.join(parts)} against {ref}; {limits}"


def ranked_advice(bottleneck: Bottleneck, large: list[tuple[Bottleneck, float, float]], f: Facts) -> list[Advice]:
    """Advice for every large gap, the bottleneck's first, then for the state the run is in; when
    the data makes the scores optimistic (a leaking column, an identifier ...), fixing it comes first,
    and nothing says the run is ready for the test set."""
    out: list[Advice] = _data_advice(f)
    order = sorted(large, key=lambda g: -g[1])
    for name, _, _ in order:
        if name == "validation":  # not the run the training advice already points at
            out += _validation_advice(f, {a.numbers["run"] for a in out if "run" in a.numbers})
        else:
            out += {"training": _training_advice, "test": _test_advice}[name](f)
    if bottleneck == "none" and not f.run.data_warnings:
        out += _none_advice(f)
    if f.target is None and f.ref_run == f.run.id and bottleneck != "test":
        out.append(
            Advice(
                "set_target",
                f"set a target: this run's validation error {format_error(f.val_err)} is the best on "
                f"{f.dataset.name!r} so far, "
                "so nothing shows how much better is possible; a human-level or existing-system score makes the "
                "avoidable bias measurable",
                f"mlloop target {_q(f.dataset.name)} SCORE --metric {f.metric}",
                {"validation_error": f.val_err},
            )
        )
    seen: set[str] = set()
    unique = []
    for a in out:
        if a.kind not in seen:
            seen.add(a.kind)
            unique.append(a)
    return unique


def _data_advice(f: Facts) -> list[Advice]:
    if not f.run.data_warnings:
        return []
    problems = "; ".join(f"{w.fix} ({w.message})" for w in f.run.data_warnings)
    return [
        Advice(
            "fix_data",
            f"fix the data first: {problems}; until then every score on {f.dataset.name!r} is optimistic "
            "and its gaps are not to be believed",
            next((w.fix for w in f.run.data_warnings if w.fix.startswith("mlloop edit ")), None),
            {"problems": [w.kind for w in f.run.data_warnings]},
        )
    ]


def _training_advice(f: Facts) -> list[Advice]:
    out = []
    run, cv = f.run, _cv_args(f.run)
    better = sorted(
        (r for r in f.done if r.model != "dummy" and _done_error(r, f.metric) < f.val_err - f.threshold / 2),
        key=lambda r: _done_error(r, f.metric),
    )
    if better:
        b = better[0]
        out.append(
            Advice(
                "more_expressive_model",
                f"a more expressive model: {b.model} reached "
                f"{format_error(validation_error_of(b, f.metric))} validation error vs this run's "
                f"{format_error(f.val_err)} (run {b.id})",
                f"mlloop compare {run.id} {b.id}",
                {
                    "run": b.id,
                    "model": b.model,
                    "validation_error": validation_error_of(b, f.metric),
                    "this_run": f.val_err,
                },
            )
        )
    else:
        tried = {r.model for r in f.others} | {run.model}
        untried = [m for m in EXPRESSIVE if m not in tried]
        if untried:
            out.append(
                Advice(
                    "more_expressive_model",
                    f"a more expressive model: {', '.join(untried)} not yet run on {f.dataset.name!r}; the avoidable "
                    f"bias is {format_error(f.bias)}",
                    f"mlloop run {_q(f.dataset.name)} --models {','.join(untried)}{cv}",
                    {"avoidable_bias": f.bias},
                )
            )
    warning = _convergence_warning(run)
    if warning:
        name = "maxiter" if run.model == "glm" else "max_iter"
        current = run.params.get(name, 100 if run.model == "glm" else _default(run, name))
        bigger = [int(current) * k for k in (5, 20)] if isinstance(current, int) else [1000, 5000]
        out.append(
            Advice(
                "raise_max_iter",
                f"raise {name} (now {current}): the fit did not converge ({warning})",
                f"mlloop tune {run.id} --param {name}={','.join(map(str, bigger))}",
                {name: current},
            )
        )
    knob = _knob_advice(f, want="complex")
    if knob:
        out.append(knob)
    train_errors = [
        (r, train_error_of(r, f.metric)) for r in [run, *f.done] if r.model in ("tree", "forest", "boosting")
    ]
    flexible = [(r, e) for r, e in train_errors if e is not None]
    if flexible:
        r, e = min(flexible, key=lambda t: t[1])
        if e - f.ref_err > f.threshold:
            out.append(
                Advice(
                    "inspect_labels",
                    "inspect possibly mislabeled or duplicated rows: even the closest training fit "
                    f"({r.model}, run {r.id}) "
                    f"leaves {format_error(e)} training error, {format_error(e - f.ref_err)} above the reference",
                    f"mlloop show {r.id}",
                    {"run": r.id, "train_error": e},
                )
            )
    return out


def _validation_advice(f: Facts, exclude: AbstractSet[int] = frozenset()) -> list[Advice]:
    out = []
    run = f.run
    if f.more_data is True:
        out.append(
            Advice(
                "more_data",
                f"more data: the validation error is still falling ({format_error(f.curve_slope)} per "
                f"doubling of the training {size_unit(run.task)} at {f.curve_size:g} {size_unit(run.task)})",
                more_rows_command(run, f.dataset.name),
                {"slope_per_doubling": f.curve_slope, "size": f.curve_size},
            )
        )
    elif f.more_data is None:
        out.append(
            Advice(
                "learning_curve",
                f"compute the learning curve to see whether more data would close the {format_error(f.variance)} gap",
                f"mlloop curve {run.id}",
                {"variance": f.variance},
            )
        )
    knob = _knob_advice(f, want="simple")
    if knob:
        out.append(knob)
    simpler = [
        r
        for r in f.done
        if r.id != run.id
        and _done_error(r, f.metric) <= f.val_err
        and (_done_error(r, f.metric) - (train_error_of(r, f.metric) or 0.0)) < f.variance - f.threshold
    ]
    simpler = [r for r in simpler if r.model != "dummy" and r.id not in exclude]
    if simpler:
        s = min(simpler, key=lambda r: _done_error(r, f.metric))
        s_train = train_error_of(s, f.metric)
        gap = None if s_train is None else _done_error(s, f.metric) - s_train
        out.append(
            Advice(
                "lower_variance_model",
                f"a model with less variance: {s.model} has validation error "
                f"{format_error(validation_error_of(s, f.metric))} with a "
                f"train–validation gap of {format_error(gap)} vs this run's {format_error(f.val_err)} and "
                f"{format_error(f.variance)} (run {s.id})",
                f"mlloop compare {run.id} {s.id}",
                {"run": s.id, "model": s.model, "validation_error": validation_error_of(s, f.metric), "gap": gap},
            )
        )
    n_features = len(f.dataset.feature_names) or max(f.dataset.n_cols - 1, 0)
    rows = f.dataset.n_dev
    if n_features and rows < ROWS_PER_FEATURE * n_features:
        out.append(
            Advice(
                "feature_selection",
                f"feature selection: {rows} development rows for {n_features} features "
                f"(fewer than {ROWS_PER_FEATURE} rows per feature)",
                None,
                {"rows": rows, "features": n_features},
            )
        )
    return out


def _test_advice(f: Facts) -> list[Advice]:
    used = (
        f"; the test set of {f.dataset.name!r} has been evaluated {f.n_evaluations} times"
        if f.n_evaluations > 1
        else ""
    )
    numbers = {
        "test_error": f.test_err,
        "validation_error": f.val_err,
        "test_gap": f.test_gap,
        "evaluations": f.n_evaluations,
    }
    return [
        Advice(
            "stop_tuning_on_dev",
            f"stop tuning on the development set: the test error {format_error(f.test_err)} is "
            f"{format_error(f.test_gap)} above the "
            f"validation error {format_error(f.val_err)}{used}",
            None,
            numbers,
        ),
        Advice(
            "check_distributions",
            "check that the development and test rows come from the same distribution (time, source, "
            "collection): a model that fits the development rows this well and fails on the test rows "
            "points at a shift",
            f"mlloop datasets {_q(f.dataset.name)}",
            numbers,
        ),
        Advice(
            "fresh_data",
            "get fresh data: a new development set drawn like the test rows (and a new, unseen test set to "
            "measure the result)",
            None,
            numbers,
        ),
    ]


def _none_advice(f: Facts) -> list[Advice]:
    if f.test_err is None:
        return [
            Advice(
                "evaluate_on_test",
                f"evaluate once on the locked test set: avoidable bias {format_error(f.bias)} and variance "
                f"{format_error(f.variance)} are "
                f"both small; the test set of {f.dataset.name!r} has "
                + ("not been used yet" if f.n_evaluations == 0 else f"been used {f.n_evaluations} times already"),
                f"mlloop test {f.run.id}",
                {"evaluations": f.n_evaluations},
            )
        ]
    return [
        Advice(
            "done",
            f"the test error {format_error(f.test_err)} agrees with the validation error "
            f"{format_error(f.val_err)}: report it; every further "
            "test evaluation makes it less trustworthy",
            None,
            {"test_error": f.test_err, "validation_error": f.val_err},
        )
    ]


def _knob_advice(f: Facts, want: Literal["simple", "complex"]) -> Advice | None:
    """Move the complexity knob: from a stored validation curve if there is one, else suggest a search."""
    from core.analysis.curve_settings import knob_rank, value_label
    from core.analysis.curves import load_curve
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
    best_index = curve.best if curve else None
    if curve is not None and best_index is not None:
        best = curve.settings[best_index]
        rows = curve.rows(f.metric)
        best_err = error_of(f.metric, rows[best_index].val_mean)
        here = rows[curve.current].val_mean if curve.current is not None else math.nan
        here_err = error_of(f.metric, here) if math.isfinite(here) else f.val_err
        if knob_rank(values, best.value) == knob_rank(values, current) or here_err - best_err <= f.threshold / 2:
            return None  # the curve shows nothing worth moving the knob for
        direction = "simple" if knob_rank(values, best.value) < knob_rank(values, current) else "complex"
        kind = "regularise" if direction == "simple" else "less_regularisation"
        verb = "regularise" if direction == "simple" else "a more flexible setting"
        return Advice(
            kind,
            f"{verb}: the validation curve peaks at {knob}={best.label} (validation error {format_error(best_err)} vs "
            f"{format_error(here_err)} at this run's {knob}={value_label(current)})",
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


def more_rows_command(run: RunRecord, dataset: str) -> str | None:
    """For a run fitted on a sample: the same run on twice the sample (or on every row)."""
    if run.sample is None:
        return None
    larger = str(2 * run.sample.size) if 2 * run.sample.size < run.sample.of else "all"
    return f"mlloop run {_q(dataset)} --like {run.id} --sample {larger}"


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
