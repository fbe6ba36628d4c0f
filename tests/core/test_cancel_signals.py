"""Cancelling is a SIGINT, and it may land anywhere: in a fit, in a query DuckDB is running, or while
a store connection is being opened or closed. Wherever it lands the work ends ``cancelled``, and the
store is free for the next writer (a run's heartbeat, the next queued run)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from core.data.importing import import_dataset
from core.errors import RunCancelled
from core.modeling.evaluation import run_baselines
from core.stopping import interrupt_as_cancel, is_interrupt
from core.store import Store
from core.store.runs import list_runs
from core.store.sigint import sigint_held
from tests.concurrency import OPEN_PLAIN_READER
from tests.core import loop_data


@pytest.fixture(autouse=True)
def python_handles_sigint():
    """A process started in the background by a shell without job control ignores SIGINT (and Python
    then installs no handler): these tests would wait forever for a Ctrl-C that never lands."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def sigint_in(seconds: float, start: bool = True) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    if start:
        timer.start()
    return timer


def test_a_ctrl_c_that_duckdb_takes_mid_query_is_a_cancel():
    con = duckdb.connect(config={"threads": 1})
    sigint_in(0.2)
    with pytest.raises(RunCancelled, match="stopped"), interrupt_as_cancel("stopped"):
        con.execute("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3").fetchall()
    assert is_interrupt(RuntimeError("Query interrupted")) and not is_interrupt(RuntimeError("other"))


def test_a_ctrl_c_inside_a_held_block_is_raised_when_the_block_ends():
    before = signal.getsignal(signal.SIGINT)
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler has run: it only noted the signal
            reached_end = True
    assert reached_end and signal.getsignal(signal.SIGINT) is before
    with sigint_held():  # no signal, nothing raised
        pass


def _write_from_another_thread(store: Store) -> None:
    """Write from a daemon thread, failing (not hanging the suite) when the gate is never given back."""

    def write() -> None:
        with store.write() as con:
            con.execute("INSERT INTO t VALUES (-1)")

    other = threading.Thread(target=write, daemon=True)
    other.start()
    other.join(timeout=10)
    assert not other.is_alive(), "the store's gate was never given back"


def test_ctrl_c_at_any_moment_of_store_work_leaves_the_store_free(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.write() as con:
        con.execute("CREATE TABLE t (i INTEGER)")
    rng = random.Random(0)
    caught = set()
    for _ in range(120):
        timer = sigint_in(rng.uniform(0, 0.03), start=False)
        try:
            try:
                timer.start()  # a short delay on a busy machine: the signal lands before start() returns
                end = time.monotonic() + 0.05
                while time.monotonic() < end:
                    with store.write() as con:
                        con.execute("INSERT INTO t SELECT range FROM range(2000)")
                    with store.reading():
                        for _ in range(2):
                            with store.read() as con:
                                con.execute("SELECT count(*) FROM t").fetchall()
            finally:
                timer.join()  # on a loaded machine the signal may come after the work: it lands in here,
                time.sleep(0.01)  # inside the try, not in the next round or in pytest (which would stop)
        except BaseException as e:
            assert is_interrupt(e), repr(e)
            caught.add(type(e).__name__)
        _write_from_another_thread(store)  # the gate was given back
    assert "KeyboardInterrupt" in caught


def test_a_run_cancelled_at_any_moment_ends_cancelled_never_failed(tmp_path):
    store = Store(tmp_path / "loop.duckdb")
    import_dataset(store, loop_data.circles(tmp_path), "y")
    rng = random.Random(1)
    for _ in range(12):
        timer = sigint_in(rng.uniform(0.05, 1.5), start=False)
        try:
            try:
                timer.start()
                run_baselines(store, "circles", "dummy,linear,tree", folds=5, jobs=1)
            finally:
                timer.join()  # a run faster than the draw (about 1 s here) is over when the signal comes:
                time.sleep(0.01)  # it lands in here, inside the try
        except BaseException as e:  # an interrupt, not RunCancelled, before any run exists or after it ended
            assert isinstance(e, RunCancelled) or is_interrupt(e), repr(e)
    statuses = {r.status for r in list_runs(store)}
    assert "cancelled" in statuses and statuses <= {"cancelled", "done"}, statuses


# A plain reader: it gets in once the run lets the file go between two commits.
HOLD_READ = (
    OPEN_PLAIN_READER
    + """
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
"""
)


def test_a_ctrl_c_while_a_finished_runs_last_write_waits_for_a_reader_leaves_it_done(tmp_path):
    """Ctrl-C stops a wait for the store's lock; when the wait was for the write that finishes a run
    whose folds all landed, that run must still end ``done``, not stay ``running`` (seen in the app's
    demo: a dummy run left ``running``, read back as ``interrupted``)."""
    store = Store(tmp_path / "loop.duckdb")
    import_dataset(store, loop_data.circles(tmp_path), "y")
    readers: list[subprocess.Popen] = []

    def on_progress(p) -> None:
        if p.model == "dummy" and p.done == p.total and p.status == "running" and not readers:
            # its last fold is stored; the write that finishes it will wait for this reader, and a Ctrl-C comes
            reader = subprocess.Popen(
                [sys.executable, "-c", HOLD_READ, str(store.path), "1.0"], stdout=subprocess.PIPE, text=True
            )
            readers.append(reader)
            assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(RunCancelled):
        run_baselines(store, "circles", "dummy,linear", folds=3, jobs=1, on_progress=on_progress)
    readers[0].wait(timeout=30)
    statuses = {r.model: r.status for r in list_runs(store)}
    assert statuses == {"dummy": "done", "linear": "cancelled"}, statuses
