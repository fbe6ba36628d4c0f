"""Stores attached to this process's DuckDB instance (core.store.attached): what opening and closing
a connection must still guarantee now that they are ATTACH and DETACH."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from core.data.importing import import_dataset
from core.store import Store
from core.store.attached import close_attached, open_attached
from core.store.connection import NO_EXTENSIONS

TAKE_THE_LOCK = """
import sys, duckdb
duckdb.connect(sys.argv[1]).execute("INSERT INTO meta VALUES ('other', 'process')").close()
"""


def test_a_closed_connection_leaves_the_file_to_other_processes_and_two_stores_stay_apart(tmp_path):
    one, two = Store(tmp_path / "one.duckdb"), Store(tmp_path / "two.duckdb")
    with one.write() as con:
        con.execute("INSERT INTO meta VALUES ('store', 'one')")
    with one.read() as a, two.read() as b:  # both attached at once, each connection sees its own
        assert a.execute("SELECT value FROM meta WHERE key = 'store'").fetchone() == ("one",)
        assert b.execute("SELECT value FROM meta WHERE key = 'store'").fetchone() is None
        assert one.schema_version() == two.schema_version()  # the version check looks at its own tables only
    done = subprocess.run([sys.executable, "-c", TAKE_THE_LOCK, str(one.path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # detached: the lock went with it
    with one.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'other'").fetchone() == ("process",)


def test_readers_share_one_attachment_and_the_last_one_detaches(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    store.schema_version()
    first = open_attached(store.path, True, NO_EXTENSIONS)
    second = open_attached(store.path, True, NO_EXTENSIONS)
    catalog = "SELECT current_database()"
    assert first.execute(catalog).fetchone() == second.execute(catalog).fetchone()
    assert close_attached(first)
    assert second.execute("SELECT count(*) FROM runs").fetchone() == (0,)  # still attached for the other
    assert close_attached(second)
    assert not close_attached(second)  # closed once only
    done = subprocess.run([sys.executable, "-c", TAKE_THE_LOCK, str(store.path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_imports_memory_limit_and_threads_stay_in_its_own_instance(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.read() as con:
        before = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    pd.DataFrame({"x": range(40), "y": ["a", "b"] * 20}).to_csv(tmp_path / "d.csv", index=False)
    import_dataset(store, tmp_path / "d.csv", "y", memory="64MB")
    with store.read() as con:
        after = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    assert after == before


def test_a_forked_child_opens_the_store_on_an_instance_of_its_own(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.write() as con:
        con.execute("INSERT INTO meta VALUES ('from', 'parent')")
    with store.read():  # the parent's instance exists (and has the file attached) when it forks
        pass
    pid = os.fork()
    if pid == 0:  # the child: read and write through the store as any process would
        try:
            with store.write() as con:
                con.execute("INSERT INTO meta VALUES ('child', 'wrote')")
            os._exit(0)
        except BaseException as e:
            os.write(2, repr(e).encode())
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with store.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'child'").fetchone() == ("wrote",)
