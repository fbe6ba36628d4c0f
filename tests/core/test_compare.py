"""Run comparison: the corrected resampled t-test by hand, pairing rules, deltas' signs, params."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.analysis.compare import compare_runs, comparison_table, pair_test
from core.data.importing import import_dataset
from core.errors import InputError, NotFoundError
from core.modeling.evaluation import run_baselines
from core.report.serialize import comparison_to_dict, run_to_dict
from core.store import Store
from core.store import runs as run_store
from core.store.datasets import get_dataset
from core.store.runs import get_run
from core.types import FoldScore, RunRecord


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """One store with a binary and a regression dataset and a handful of finished runs."""
    root = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(0)
    n = 240
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    y = np.where(1.5 * x1 - x2 + (color == "red") * 0.8 + rng.normal(scale=0.8, size=n) > 0, "yes", "no")
    pd.DataFrame({"x1": x1.round(4), "x 2": x2.round(4), "color": color, "label": y}).to_csv(
        root / "binary.csv", index=False
    )
    a, b = rng.normal(size=160), rng.uniform(-2, 2, size=160)
    pd.DataFrame(
        {"a": a.round(4), "b": b.round(4), "y": (3 * a - b + rng.normal(scale=0.5, size=160)).round(4)}
    ).to_csv(root / "regression.csv", index=False)

    store = Store(root / "store.duckdb")
    import_dataset(store, root / "binary.csv", "label")
    import_dataset(store, root / "regression.csv", "y")
    dummy, linear, tree = run_baselines(
        store, "binary", "dummy,linear,tree", folds=5, seed=0, jobs=1, params={"tree": {"max_depth": 3}}
    )
    (linear_again,) = run_baselines(store, "binary", "linear", folds=5, seed=0, jobs=1)
    (linear_seed1,) = run_baselines(store, "binary", "linear", folds=3, seed=1, jobs=1, params={"linear": {"C": 0.1}})
    reg_dummy, reg_linear = run_baselines(store, "regression", "dummy,linear", folds=4, seed=0, jobs=1)
    return dict(
        store=store,
        dummy=dummy,
        linear=linear,
        tree=tree,
        linear_again=linear_again,
        linear_seed1=linear_seed1,
        reg_dummy=reg_dummy,
        reg_linear=reg_linear,
    )


def _hand_test(a: RunRecord, b: RunRecord, metric: str) -> tuple[float, float, float]:
    """Nadeau & Bengio's corrected resampled t-test, written out from the stored fold scores."""
    fa = sorted(a.fold_scores, key=lambda f: f.index)
    fb = sorted(b.fold_scores, key=lambda f: f.index)
    d = np.array([x.validation[metric] - y.validation[metric] for x, y in zip(fa, fb)])
    j = len(d)
    ratio = np.mean([f.n_val for f in fa]) / np.mean([f.n_train for f in fa])
    t = d.mean() / np.sqrt((1 / j + ratio) * d.var(ddof=1))
    p = 2 * stats.t.sf(abs(t), df=j - 1)
    return d.mean(), t, p


def test_t_and_p_equal_a_hand_computation(world):
    store = world["store"]
    c = compare_runs(store, [world["linear"], world["tree"]], metric="f1_macro")
    (pair,) = c.pairs
    mean, t, p = _hand_test(get_run(store, world["tree"]), get_run(store, world["linear"]), "f1_macro")
    assert (pair.a_id, pair.b_id, pair.metric) == (world["tree"], world["linear"], "f1_macro")
    assert pair.pairable and pair.reason is None
    assert pair.n_folds == 5 and pair.df == 4
    assert pair.mean_diff == pytest.approx(mean, rel=1e-12)
    assert pair.t == pytest.approx(t, rel=1e-12)
    assert pair.p == pytest.approx(p, rel=1e-12)
    # the correction matters: the naive paired t-test is more confident than the corrected one
    naive = stats.ttest_rel(
        [f.validation["f1_macro"] for f in get_run(store, world["tree"]).fold_scores],
        [f.validation["f1_macro"] for f in get_run(store, world["linear"]).fold_scores],
    )
    assert pair.p > naive.pvalue


def test_a_strong_model_beats_the_dummy_significantly(world):
    c = compare_runs(world["store"], [world["dummy"], world["linear"]])
    assert c.metric == "accuracy" and c.reference_id == world["dummy"]
    (pair,) = c.pairs
    assert pair.pairable and pair.p < 0.05 and pair.mean_diff > 0
    assert pair.explanation.startswith("linear beats dummy on accuracy by ")
    assert "corrected resampled t-test over 5 shared folds" in pair.explanation
    assert pair.explanation.endswith("unlikely to be chance.")
    assert "\n" not in pair.explanation


