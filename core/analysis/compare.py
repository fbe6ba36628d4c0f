"""Comparing runs honestly: mean differences, and a significance test only where it is valid.

Two runs can be tested against each other only when they were scored on the very same
validation folds (same dataset, same ``folds_hash``, every fold finished): then each fold
gives one paired difference. Those differences are not independent (the training sets of
k-fold CV overlap), so the plain paired t-test is far too confident. We use the *corrected
resampled t-test* of Nadeau & Bengio (2003, "Inference for the generalization error",
Machine Learning 52:239–281), as recommended by Bouckaert & Frank (2004):

    t = mean(d) / sqrt((1/J + n_test/n_train) · var(d, ddof=1)),   df = J − 1

over the J = k × r shared folds. Runs on two versions of one dataset (:mod:`core.data.versions`)
share their folds too: a version keeps each row in the fold the root dataset's splitter gave it
(:mod:`core.modeling.folds`), so runs with the same ``folds_hash`` are paired on fold index, each
fold differing only by the rows an edit dropped; the comparison says what changed (``data_changes``).
Runs that do not share folds still get their mean
differences (``deltas``), but their pair is marked ``pairable=False`` with the reason in
plain words, and no p-value is invented.

Every non-reference run is tested against the reference run (``a`` = the run,
``b`` = the reference, differences are a − b, as are the ``deltas``). Nothing here
imports numpy or scipy until a comparison is computed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.modeling.metrics import METRICS, Metric, format_delta, format_mean_std, resolve_metric
from core.store import Store
from core.store.runs import get_run, parse_run_id
from core.types import RunRecord

__all__ = [
    "Comparison",
    "PairTest",
    "compare_runs",
    "comparison_table",
    "pair_test",
    "param_value",
    "TEST_NAME",
]

TEST_NAME = "corrected resampled t-test"
TEST_REFERENCE = "Nadeau & Bengio (2003), Inference for the generalization error"
ALPHA = 0.05
_MISSING = object()  # a parameter a run does not set (it uses the estimator's default)


@dataclass(frozen=True)
class PairTest:
    """Run ``a`` against run ``b`` on one metric. ``mean_diff`` is a − b (raw, not direction-adjusted).

    ``pairable`` is False when no valid paired test exists (``reason`` says why, and ``t``,
    ``p`` and ``df`` are NaN). ``explanation`` is one plain line for people.
    """

    a_id: int
    b_id: int
    metric: str
    mean_diff: float
    t: float
    p: float
    df: int
    n_folds: int
    pairable: bool
    reason: str | None
    explanation: str
    n_dropped: int = 0  # shared folds left out because a score was missing or not finite


@dataclass(frozen=True)
class Comparison:
    """Several runs side by side, relative to a reference run.

    ``deltas[run_id][metric]`` is the run's mean validation score minus the reference's
    (0.0 for the reference itself; NaN where either mean is missing). ``differing_params``
    names the parameters whose values differ across the runs, ``"model"`` included.
    """

    runs: tuple[RunRecord, ...]
    reference_id: int
    metric: str
    differing_params: frozenset[str]
    deltas: Mapping[int, Mapping[str, float]]
    pairs: tuple[PairTest, ...]
    data_changes: tuple[str, ...] = ()  # runs on versions of one dataset: what each version changed

    @property
    def reference(self) -> RunRecord:
        return next(r for r in self.runs if r.id == self.reference_id)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric any of the runs has, in the canonical order of ``core.modeling.metrics.METRICS``."""
        present = {m for r in self.runs for m in r.summaries}
        return tuple(m for m in METRICS if m in present) + tuple(sorted(present - set(METRICS)))


