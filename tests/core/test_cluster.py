"""Folds on a real Dask cluster (a LocalCluster on loopback with worker processes): the same scores
as a local run, the data sent once per worker, a worker killed mid-run, and bad addresses."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

import pytest

pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")

import cloudpickle
from distributed import Client, LocalCluster

from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.cluster import DaskExecutor
from core.modeling.evaluation import run_baselines
from core.modeling.executors import FitTask
from core.store.runs import get_run, list_runs
from tests.conftest import local_cluster, mlloop_main, run_mlloop

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import the tests


def _scores(store, run_ids):
    return {
        get_run(store, r).model: [(f.train, f.validation, f.n_train) for f in get_run(store, r).fold_scores]
        for r in run_ids
    }


def test_fold_scores_on_the_cluster_equal_a_local_run(store, binary_csv, cluster):
    import_dataset(store, binary_csv, "label")
    models = "dummy,linear,tree,forest,glm"
    local = run_baselines(store, "binary", models, folds=4, seed=3, jobs=1)
    remote = run_baselines(store, "binary", models, folds=4, seed=3, cluster=cluster.scheduler_address)
    assert {get_run(store, r).status for r in remote} == {"done"}
    assert _scores(store, remote) == _scores(store, local)
    glm_local, glm_remote = (next(r for r in ids if get_run(store, r).model == "glm") for ids in (local, remote))
    assert get_run(store, glm_remote).glm == get_run(store, glm_local).glm


def _where_is_the_data(X, y, index):
    return os.getpid(), id(X), id(y), index


def test_the_data_is_sent_to_each_worker_once(cluster):
    import pandas as pd

    X = pd.DataFrame({"a": range(1000), "b": ["x"] * 1000})
    y = pd.Series(range(1000))
    tasks = [FitTask(_where_is_the_data, {"index": i}, 1.0, str) for i in range(20)]
    with DaskExecutor(cluster.scheduler_address) as executor:
        seen = list(executor.results(tasks, {0: (X, y)}))
    assert sorted(s[3] for s in seen) == list(range(20))
    by_worker: dict[int, set[tuple[int, int]]] = {}
    for pid, x_id, y_id, _ in seen:
        by_worker.setdefault(pid, set()).add((x_id, y_id))
    assert all(len(objects) == 1 for objects in by_worker.values())  # every task on a worker saw the same X, y


def test_a_worker_killed_mid_run_does_not_lose_the_run(store, binary_csv, cluster):
    import_dataset(store, binary_csv, "label")
    with Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(progress):
        if not killed:  # the first fold is back: the other forest folds are running on both workers
            victim = next(iter(pids.values()))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    (run_id,) = run_baselines(
        store,
        "binary",
        "forest",
        folds=5,
        params={"forest": {"n_estimators": 300}},
        cluster=cluster.scheduler_address,
        on_progress=kill_one_worker,
    )
    run = get_run(store, run_id)
    assert killed
    if run.status == "done":  # the scheduler started the lost fold again on the other worker
        assert run.n_folds_done == 5
    else:  # or the run names the fold that could not finish
        assert run.status == "failed" and "fold " in (run.error or "") and "lost on the cluster" in run.error
    with Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker for the next tests


def test_an_unreachable_cluster_is_refused_within_ten_seconds():
    start = time.monotonic()
    with pytest.raises(InputError, match="cannot reach the Dask cluster at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9")
    assert time.monotonic() - start < 10


def test_an_unreachable_cluster_is_one_line_and_stores_nothing(store, binary_csv, capsys):
    import_dataset(store, binary_csv, "label")
    assert mlloop_main(store, "run", "binary", "--models", "dummy", "--cluster", "tcp://127.0.0.1:9") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask cluster at tcp://127.0.0.1:9" in err[0]
    assert list_runs(store) == []


def test_the_cluster_can_come_from_the_environment(tmp_path, binary_csv):
    path = tmp_path / "env.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=path).returncode == 0
    done = run_mlloop("run", "binary", "--models", "dummy", store=path, env={"MLLOOP_CLUSTER": "tcp://127.0.0.1:9"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "tcp://127.0.0.1:9" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_workers_with_another_scikit_learn_are_refused_naming_both_versions(tmp_path, store, binary_csv):
    import sklearn

    preload = tmp_path / "old_sklearn.py"
    preload.write_text("import sklearn\nsklearn.__version__ = '0.24.2'\n")
    import_dataset(store, binary_csv, "label")
    with local_cluster(1, preload=[str(preload)]) as other:
        with pytest.raises(InputError, match=f"scikit-learn 0.24.2, this machine {sklearn.__version__}"):
            run_baselines(store, "binary", "dummy", cluster=other.scheduler_address)
    assert list_runs(store) == []


def test_a_search_runs_its_candidates_on_the_cluster_with_the_same_scores(store, binary_csv, cluster):
    from core.analysis.tuning import tune

    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "tree", folds=3, jobs=1)
    grid = {"max_depth": [1, 3]}
    local, remote = tune(store, run_id, grid, jobs=1), tune(store, run_id, grid, cluster=cluster.scheduler_address)

    def candidates(ids):
        return [(get_run(store, r).params, [f.validation for f in get_run(store, r).fold_scores]) for r in ids]

    assert {get_run(store, r).status for r in remote} == {"done"}
    assert candidates(remote) == candidates(local)


def test_a_stop_token_cancels_the_cluster_tasks_and_marks_the_runs_cancelled(store, binary_csv, cluster):
    from core.errors import RunCancelled
    from core.stopping import StopToken

    import_dataset(store, binary_csv, "label")
    seen = []
    with pytest.raises(RunCancelled):
        run_baselines(
            store,
            "binary",
            "dummy,tree",
            folds=5,
            cluster=cluster.scheduler_address,
            on_progress=seen.append,
            stop=StopToken(lambda: len(seen) >= 2),
        )
    runs = list_runs(store)
    assert {r.status for r in runs} == {"cancelled"} and sum(r.n_folds_done for r in runs) < 10


def test_a_cluster_without_workers_is_refused_and_stores_nothing(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0", silence_logs=logging.CRITICAL) as empty:
        with pytest.raises(InputError, match="has no workers"):
            run_baselines(store, "binary", "dummy", cluster=empty.scheduler_address)
    assert list_runs(store) == []