def test_the_same_model_and_seed_twice_is_no_difference(world):
    c = compare_runs(world["store"], [world["linear"], world["linear_again"]])
    (pair,) = c.pairs
    assert pair.pairable
    assert pair.mean_diff == 0 and pair.t == 0 and pair.p == 1
    assert "score the same" in pair.explanation and "no difference" in pair.explanation
    assert all(v == 0 for v in c.deltas[world["linear_again"]].values())
    assert c.differing_params == frozenset()


def test_runs_on_different_datasets_are_not_paired(world):
    c = compare_runs(world["store"], [world["linear"], world["reg_linear"]])
    (pair,) = c.pairs
    assert not pair.pairable
    assert pair.reason == "different datasets: regression vs binary"
    assert math.isnan(pair.p) and math.isnan(pair.t)
    assert "cannot be compared" in pair.explanation and pair.reason in pair.explanation


def test_runs_with_different_folds_are_not_paired(world):
    c = compare_runs(world["store"], [world["linear"], world["linear_seed1"]])
    (pair,) = c.pairs
    assert not pair.pairable
    assert pair.reason == "different folds (cv 3×1 seed 1 vs cv 5×1 seed 0)"
    assert math.isnan(pair.p)
    assert "no paired test" in pair.explanation and "same --cv, --repeats and --seed" in pair.explanation
    # the mean difference is still reported
    assert pair.mean_diff == pytest.approx(c.deltas[world["linear_seed1"]]["accuracy"])


def test_a_run_missing_folds_is_not_paired(world):
    store = world["store"]
    source = get_run(store, world["tree"])
    info = get_dataset(store, "binary")
    _, (partial,) = run_store.create_runs(
        store, info, [("tree", {"max_depth": 3})], folds=5, repeats=1, seed=0, versions={}
    )
    for fold in source.fold_scores[:3]:
        run_store.record_fold(store, partial, fold)
    run_store.finish_run(store, partial, "cancelled", error="cancelled by the user", folds_hash=source.folds_hash)
    (pair,) = compare_runs(store, [world["linear"], partial]).pairs
    assert not pair.pairable and pair.reason == f"run {partial} has 3 of 5 folds"


def test_deltas_use_run_minus_reference_and_losses_read_lower_is_better(world):
    store = world["store"]
    c = compare_runs(store, [world["reg_dummy"], world["reg_linear"]], reference=world["reg_linear"])
    assert c.metric == "rmse" and c.reference_id == world["reg_linear"]
    dummy, linear = get_run(store, world["reg_dummy"]), get_run(store, world["reg_linear"])
    # the dummy's RMSE is higher (worse): its delta is positive; its R² is lower: negative
    assert c.deltas[dummy.id]["rmse"] == pytest.approx(
        dummy.summaries["rmse"].val_mean - linear.summaries["rmse"].val_mean
    )
    assert c.deltas[dummy.id]["rmse"] > 0 and c.deltas[dummy.id]["r2"] < 0
    assert c.deltas[linear.id] == {m: 0.0 for m in c.deltas[linear.id]}
    (pair,) = c.pairs
    assert pair.mean_diff > 0 and pair.p < 0.05
    assert pair.explanation.startswith("linear beats dummy on RMSE (lower is better) by ")

    c = compare_runs(store, [world["dummy"], world["linear"]], metric="log_loss")
    (pair,) = c.pairs
    assert c.deltas[world["linear"]]["log_loss"] < 0 < c.deltas[world["linear"]]["accuracy"]
    assert pair.mean_diff < 0 and pair.explanation.startswith("linear beats dummy on log loss (lower is better)")


def test_differing_params_lists_only_what_differs(world):
    store = world["store"]
    assert compare_runs(store, [world["linear"], world["tree"]]).differing_params == {"model", "max_depth"}
    assert compare_runs(store, [world["linear"], world["linear_seed1"]]).differing_params == {"C"}
    c = compare_runs(store, [world["dummy"], world["linear"], world["linear_again"]])
    assert c.differing_params == {"model"}
    headers, rows = comparison_table(c)
    assert headers == ["", f"run {world['dummy']} (ref)", f"run {world['linear']}", f"run {world['linear_again']}"]
    assert rows[0] == ["model", "dummy", "linear", "linear"]
    assert all(len(r) == len(headers) for r in rows)
    labels = [r[0] for r in rows]
    assert "max_depth" not in labels and "C" not in labels and "accuracy ↑" in labels and "log_loss ↓" in labels


