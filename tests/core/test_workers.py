"""Worker processes end with the process that started them, even when it is SIGKILLed.

A real ``mlloop run`` with two loky workers busy fitting forests: SIGKILL it, and every process
it started (its workers, loky's resource tracker) is gone within seconds, not after loky's
five-minute idle timeout. Processes are found in ``/proc`` (Linux), so the test needs no psutil.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.importing import import_dataset
from core.modeling.workers import ORPHAN_EXIT
from core.store import Store

PROC = Path("/proc")
pytestmark = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="needs /proc (Linux)")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """``(state, ppid, start time)`` of a live process, or ``None`` once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (command) "
    return fields[0], int(fields[1]), int(fields[19])


def _alive(pid: int, started: int) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (a zombie has ended)."""
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[0] != "Z"


def _descendants(root: int) -> dict[int, int]:
    """Every process under ``root``: pid -> start time."""
    parents: dict[int, list[tuple[int, int]]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[1], []).append((int(entry.name), stat[2]))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, started in parents.get(todo.pop(), []):
            found[pid] = started
            todo.append(pid)
    return found


def _kill(pids: dict[int, int]) -> None:
    for pid, started in pids.items():
        if _alive(pid, started):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def busy_dataset(tmp_path):
    """Enough rows that a forest fold keeps a worker busy for a while."""
    rng = np.random.default_rng(0)
    n = 4000
    X = rng.normal(size=(n, 10))
    y = np.where(X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n) > 0, "a", "b")
    path = tmp_path / "busy.csv"
    pd.DataFrame(X.round(5), columns=[f"x{i}" for i in range(10)]).assign(y=y).to_csv(path, index=False)
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, path, "y")
    return store


def test_workers_of_a_sigkilled_run_end_within_seconds(busy_dataset):
    cmd = [sys.executable, "-m", "mlloop_tui", "--store", str(busy_dataset.path), "run", "busy"]
    cmd += ["--models", "forest", "--cv", "10", "--jobs", "2", "--param", "forest.n_estimators=300"]
    # its own session: whatever is left when the test ends is killed as one group
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    children: dict[int, int] = {}
    try:
        end = time.monotonic() + 120
        while len(children) < 3:  # two workers and loky's resource tracker
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end, f"the run started {len(children)} processes in 120 s"
            time.sleep(0.2)
            children = _descendants(proc.pid)
        time.sleep(1.0)  # the workers are fitting
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed = time.monotonic()
        while any(_alive(pid, started) for pid, started in children.items()) and time.monotonic() - killed < 10:
            time.sleep(0.1)
        left = [pid for pid, started in children.items() if _alive(pid, started)]
        assert not left, f"{len(left)} of {len(children)} processes still alive 10 s after the SIGKILL"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stderr.close()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the run's group: its workers, if they outlived it
        except ProcessLookupError:
            pass
        _kill(children)


WATCHED = """
import sys, time
from core.modeling.workers import watch_parent
watch_parent(int(sys.argv[1]), interval=0.05)
time.sleep(float(sys.argv[2]))
"""


def test_the_watch_ends_a_process_only_once_its_parent_is_gone():
    # its parent lives: the process does its work (sleeps) and ends as it would anyway
    r = subprocess.run([sys.executable, "-c", WATCHED, str(os.getpid()), "0.5"], timeout=60)
    assert r.returncode == 0
    # its parent is not the one it was started by (an orphan is adopted by init or a subreaper)
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-c", WATCHED, str(os.getpid() + 100_000), "60"], timeout=60)
    assert r.returncode == ORPHAN_EXIT and time.monotonic() - start < 10
