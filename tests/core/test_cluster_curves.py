"""Curve points on a real Dask cluster (a LocalCluster on loopback with worker processes): the same
scores as the points computed locally, through the API and ``mlloop curve --cluster``, and a bad
address refused in one line with nothing stored."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")

from core.analysis.curves import clear_curve, learning_curve, load_curve, validation_curve
from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from tests.conftest import mlloop_main, run_mlloop


def _points(curve):
    return {(p.label, p.fold_index): (p.train, p.validation, p.error) for p in curve.points}


@pytest.fixture
def tree_run(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "tree", folds=3, jobs=1)
    return run_id


def test_learning_curve_points_on_the_cluster_equal_the_local_ones(store, tree_run, cluster):
    local = learning_curve(store, tree_run, [20, 60, 120], jobs=1)
    assert clear_curve(store, tree_run, "learning") == 9  # points, each with its metrics
    seen = []
    remote = learning_curve(store, tree_run, [20, 60, 120], cluster=cluster.scheduler_address, on_point=seen.append)
    assert remote.n_computed == 9 and [p.done for p in seen] == list(range(1, 10))  # stored as each one came back
    assert not remote.errors and _points(remote) == _points(local)
    assert _points(load_curve(store, tree_run, "learning")) == _points(local)


def test_mlloop_curve_cluster_gives_the_local_validation_curve(store, tree_run, cluster, capsys):
    local = validation_curve(store, tree_run, "max_depth", [1, 2, 4], jobs=1)
    clear_curve(store, tree_run, "validation")
    code = mlloop_main(
        store, "curve", str(tree_run), "--validation", "--param", "max_depth", "--values", "1,2,4",
        "--cluster", cluster.scheduler_address,
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "3/3" in capsys.readouterr().out  # every setting has all its folds
    remote = load_curve(store, tree_run, "validation", "max_depth")
    assert remote is not None and _points(remote) == _points(local)


def test_an_unreachable_cluster_is_one_line_within_ten_seconds_and_stores_no_point(store, tree_run, capsys):
    start = time.monotonic()
    assert mlloop_main(store, "curve", str(tree_run), "--cluster", "tcp://127.0.0.1:9") == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask cluster at tcp://127.0.0.1:9" in err[0]
    assert load_curve(store, tree_run, "learning") is None


def test_mlloop_curve_takes_the_cluster_from_the_environment(tmp_path, binary_csv):
    path = tmp_path / "env.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=path).returncode == 0
    assert run_mlloop("run", "binary", "--models", "tree", store=path).returncode == 0
    done = run_mlloop("curve", "1", store=path, env={"MLLOOP_CLUSTER": "tcp://127.0.0.1:9"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "tcp://127.0.0.1:9" in lines[0], done.stderr