def test_bad_input(world):
    store = world["store"]
    with pytest.raises(InputError, match="at least two"):
        compare_runs(store, [world["linear"]])
    with pytest.raises(InputError, match="at least two"):
        compare_runs(store, [world["linear"], str(world["linear"])])
    with pytest.raises(NotFoundError):
        compare_runs(store, [world["linear"], 999])
    with pytest.raises(InputError, match="reference"):
        compare_runs(store, [world["linear"], world["tree"]], reference=world["dummy"])
    with pytest.raises(InputError, match="unknown metric"):
        compare_runs(store, [world["linear"], world["tree"]], metric="rmse")


def test_comparison_json_is_strict_and_reuses_the_run_shape(world):
    store = world["store"]
    c = compare_runs(store, [world["dummy"], world["linear"], world["linear_seed1"]])
    d = json.loads(json.dumps(comparison_to_dict(c), allow_nan=False))
    assert d["reference"] == world["dummy"] and d["metric"] == "accuracy" and d["greater_is_better"] is True
    assert [r["id"] for r in d["runs"]] == [world["dummy"], world["linear"], world["linear_seed1"]]
    assert d["runs"][1] == json.loads(json.dumps(run_to_dict(get_run(store, world["linear"]))))
    paired, unpaired = d["pairs"]
    assert paired["pairable"] and paired["p"] == pytest.approx(c.pairs[0].p)
    assert not unpaired["pairable"] and unpaired["p"] is None and unpaired["t"] is None
    assert unpaired["reason"].startswith("different folds")
    assert d["deltas"][str(world["linear"])]["accuracy"] == pytest.approx(c.deltas[world["linear"]]["accuracy"])


# --------------------------------------------------------------------------- edge cases on synthetic records


def _record(run_id: int, scores: list[float], metric: str = "accuracy") -> RunRecord:
    folds = tuple(FoldScore(i, 0, i, 80, 20, 0.1, 0.01, {metric: s}, {metric: s}) for i, s in enumerate(scores))
    return RunRecord(
        id=run_id,
        group_id=1,
        dataset_id=1,
        dataset="d",
        task="binary",
        model=f"m{run_id}",
        params={},
        folds=len(scores),
        repeats=1,
        seed=0,
        status="done",
        created_at=0.0,
        started_at=0.0,
        finished_at=1.0,
        duration_s=1.0,
        pid=None,
        host=None,
        versions={},
        dataset_hash="h",
        folds_hash="f",
        error=None,
        n_folds_done=len(scores),
        fold_scores=folds,
    )


def test_a_constant_nonzero_difference_gives_p_zero_with_a_warning():
    a, b = _record(1, [0.9, 0.8, 0.7, 0.85]), _record(2, [0.8, 0.7, 0.6, 0.75])
    pair = pair_test(a, b, "accuracy")
    assert pair.pairable and pair.p == 0 and math.isinf(pair.t) and pair.mean_diff == pytest.approx(0.1)
    assert "no fold-to-fold variation" in pair.explanation
    c = replace(_comparison_stub(a, b), pairs=(pair,))
    assert json.loads(json.dumps(comparison_to_dict(c), allow_nan=False))["pairs"][0]["t"] is None


def test_non_finite_fold_scores_are_dropped_and_said_so():
    a = _record(1, [0.9, math.nan, 0.7, 0.86, 0.91])
    b = _record(2, [0.8, 0.7, math.inf, 0.75, 0.80])
    pair = pair_test(a, b, "accuracy")
    d = np.array([0.9 - 0.8, 0.86 - 0.75, 0.91 - 0.80])
    t = d.mean() / np.sqrt((1 / 3 + 20 / 80) * d.var(ddof=1))
    assert pair.pairable and pair.n_folds == 3 and pair.n_dropped == 2 and pair.df == 2
    assert pair.t == pytest.approx(t) and pair.p == pytest.approx(2 * stats.t.sf(abs(t), 2))
    assert "2 dropped for a missing or non-finite score" in pair.explanation
    only_one = pair_test(_record(1, [0.9, math.nan, math.nan]), _record(2, [0.8, 0.7, 0.6]), "accuracy")
    assert not only_one.pairable and "only 1 shared fold" in only_one.reason


def _comparison_stub(a: RunRecord, b: RunRecord):
    from core.analysis.compare import Comparison

    return Comparison(
        runs=(b, a),
        reference_id=b.id,
        metric="accuracy",
        differing_params=frozenset({"model"}),
        deltas={a.id: {"accuracy": 0.1}, b.id: {"accuracy": 0.0}},
        pairs=(),
    )


def test_explanations_for_noise():
    a = _record(1, [0.80, 0.90, 0.70, 0.85, 0.75])
    b = _record(2, [0.82, 0.86, 0.72, 0.80, 0.77])
    pair = pair_test(a, b, "accuracy")
    assert pair.pairable and pair.p > 0.05
    assert pair.explanation.startswith("m1 beats m2 on accuracy by 0.006 (p = ")
    assert pair.explanation.endswith("the difference is within fold-to-fold noise.")