def compare_runs(
    store: Store,
    run_ids: Sequence[int | str],
    reference: int | str | None = None,
    metric: str | None = None,
) -> Comparison:
    """Compare at least two runs against a reference (default: the first run given).

    ``metric`` defaults to the reference's key metric (accuracy for classification, RMSE for
    regression). Unknown runs raise ``NotFoundError``; fewer than two distinct runs, a
    reference that is not among them, or an unknown metric raise ``InputError``.
    """
    ids = list(dict.fromkeys(parse_run_id(r) for r in run_ids))
    if len(ids) < 2:
        raise InputError(f"a comparison needs at least two different runs, got {len(ids)}")
    ref_id = ids[0] if reference is None else parse_run_id(reference)
    if ref_id not in ids:
        raise InputError(f"reference run {ref_id} is not one of the compared runs ({', '.join(map(str, ids))})")
    runs = tuple(get_run(store, r) for r in ids)
    ref = next(r for r in runs if r.id == ref_id)
    metric_name = resolve_metric(metric, ref.task).name
    deltas = {r.id: {m: _delta(r, ref, m) for m in _metrics_of(runs)} for r in runs}
    roots, data_changes = _lineage(store, runs)
    pairs = tuple(
        pair_test(r, ref, metric_name, related=roots[r.dataset_id] == roots[ref.dataset_id])
        for r in runs
        if r.id != ref_id
    )
    return Comparison(
        runs=runs,
        reference_id=ref_id,
        metric=metric_name,
        differing_params=frozenset(_differing_params(runs)),
        deltas=deltas,
        pairs=pairs,
        data_changes=data_changes,
    )


def _lineage(store: Store, runs: Sequence[RunRecord]) -> tuple[dict[int, int], tuple[str, ...]]:
    """Each run's root dataset id, and what each version among the runs' datasets changed."""
    from core.data.versions import describe_recipe
    from core.modeling.folds import root_dataset
    from core.store.datasets import get_dataset

    roots: dict[int, int] = {}
    changes: list[str] = []
    for dataset_id in dict.fromkeys(r.dataset_id for r in runs):
        dataset = get_dataset(store, dataset_id)
        roots[dataset_id] = root_dataset(store, dataset).id
        while dataset.parent_id is not None:
            changes.append(describe_recipe(dataset))
            dataset = get_dataset(store, dataset.parent_id)
    if len(set(roots.values())) == len(roots):
        return roots, ()  # no two datasets of one lineage: nothing to say
    return roots, tuple(dict.fromkeys(changes))


def corrected_std_error(std: float, n_folds: int, val_train_ratio: float) -> float:
    """The standard error of a mean over cross-validation folds, corrected for their correlation.

    Folds share most of their training rows, so their scores are not independent and std/sqrt(n)
    is too small; Nadeau & Bengio (2003) scale the variance by (1/n + n_validation/n_train) instead.
    Repeating the folds raises n but not the ratio: the error cannot shrink below what one split
    of the data supports.
    """
    return std * math.sqrt(1.0 / n_folds + val_train_ratio)


def val_train_ratio(run: RunRecord) -> float:
    """Validation rows over training rows, averaged over the run's folds."""
    n_train = sum(f.n_train for f in run.fold_scores)
    return sum(f.n_val for f in run.fold_scores) / n_train if n_train else 0.0


def corrected_t_test(diffs: Sequence[float], val_train_ratio: float) -> tuple[float, float, float, bool]:
    """The corrected resampled t-test on per-fold differences: (mean, t, two-sided p, constant).

    ``constant`` says every fold differed by the same amount (usually: identical scores), where
    the test degenerates: p is 1 for no difference and 0 for any other.
    """
    import numpy as np
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    j = len(d)
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    scale = max(1.0, float(np.abs(d).max()))
    if var <= (1e-12 * scale) ** 2:
        if abs(mean) <= 1e-12 * scale:
            return 0.0, 0.0, 1.0, True
        return mean, math.copysign(math.inf, mean), 0.0, True
    t = mean / corrected_std_error(math.sqrt(var), j, val_train_ratio)
    return mean, t, float(2.0 * stats.t.sf(abs(t), df=j - 1)), False


