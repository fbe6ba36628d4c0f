"""A run's commits keep the store attached between them, and other processes still get in."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from core.store import Store, held_writes
from core.store.attached import attached_for_writes
from tests.concurrency import OPEN_PLAIN_READER

# Reads a key of the meta table through the store, as the app or `mlloop runs` does (marking itself waiting).
READ_THROUGH_STORE = """
import sys
from core.store import Store
with Store(sys.argv[1], lock_timeout=20).read() as con:
    print(con.execute("SELECT value FROM meta WHERE key = 'k'").fetchone()[0])
"""
READ_PLAIN = OPEN_PLAIN_READER + """print(con.execute("SELECT value FROM meta WHERE key = 'k'").fetchone()[0])\n"""
# Commits five values while holding the store, says so, and waits to be killed.
COMMIT_THEN_WAIT = """
import sys, time
from core.store import Store
store = Store(sys.argv[1])
with store.writes_held():
    for i in range(5):
        with store.write() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"k{i}", str(i)])
    print("committed", flush=True)
    time.sleep(60)
"""


def _put(store: Store, value: str) -> None:
    with store.write() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('k', ?)", [value])


def _child(code: str, store: Store) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True, timeout=60)


def test_the_file_stays_attached_between_held_writes_and_is_let_go_after(store):
    with store.writes_held():
        for value in "abc":
            _put(store, value)
            assert attached_for_writes(store.path)  # no detach (and checkpoint) after the commit
    assert not attached_for_writes(store.path)
    assert _child(READ_PLAIN, store).stdout.strip() == "c"  # at once: nothing is kept after the block


def test_a_reader_in_another_process_makes_the_holder_let_go(store, monkeypatch):
    monkeypatch.setattr(held_writes, "HOLD_MAX_S", 3600.0)  # only the reader's mark can free the file
    with store.writes_held():
        _put(store, "before")
        assert attached_for_writes(store.path)
        read = _child(READ_THROUGH_STORE, store)
        assert read.returncode == 0, read.stderr
        assert read.stdout.strip() == "before"  # it got in, and saw what was committed
        _put(store, "after")  # and the holder writes on
    with store.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'k'").fetchone() == ("after",)


def test_a_program_that_does_not_ask_still_gets_in_between_commits(store):
    stop = threading.Event()

    def commit_every_20_ms() -> None:
        n = 0
        while not stop.is_set():
            _put(store, str(n))
            n += 1
            time.sleep(0.02)

    with store.writes_held():
        writer = threading.Thread(target=commit_every_20_ms)
        writer.start()
        try:
            read = _child(READ_PLAIN, store)  # refused while the file is kept; never marks
        finally:
            stop.set()
            writer.join()
    assert read.returncode == 0, read.stderr  # the file is let go at least every HOLD_MAX_S
    assert read.stdout.strip().isdigit()


def test_commits_of_a_holder_killed_mid_run_are_kept(store):
    store.schema_version()
    proc = subprocess.Popen(
        [sys.executable, "-c", COMMIT_THEN_WAIT, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "committed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with store.read() as con:  # the write-ahead log is replayed
        rows = con.execute("SELECT key, value FROM meta WHERE key LIKE 'k_' ORDER BY key").fetchall()
    assert rows == [(f"k{i}", str(i)) for i in range(5)]


def test_work_on_an_instance_of_its_own_gets_the_file_from_a_hold(store):
    with store.writes_held():
        _put(store, "held")
        with store.write(own_instance=True) as con:  # as an import does; the same file, another DuckDB instance
            con.execute("INSERT OR REPLACE INTO meta VALUES ('k', 'own')")
        _put(store, "held again")
    with store.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'k'").fetchone() == ("held again",)


@pytest.mark.parametrize("waiting", ["reader", "writer"])
def test_a_mark_from_either_side_counts_as_waiting(store, waiting):
    from core.store.writer_first import mark_of, mark_waiting

    store.schema_version()
    assert not held_writes.others_waiting(store.path)
    mark_waiting(held_writes.reader_mark_of(store.path) if waiting == "reader" else mark_of(store.path))
    assert held_writes.others_waiting(store.path)
