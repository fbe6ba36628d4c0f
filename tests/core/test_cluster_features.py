"""Feature curves on a real Dask cluster (a LocalCluster on loopback with worker processes): the same
points as on this machine, each fold's arrays sent once for every method, through the API and
``mlloop features --cluster``, and a bad address refused in one line."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")

from core.analysis.feature_selection import curves_to_dict, feature_curve
from core.analysis.feature_tasks import FoldPool
from core.data.importing import import_dataset
from tests.conftest import mlloop_main

METHODS = ("univariate", "l1", "importance")


def _points(curves):
    return {name: m["points"] for name, m in curves_to_dict(curves)["methods"].items()}


@pytest.fixture
def binary(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    return store


def test_feature_curves_on_the_cluster_equal_the_local_ones(binary, cluster):
    local = feature_curve(binary, "binary", "linear", METHODS, folds=3, jobs=1)
    seen = []
    remote = feature_curve(
        binary, "binary", "linear", METHODS, folds=3, cluster=cluster.scheduler_address, on_point=seen.append
    )
    assert _points(remote) == _points(local) and all(m.points for m in remote.methods)
    assert [p.done for p in seen] == list(range(1, len(seen) + 1)) == list(range(1, 3 * len(remote.ks) + 1))
    assert [(m.best_k, m.one_se_k) for m in remote.methods] == [(m.best_k, m.one_se_k) for m in local.methods]


def test_each_folds_arrays_go_to_the_cluster_once_for_every_batch(cluster):
    folds = [("fold 0 arrays",), ("fold 1 arrays",)]
    with FoldPool(folds, jobs=1, cluster=cluster.scheduler_address) as pool:
        first = sorted(pool.map(_echo, [(0, {"tag": "a"}), (1, {"tag": "b"})], _lost))
        sent = {key: futures for key, (_, futures) in pool._executor._scattered.items()}
        second = sorted(pool.map(_echo, [(1, {"tag": "c"})], _lost))
        assert {key: futures for key, (_, futures) in pool._executor._scattered.items()} == sent
    assert first == [("a", "fold 0 arrays"), ("b", "fold 1 arrays")] and second == [("c", "fold 1 arrays")]


def _echo(prepared, tag):
    return tag, prepared[0]


def _lost(message, tag):
    return tag, message


def test_mlloop_features_cluster_prints_the_local_curves(binary, cluster, capsys):
    assert mlloop_main(binary, "features", "binary", "--cv", "3", "--jobs", "1", "--json") == 0
    local = json.loads(capsys.readouterr().out)["curves"]["methods"]
    code = mlloop_main(binary, "features", "binary", "--cv", "3", "--json", "--cluster", cluster.scheduler_address)
    assert code == 0, capsys.readouterr().err
    remote = json.loads(capsys.readouterr().out)["curves"]["methods"]
    assert remote == local


def test_an_unreachable_cluster_is_one_line_within_ten_seconds(binary, capsys):
    start = time.monotonic()
    assert mlloop_main(binary, "features", "binary", "--cv", "3", "--cluster", "tcp://127.0.0.1:9") == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask cluster at tcp://127.0.0.1:9" in err[0]