def pair_test(a: RunRecord, b: RunRecord, metric: str, *, related: bool = False) -> PairTest:
    """The corrected resampled t-test of ``a`` against ``b`` on their shared folds (``related``: their
    datasets are versions of one dataset, whose folds pair by index when their hashes agree)."""
    info = METRICS.get(metric)
    names = _pair_names(a, b)
    mean_diff = _delta(a, b, metric)
    reason = unpairable_reason(a, b, related=related)
    if reason is not None:
        return _unpaired(a, b, metric, mean_diff, reason, names, info)

    by_index = {f.index: f for f in b.fold_scores}
    diffs: list[float] = []
    n_train: list[int] = []
    n_val: list[int] = []
    dropped = 0
    for fa in a.fold_scores:
        fb = by_index.get(fa.index)
        if fb is None:
            continue
        sa, sb = fa.validation.get(metric, math.nan), fb.validation.get(metric, math.nan)
        if not (_finite(sa) and _finite(sb)):
            dropped += 1
            continue
        diffs.append(sa - sb)
        n_train.append(fa.n_train)
        n_val.append(fa.n_val)
    if len(diffs) < 2:
        why = (
            f"only {len(diffs)} shared fold{'s' if len(diffs) != 1 else ''} with a finite "
            f"{_label(metric, info)} for both runs (a test needs at least 2)"
        )
        return _unpaired(a, b, metric, mean_diff, why, names, info, n_folds=len(diffs), dropped=dropped)

    ratio = sum(n_val) / sum(n_train)
    mean, t, p, constant = corrected_t_test(diffs, ratio)
    j = len(diffs)
    explanation = _explain(names, metric, info, mean, p, j, constant=constant, dropped=dropped)
    if a.dataset_id != b.dataset_id:
        lost = sum(n_val) - sum(fb.n_val for fb in b.fold_scores if fb.index in {f.index for f in a.fold_scores})
        explanation += (
            f" Paired fold by fold across versions ({a.dataset} vs {b.dataset}): the same folds, whose "
            f"validation rows differ by {abs(lost)} rows in all, the rows the edits dropped."
        )
    return PairTest(a.id, b.id, metric, mean, float(t), p, j - 1, j, True, None, explanation, dropped)


def unpairable_reason(a: RunRecord, b: RunRecord, *, related: bool = False) -> str | None:
    """Why two runs do not share their validation folds, in plain words; None if they do. ``related``:
    the two datasets are versions of one dataset, so their folds may be the same up to dropped rows."""
    if a.dataset_id != b.dataset_id and not related:
        if a.dataset == b.dataset:
            return f"different datasets: {a.dataset} (id {a.dataset_id}) vs {b.dataset} (id {b.dataset_id})"
        return f"different datasets: {a.dataset} vs {b.dataset}"
    spec_a, spec_b = _cv_text(a), _cv_text(b)
    if spec_a != spec_b:
        return f"different folds ({spec_a} vs {spec_b})"
    for r in (a, b):
        if r.n_folds_done < r.n_folds_total:
            return f"run {r.id} has {r.n_folds_done} of {r.n_folds_total} folds"
    if a.folds_hash is None or b.folds_hash is None:
        missing = a if a.folds_hash is None else b
        return f"run {missing.id} has no record of its folds (it never finished)"
    if a.folds_hash != b.folds_hash:
        return (
            f"different folds (both {spec_a}, but the splits differ: "
            "the dataset or the library versions changed between the runs)"
        )
    return None


def param_value(run: RunRecord, name: str) -> str:
    """A run's value of one compared parameter as text; ``"model"`` is the model name."""
    if name == "model":
        return run.model
    value = run.params.get(name, _MISSING)
    if value is _MISSING:
        return "(default)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def comparison_table(c: Comparison, digits: int = 4) -> tuple[list[str], list[list[str]]]:
    """Runs as columns: model, dataset and CV scheme, the differing params, then per metric
    the validation mean ± std and the delta vs the reference. Plain text, not yet escaped:
    callers render it (the CLI through ``printable``, exports through their escaper)."""
    headers = [""] + [f"run {r.id}{' (ref)' if r.id == c.reference_id else ''}" for r in c.runs]
    rows: list[list[str]] = [["model"] + [r.model for r in c.runs]]
    rows.append(["dataset"] + [r.dataset for r in c.runs])
    rows.append(["cv"] + [_cv_text(r) for r in c.runs])
    rows.append(["status"] + [f"{r.status} ({r.n_folds_done}/{r.n_folds_total} folds)" for r in c.runs])
    for name in sorted(c.differing_params - {"model"}):
        rows.append([name] + [param_value(r, name) for r in c.runs])
    for m in c.metrics:
        info = METRICS.get(m)
        arrow = "" if info is None else (" ↑" if info.greater_is_better else " ↓")
        rows.append([f"{m}{arrow}"] + [_mean_std(r, m, digits) for r in c.runs])
        rows.append(
            [f"Δ {m} vs ref"]
            + [
                "ref" if r.id == c.reference_id else format_delta(c.deltas[r.id].get(m, math.nan), digits)
                for r in c.runs
            ]
        )
    return headers, rows


# --------------------------------------------------------------------------- helpers


