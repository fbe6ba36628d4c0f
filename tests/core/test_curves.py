"""Learning and validation curves: on the run's folds, streamed, stored point by point, reused, cancellable."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from core.analysis.curve_settings import class_codes, default_sizes, training_subset
from core.analysis.curves import clear_curve, curve_stamp, learning_curve, load_curve, validation_curve
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError, RunCancelled
from core.modeling.evaluation import make_splitter, run_baselines
from core.report.serialize import curve_to_dict
from core.stopping import StopToken
from core.store.datasets import get_dataset
from core.store.runs import get_run
from tests.core import loop_data


def _stored(store, run_id, curve="learning"):
    with store.read() as con:
        return con.execute(
            "SELECT count(DISTINCT (x, fold_index)), count(*) FROM curve_points WHERE run_id = ? AND curve = ?",
            [run_id, curve],
        ).fetchone()


def test_learning_curve_streams_points_stores_them_and_reuses_them(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "linear", folds=4, jobs=1)
    seen = []

    def on_point(p):
        seen.append((p.point.x, p.point.fold_index, p.done, p.total))
        # each point is committed before it is reported
        assert _stored(store, run_id)[0] == p.done

    curve = learning_curve(store, run_id, jobs=2, on_point=on_point)
    n = len(curve.settings)
    assert 5 <= n <= 8 and curve.complete and curve.n_computed == n * 4
    assert len(seen) == n * 4 and sorted(d for *_, d, _ in seen) == list(range(1, n * 4 + 1))
    assert {(x, f) for x, f, *_ in seen} == {(s.x, f) for s in curve.settings for f in range(4)}
    assert _stored(store, run_id) == (n * 4, n * 4 * 5)  # five classification metrics per point

    again_seen = []
    start = time.perf_counter()
    again = learning_curve(store, run_id, jobs=2, on_point=again_seen.append)
    assert time.perf_counter() - start < 3.0  # read back, not refitted (no worker pool either)
    assert again.n_computed == 0 and not again_seen and again.rows() == curve.rows()
    assert load_curve(store, run_id, "learning").rows() == curve.rows()
    assert _stored(store, run_id) == (n * 4, n * 4 * 5)


def test_learning_curve_uses_the_runs_folds_and_ends_at_its_scores(store, tmp_path):
    import_dataset(store, loop_data.growing(tmp_path), "y")  # 240 dev rows: 4 folds train on 180 rows each
    (run_id,) = run_baselines(store, "growing", "linear", folds=4, seed=5, jobs=1)
    run = get_run(store, run_id)
    curve = learning_curve(store, run_id)
    sizes = [s.value for s in curve.settings]
    assert sizes[-1] == 180 and sizes == sorted(sizes)
    ratios = np.diff(np.log(sizes))
    assert np.allclose(ratios, ratios.mean(), atol=0.1)  # log-spaced
    largest = [p for p in curve.points if p.value == 180]
    for p in largest:  # the largest size is the fold's full training set: the run's own fold scores
        fold = run.fold_scores[p.fold_index]
        assert p.validation["accuracy"] == pytest.approx(fold.validation["accuracy"], abs=1e-12)
        assert p.train["log_loss"] == pytest.approx(fold.train["log_loss"], abs=1e-12)
    assert not curve.notes  # the folds hash matched the run's


def test_smallest_size_keeps_every_class_in_every_subset(store, tmp_path):
    info = import_dataset(store, loop_data.imbalanced(tmp_path), "y")
    (run_id,) = run_baselines(store, "imbalanced", "tree", folds=5, jobs=1)
    X, y = load_split(store, info, "dev")
    splits = list(make_splitter(info.task, 5, 1, 0).split(X, y))
    sizes = default_sizes(get_dataset(store, "imbalanced"), y, splits)
    assert sizes[0] >= 3 / 0.1 - 1  # about 3 rows of the 10% class
    codes = class_codes(y)
    for fold, (train, _) in enumerate(splits):
        for size in sizes:
            sub = training_subset(train, codes, size, (0, fold, size))
            assert len(sub) == size and len(set(sub)) == size and set(sub) <= set(train)
            assert set(codes[sub]) == set(codes)
            again = training_subset(train, codes, size, (0, fold, size))
            assert np.array_equal(sub, again)  # seeded
    curve = learning_curve(store, run_id, sizes=sizes[:2])
    assert all(math.isfinite(p.train["roc_auc"]) for p in curve.points)  # both classes in every subset


def test_a_stop_token_keeps_finished_points_and_the_next_call_finishes_the_rest(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "tree", folds=3, jobs=1)
    done = []
    with pytest.raises(RunCancelled, match="finished points are kept"):
        learning_curve(store, run_id, on_point=done.append, stop=StopToken(lambda: len(done) >= 2))
    assert _stored(store, run_id)[0] == 2
    partial = learning_curve(store, run_id, fit=False)  # what is stored, over the settings it would compute
    assert len(partial.points) == 2 and not partial.complete and partial.n_computed == 0
    assert len(partial.settings) * partial.n_folds == partial.n_expected > 2
    rest = learning_curve(store, run_id)
    assert rest.complete and rest.n_computed == rest.n_expected - 2


def test_ctrl_c_is_a_clean_cancel_that_keeps_finished_points(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "dummy", folds=3, jobs=1)

    def interrupt(p):
        if p.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(RunCancelled):
        learning_curve(store, run_id, on_point=interrupt)
    assert _stored(store, run_id)[0] == 3
    assert clear_curve(store, run_id, "learning") == 3 and _stored(store, run_id)[0] == 0


def test_validation_curve_finds_the_known_depth(store, tmp_path):
    import_dataset(store, loop_data.depth2(tmp_path), "y")
    (run_id,) = run_baselines(store, "depth2", "tree", folds=5, jobs=1)
    seen = []
    curve = validation_curve(store, run_id, jobs=2, on_point=seen.append)
    assert curve.param == "max_depth" and len(seen) == curve.n_expected
    assert [s.value for s in curve.settings] == [1, 2, 3, 5, 8, 12, None]
    # None is not a number: x is the position, the label says what it is
    assert [s.x for s in curve.settings] == [0, 1, 2, 3, 4, 5, 6] and curve.settings[-1].label == "None"
    assert curve.best_setting.value == 2
    assert curve.current == 6  # the run's own max_depth (None, the default)
    rows = curve.rows()
    assert rows[1].val_mean > rows[0].val_mean and rows[1].val_mean > rows[-1].val_mean
    # the run's own setting reproduces the run's validation score
    assert rows[curve.current].val_mean == pytest.approx(get_run(store, run_id).summaries["accuracy"].val_mean)
    with store.read() as con:
        stored = con.execute(
            "SELECT DISTINCT param, x, label, CAST(value AS VARCHAR) FROM curve_points WHERE run_id = ? ORDER BY x",
            [run_id],
        ).fetchall()
    assert stored[-1] == ("max_depth", 6.0, "None", "null") and stored[1] == ("max_depth", 1.0, "2", "2")
    loaded = load_curve(store, run_id, "validation")
    assert loaded.best == curve.best and loaded.current == curve.current
    payload = curve_to_dict(curve)
    assert payload["best"]["value"] == 2 and payload["current"]["label"] == "None"
    assert len(payload["points"]) == curve.n_expected


def test_validation_curve_numeric_values_reuse_and_knobs_per_task(store, binary_csv, regression_csv):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    (logistic,) = run_baselines(store, "binary", "linear", folds=3, jobs=1)
    (ridge,) = run_baselines(store, "regression", "linear", folds=3, jobs=1)
    c = validation_curve(store, logistic, values=[0.01, 1.0, 100.0])
    assert c.param == "C" and [s.x for s in c.settings] == [0.01, 1.0, 100.0] and c.log_x
    assert c.current == 1 and c.greater_is_better
    stamp = curve_stamp(store, logistic)
    # a wider grid reuses the three stored values and fits only the new ones
    wider = validation_curve(store, logistic, values=[0.001, 0.01, 1.0, 100.0])
    assert wider.n_computed == 3 and curve_stamp(store, logistic) != stamp
    r = validation_curve(store, ridge)
    assert r.param == "alpha" and r.key_metric == "rmse" and not r.greater_is_better
    best = r.rows()[r.best].val_mean
    assert best == min(row.val_mean for row in r.rows())


def test_bad_curve_requests_are_input_errors_and_store_nothing(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    dummy, tree = run_baselines(store, "binary", "dummy,tree", folds=3, jobs=1)
    with pytest.raises(InputError, match="no complexity knob"):
        validation_curve(store, dummy)
    with pytest.raises(InputError, match="unknown parameter 'depth'"):
        validation_curve(store, tree, "depth", [1, 2])
    with pytest.raises(InputError, match="max_depth"):
        validation_curve(store, tree, "max_depth", [2, "deep"])
    with pytest.raises(InputError, match="give the values"):
        validation_curve(store, tree, "min_samples_split")
    with pytest.raises(InputError, match="outside"):
        learning_curve(store, tree, sizes=[5000])
    with pytest.raises(InputError, match="whole number"):
        learning_curve(store, tree, sizes=[20.5])
    with pytest.raises(InputError, match="no run"):
        learning_curve(store, 999)
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM curve_points").fetchone()[0] == 0


def test_a_tie_for_the_best_setting_goes_to_the_simplest_computed_or_loaded(store, tmp_path):
    # one feature separates the classes: every min_samples_leaf scores 1.0, so all settings tie
    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    csv = tmp_path / "separable.csv"
    csv.write_text("x,y\n" + "".join(f"{v:.4f},{int(v > 0)}\n" for v in x))
    import_dataset(store, csv, "y")
    (run_id,) = run_baselines(store, "separable", "forest", folds=3, jobs=1, params={"forest": {"n_estimators": 10}})
    # values given from complex to simple: the forest's knob is simple → complex from 50 down to 1
    computed = validation_curve(store, run_id, "min_samples_leaf", [1, 2, 5, 10])
    loaded = load_curve(store, run_id, "validation", "min_samples_leaf")
    assert len({round(r.val_mean, 10) for r in computed.rows()}) == 1  # a four-way tie
    assert [s.value for s in computed.settings] == [s.value for s in loaded.settings] == [10, 5, 2, 1]
    assert computed.best_setting.value == loaded.best_setting.value == 10
