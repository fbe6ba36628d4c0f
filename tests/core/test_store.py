"""The store: schema versions, lock conflicts with other processes, bad files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from core.errors import StoreError
from core.store import SCHEMA_VERSION, Store
from core.store.writer_first import mark_of
from tests.concurrency import WRITER_LOCK_TIMEOUT, make_slow_diagnosis_store, start_writer, stop_writer

HOLD_WRITE_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_new_store_gets_the_current_schema(store):
    assert not store.path.exists()
    assert store.schema_version() == SCHEMA_VERSION
    with store.read() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {
        "datasets",
        "dataset_columns",
        "runs",
        "fold_results",
        "fold_scores",
        "glm_summaries",
        "glm_coefficients",
        "curve_points",
    } <= tables


def test_a_store_from_a_newer_mlloop_is_refused_untouched(store):
    store.schema_version()
    with store.write() as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    before = store.path.read_bytes()
    with pytest.raises(StoreError, match="newer mlloop"):
        Store(store.path).change_stamp()
    assert store.path.read_bytes() == before


def test_an_empty_database_file_is_migrated(tmp_path):
    path = tmp_path / "plain.duckdb"
    duckdb.connect(str(path)).close()
    assert Store(path).schema_version() == SCHEMA_VERSION


def test_readers_wait_for_a_writer_in_another_process(store):
    store.schema_version()
    holder = _hold_lock(store.path, 1.0)
    try:
        start = time.monotonic()
        assert store.change_stamp()[0] == 0
        assert time.monotonic() - start >= 0.5  # it waited for the lock instead of failing
    finally:
        holder.wait()


def test_a_lock_held_too_long_is_a_clear_error(tmp_path):
    store = Store(tmp_path / "s.duckdb", lock_timeout=0.5)
    store.schema_version()
    holder = _hold_lock(store.path, 5.0)
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            store.change_stamp()
    finally:
        holder.kill()
        holder.wait()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("hello")
    with pytest.raises(StoreError, match="cannot open store"):
        Store(bogus).change_stamp()


def test_a_missing_folder_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "nope" / "s.duckdb").change_stamp()


def test_a_failed_write_leaves_nothing_behind(store):
    store.schema_version()
    with pytest.raises(RuntimeError):
        with store.write() as con:
            con.execute("INSERT INTO meta VALUES ('x', 'y')")
            raise RuntimeError("boom")
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM meta WHERE key = 'x'").fetchone()[0] == 0


WRITE_ONCE = """
import sys
from core.store import Store
with Store(sys.argv[1]).write() as con:
    con.execute("INSERT INTO meta VALUES ('from another process', 'x')")
"""


def test_reads_in_a_reading_block_share_one_connection_and_release_it_after(store, monkeypatch):
    store.schema_version()
    import core.store.connection as connection

    opened = []
    attach = connection.open_attached
    monkeypatch.setattr(connection, "open_attached", lambda path, ro, cfg: opened.append(ro) or attach(path, ro, cfg))
    with store.reading():
        for _ in range(5):
            with store.read() as con:
                con.execute("SELECT 1").fetchone()
        assert opened == [True]
        # a write inside the block closes the shared connection, and later reads see the write
        with store.write() as con:
            con.execute("INSERT INTO meta VALUES ('k', 'v')")
        with store.read() as con:
            assert con.execute("SELECT value FROM meta WHERE key = 'k'").fetchone() == ("v",)
        assert opened == [True, False, True]
    # the block ended: another process can write at once, without waiting for a lock
    done = subprocess.run(
        [sys.executable, "-c", WRITE_ONCE, str(store.path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM meta WHERE key = 'from another process'").fetchone() == (1,)


def test_a_reading_block_that_computes_between_reads_never_blocks_a_writer(store, tmp_path):
    store.schema_version()
    stop = tmp_path / "stop"
    writer = start_writer(store, stop)
    try:
        with store.reading():
            with store.read() as con:
                con.execute("SELECT count(*) FROM runs").fetchone()
            time.sleep(3 * WRITER_LOCK_TIMEOUT)  # computing with nothing to read, for three lock timeouts
            with store.read() as con:
                seen = con.execute("SELECT value FROM meta WHERE key = 'writer'").fetchone()
    finally:
        writes = stop_writer(writer, stop)
    assert seen is not None and int(seen[0]) > 5 and writes > 5  # it wrote on while the block computed


def test_readers_that_overlap_without_a_gap_let_a_waiting_writer_in(store, tmp_path):
    """Three threads reading back to back (an app's poll, detail and diagnosis) keep the file open
    without a gap; a writer in another process must still get in within its lock timeout."""
    import threading

    store.schema_version()
    done = threading.Event()
    reads = [0, 0, 0]

    def read_on(i: int) -> None:
        while not done.is_set():
            with store.read() as con:
                con.execute("SELECT count(*) FROM range(300000)").fetchone()
            reads[i] += 1

    threads = [threading.Thread(target=read_on, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    stop = tmp_path / "stop"
    try:
        writer = start_writer(store, stop)
        time.sleep(4 * WRITER_LOCK_TIMEOUT)
        writes = stop_writer(writer, stop)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert writes > 10 and min(reads) > 10  # both sides went on
    assert not mark_of(store.path).exists()  # the writer's mark is gone once it is in


def test_a_read_nested_in_a_shared_read_keeps_the_connection_while_a_writer_waits(store):
    from core.store.writer_first import mark_waiting

    store.schema_version()
    with store.reading(), store.read() as outer:
        mark_waiting(mark_of(store.path))  # a writer waits: the next read outside any other may close and reopen
        with store.read() as inner:
            assert inner is outer  # nested: the outer read still uses it, so it is not closed under it
        assert outer.execute("SELECT count(*) FROM runs").fetchone() == (0,)


@pytest.fixture(scope="module")
def slow_diagnosis_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_slow_diagnosis_store(tmp_path_factory.mktemp("slow") / "base.duckdb")


@pytest.mark.parametrize("reader", ["diagnose", "export"])
def test_a_long_diagnosis_or_export_never_makes_a_concurrent_writer_fail(reader, slow_diagnosis_base, tmp_path):
    from core.analysis.diagnosis import diagnose
    from core.report.export import export_runs

    shutil.copy(slow_diagnosis_base, tmp_path / "s.duckdb")
    store = Store(tmp_path / "s.duckdb")
    stop = tmp_path / "stop"
    # Half the usual lock timeout: a fast machine diagnoses in under 2 s, and the read must outlast
    # two of the writer's timeouts for the test to show anything.
    lock_timeout = WRITER_LOCK_TIMEOUT / 2
    writer = start_writer(store, stop, lock_timeout)
    try:
        start = time.monotonic()
        if reader == "diagnose":
            assert diagnose(store, 1).dummy_run_id is None  # the dummy was fitted on the run's folds
        else:
            assert "dummy" in export_runs(store, [1], "md")
        took = time.monotonic() - start
    finally:
        writes = stop_writer(writer, stop)
    assert took > 2 * lock_timeout, "too quick to hold the store past the writer's lock timeout"
    assert writes > 5