def _metrics_of(runs: Sequence[RunRecord]) -> list[str]:
    present = {m for r in runs for m in r.summaries}
    return [m for m in METRICS if m in present] + sorted(present - set(METRICS))


def _differing_params(runs: Sequence[RunRecord]) -> set[str]:
    out = set()
    if len({r.model for r in runs}) > 1:
        out.add("model")
    for name in {k for r in runs for k in r.params}:
        values = [_canonical(r.params.get(name, _MISSING)) for r in runs]
        if len(set(values)) > 1:
            out.add(name)
    return out


def _canonical(value: Any) -> str:
    if value is _MISSING:
        return "\0missing"
    return json.dumps(value, sort_keys=True)


def _delta(run: RunRecord, ref: RunRecord, metric: str) -> float:
    a, b = run.summaries.get(metric), ref.summaries.get(metric)
    if a is None or b is None:
        return math.nan
    return a.val_mean - b.val_mean if _finite(a.val_mean) and _finite(b.val_mean) else math.nan


def _cv_text(r: RunRecord) -> str:
    return f"cv {r.folds}×{r.repeats} seed {r.seed}"


def _pair_names(a: RunRecord, b: RunRecord) -> tuple[str, str]:
    if a.model != b.model:
        return a.model, b.model
    return f"{a.model} (run {a.id})", f"{b.model} (run {b.id})"


def _label(metric: str, info: Metric | None) -> str:
    return info.label if info else metric


def _unpaired(
    a: RunRecord,
    b: RunRecord,
    metric: str,
    mean_diff: float,
    reason: str,
    names: tuple[str, str],
    info: Metric | None,
    n_folds: int = 0,
    dropped: int = 0,
) -> PairTest:
    label = _label(metric, info)
    if a.dataset_id != b.dataset_id:
        text = f"{names[0]} and {names[1]} cannot be compared on {label}: {reason}."
    elif _finite(mean_diff):
        text = f"{_verdict(names, info, label, mean_diff)} on average, but there is no paired test: {reason}."
        if reason.startswith("different folds ("):
            text = text[:-1] + "; rerun both with the same --cv, --repeats and --seed."
    else:
        text = f"no test of {names[0]} against {names[1]} on {label}: {reason}."
    return PairTest(a.id, b.id, metric, mean_diff, math.nan, math.nan, 0, n_folds, False, reason, text, dropped)


def _verdict(names: tuple[str, str], info: Metric | None, label: str, diff: float) -> str:
    """ "forest beats linear on accuracy by 0.031" with the metric's direction applied."""
    if diff == 0:
        return f"{names[0]} and {names[1]} tie on {label}"
    better = diff > 0 if (info is None or info.greater_is_better) else diff < 0
    winner, loser = names if better else names[::-1]
    direction = "" if info is None or info.greater_is_better else " (lower is better)"
    return f"{winner} beats {loser} on {label}{direction} by {_amount(abs(diff))}"


def _explain(
    names: tuple[str, str],
    metric: str,
    info: Metric | None,
    mean: float,
    p: float,
    j: int,
    *,
    constant: bool,
    dropped: int,
) -> str:
    label = _label(metric, info)
    skipped = f", {dropped} dropped for a missing or non-finite score" if dropped else ""
    test = f"{TEST_NAME} over {j} shared folds{skipped}"
    if constant and mean == 0:
        return (
            f"{names[0]} and {names[1]} score the same on {label} on every one of the {j} shared folds "
            f"(p = 1, {TEST_NAME}{skipped}): no difference."
        )
    if constant:
        return (
            f"{_verdict(names, info, label, mean)} on every one of the {j} shared folds by exactly the same "
            f"amount (p = 0, {TEST_NAME}{skipped}; no fold-to-fold variation to test against): not chance, "
            "but check the runs are not degenerate."
        )
    verdict = _verdict(names, info, label, mean)
    if p < ALPHA:
        return f"{verdict} ({_p_text(p)}, {test}): unlikely to be chance."
    return f"{verdict} ({_p_text(p)}, {test}): the difference is within fold-to-fold noise."


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def _amount(x: float) -> str:
    if x == 0 or 0.001 <= x < 1000:
        return f"{x:.3f}"
    return f"{x:.3g}"


def _mean_std(r: RunRecord, metric: str, digits: int) -> str:
    s = r.summaries.get(metric)
    return "-" if s is None else format_mean_std(s.val_mean, s.val_std, digits)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
