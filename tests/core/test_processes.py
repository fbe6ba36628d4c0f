"""Real processes: a writer and readers at once, SIGKILL mid-run, Ctrl-C mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from core.data.importing import import_dataset
from core.store import Store
from core.store.runs import get_run, list_runs, mark_interrupted


@pytest.fixture
def slow_dataset(tmp_path):
    """Big enough that a forest takes a few seconds per fold on this machine."""
    rng = np.random.default_rng(0)
    n = 6000
    X = rng.normal(size=(n, 12))
    y = np.where(X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n) > 0, "a", "b")
    frame = pd.DataFrame(X.round(5), columns=[f"x{i}" for i in range(12)]).assign(y=y)
    path = tmp_path / "slow.csv"
    frame.to_csv(path, index=False)
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, path, "y")
    return store


def _start_run(store: Store, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "mlloop_tui",
        "--store",
        str(store.path),
        "run",
        "slow",
        "--models",
        "forest",
        "--cv",
        "10",
        "--jobs",
        "1",
        "--param",
        "forest.n_estimators=150",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_folds(store: Store, n: int, proc: subprocess.Popen, limit: float = 120) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        runs = list_runs(store)
        if runs and runs[0].n_folds_done >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} folds after {limit} s")


def test_readers_in_other_processes_work_while_a_run_writes(slow_dataset):
    store = slow_dataset
    proc = _start_run(store)
    try:
        _wait_for_folds(store, 1, proc)
        seen = set()
        while proc.poll() is None:
            r = subprocess.run(
                [sys.executable, "-m", "mlloop_tui", "--store", str(store.path), "runs", "--json"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stderr
            (run,) = json.loads(r.stdout)
            seen.add(run["folds_done"])
        assert proc.returncode == 0, proc.communicate()
        assert len(seen) >= 2  # the reader saw the run progress, not just its end
        assert get_run(store, 1).status == "done"
    finally:
        proc.kill()


def test_sigkill_keeps_finished_folds_and_reads_interrupted(slow_dataset):
    store = slow_dataset
    proc = _start_run(store)
    _wait_for_folds(store, 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = get_run(store, 1)
    assert run.status == "interrupted"
    assert 2 <= run.n_folds_done < 10 and len(run.fold_scores) == run.n_folds_done
    # the store opens for writing again and the status can be persisted
    assert mark_interrupted(store) == 1
    assert get_run(store, 1).status == "interrupted"


def test_ctrl_c_cancels_cleanly(slow_dataset):
    store = slow_dataset
    proc = _start_run(store)
    _wait_for_folds(store, 1, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "cancelled" in err
    run = get_run(store, 1)
    assert run.status == "cancelled" and run.n_folds_done >= 1
    assert run.pid != os.getpid()


def test_a_stopped_run_is_running_while_its_process_lives_and_interrupted_once_it_is_gone():
    """SIGSTOP freezes the heartbeat, not the run: on its own machine the process answers, whatever the
    heartbeat says; a pid that now belongs to a process started after the run is not the run's."""
    import socket

    from core.store.runs import STALE_AFTER_S, effective_status

    host, now = socket.gethostname(), time.time()
    stale = now - 10 * STALE_AFTER_S
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        proc.send_signal(signal.SIGSTOP)
        assert effective_status("running", proc.pid, host, stale, started_at=now) == "running"
        # the same pid, but the run started an hour before this process did: pid reuse, the run is gone
        assert effective_status("running", proc.pid, host, now, started_at=now - 3600) == "interrupted"
        # from another machine only the heartbeat tells
        assert effective_status("running", proc.pid, "elsewhere", stale, started_at=now) == "interrupted"
        assert effective_status("running", proc.pid, "elsewhere", now, started_at=now) == "running"
    finally:
        proc.kill()
        proc.wait()
    assert effective_status("running", proc.pid, host, now, started_at=now) == "interrupted"


def _cluster_tasks(address: str) -> int:
    """How many tasks the scheduler at ``address`` still holds."""
    from distributed import Client

    with Client(address, timeout=10) as client:
        return int(client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)))


def _wait_for_no_cluster_tasks(address: str, limit: float = 30) -> None:
    end = time.monotonic() + limit
    while _cluster_tasks(address):
        assert time.monotonic() < end, "the scheduler still holds the killed client's tasks"
        time.sleep(0.5)


def test_a_cluster_run_whose_client_is_killed_reads_interrupted_and_frees_the_cluster(slow_dataset, cluster):
    """The store stays on the user's machine: the client dying mid-run is the same as a local run
    dying, and the scheduler forgets its tasks rather than fitting for nobody."""
    store = slow_dataset
    proc = _start_run(store, "--cluster", cluster.scheduler_address)
    _wait_for_folds(store, 1, proc)
    assert _cluster_tasks(cluster.scheduler_address)  # the other folds are on the cluster
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = get_run(store, 1)
    assert run.status == "interrupted" and 1 <= run.n_folds_done < 10
    assert len(run.fold_scores) == run.n_folds_done
    _wait_for_no_cluster_tasks(cluster.scheduler_address)


def test_ctrl_c_cancels_a_cluster_run_cleanly(slow_dataset, cluster):
    store = slow_dataset
    proc = _start_run(store, "--cluster", cluster.scheduler_address)
    _wait_for_folds(store, 1, proc)
    assert _cluster_tasks(cluster.scheduler_address)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "cancelled" in err
    run = get_run(store, 1)
    assert run.status == "cancelled" and 1 <= run.n_folds_done < 10
    _wait_for_no_cluster_tasks(cluster.scheduler_address)
