"""Workers started ahead of a run (while it is planned) are the ones its folds run on, already warm.

Each case runs in a fresh Python process, so the workers it sees are its own: a process of the test
suite has loky workers left over from earlier tests. Processes are found in ``/proc`` (Linux).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")

SCRIPT = r"""
import fcntl, json, os, sys, time
from pathlib import Path
from core.errors import InputError
from core.data.importing import import_dataset
from core.modeling.evaluation import _workers_started_early, run_baselines
from core.modeling.executors import FitTask, LocalExecutor, start_workers
from core.store import Store
from core.store.run_queue import queue_file

def workers():
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if ppid == os.getpid() and b"loky" in cmd and b"resource_tracker" not in cmd:
            found.append(int(stat.parent.name))
    return sorted(found)

def probe(X, y):
    warm = "sklearn.ensemble" in sys.modules
    time.sleep(0.2)  # long enough that every worker takes some of the tasks
    return os.getpid(), warm

case, store = sys.argv[1], Store(Path(sys.argv[2]))
if case == "ahead":
    start_workers(2).join(120)
    before = workers()
    with LocalExecutor(2) as executor:
        seen = list(executor.results([FitTask(probe, {}, 1.0, str) for _ in range(8)], {0: (None, None)}))
    print(json.dumps({"before": before, "tasks": seen, "after": workers()}))
elif case == "bad input":
    try:
        run_baselines(store, "nosuch", "all", jobs=2)
    except InputError:
        pass
    time.sleep(1.5)  # workers started by mistake would be up by now
    print(json.dumps({"after": workers()}))
elif case == "bad plan":
    import_dataset(store, sys.argv[3], "species")
    try:
        run_baselines(store, "penguins", "all", folds=500, jobs=2)  # more folds than rows: found while planning
    except InputError:
        pass
    time.sleep(0.5)  # killed workers are gone by now; started ones would live on, idle, until the process ends
    print(json.dumps({"after": workers()}))
elif case == "queue busy":
    with queue_file(store).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # another group holds the machine
        with _workers_started_early(store, 2, None, True):
            pass
        time.sleep(1.5)
        busy = workers()
    with _workers_started_early(store, 2, None, True):  # the queue is free: this run goes first
        pass
    deadline = time.monotonic() + 60
    while len(workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    print(json.dumps({"busy": busy, "free": workers()}))
"""


def _run(case: str, tmp_path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, case, str(tmp_path / "store.duckdb"), str(SAMPLES / "penguins.csv")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_uses_the_workers_started_ahead_one_with_scikit_learn_already_imported(tmp_path):
    seen = _run("ahead", tmp_path)
    assert len(seen["before"]) == 2
    assert {pid for pid, _ in seen["tasks"]} <= set(seen["before"])  # reused, not started again
    assert seen["after"] == seen["before"]
    assert any(warm for _, warm in seen["tasks"])  # one worker had imported it before any task asked


def test_bad_input_starts_no_workers(tmp_path):
    assert _run("bad input", tmp_path)["after"] == []


def test_workers_started_for_a_run_whose_planning_finds_bad_input_are_killed(tmp_path):
    """Else the process, ending on the one-line error, would wait for their imports."""
    assert _run("bad plan", tmp_path)["after"] == []


def test_a_run_waiting_behind_another_group_starts_no_workers_until_it_could_go_first(tmp_path):
    seen = _run("queue busy", tmp_path)
    assert seen["busy"] == []
    assert len(seen["free"]) == 2
