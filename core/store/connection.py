"""The DuckDB store: one file holding datasets, runs, fold scores, GLM tables and curves.

DuckDB lets one process write *or* many processes read, and an open reader blocks a
writer. So nothing here holds a connection while idle: every unit of work opens a
connection, does its work, and closes it; lock conflicts are retried with a short jittered
backoff. Opening attaches the file to this process's DuckDB instance (:mod:`core.store.attached`),
closing detaches it. Inside one process, DuckDB refuses a read-only and a read-write connection to the
same file at once, so a per-file gate lets in many readers or one writer. A block of reads
may share one connection (:meth:`Store.reading`), which closes itself when idle: no reader
holds the store while it computes. The one exception is a run's stream of commits, which keeps the
file between them (:meth:`Store.writes_held`) and lets it go when another process asks.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.errors import StoreError
from core.store.attached import close_attached, let_go, open_attached
from core.store.held_writes import mark_reader_waiting, unmark_reader, writes_held
from core.store.migrations import MIGRATIONS, SCHEMA_VERSION
from core.store.sigint import sigint_held, sigint_pending
from core.store.sql import one_row
from core.store.writer_first import let_writer_first, mark_of, mark_waiting, unmark, writer_waiting
from core.text import first_line

DEFAULT_STORE = "mlloop.duckdb"
STORE_ENV = "MLLOOP_STORE"
LOCK_TIMEOUT_S = 30.0
# A store never fetches or loads an extension: opening an SQLite file would otherwise download
# DuckDB's sqlite_scanner from the network, and the store has no use for any extension.
NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {  # the type duckdb.connect's config takes
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
# A query a user typed (`mlloop sql`) runs read-only, and touches no file but the store: no COPY TO, ATTACH,
# read_csv or EXPORT, no INSTALL or LOAD; and it cannot SET these back.
SANDBOX: dict[str, str | bool | int | float | list[str]] = NO_EXTENSIONS | {
    "enable_external_access": False,
    "lock_configuration": True,
}
DUCKDB_MAGIC = b"DUCK"  # bytes 8-12 of every DuckDB file, after the header checksum


IDLE_CLOSE_S = 0.1  # a shared read connection unused this long is closed: a writer may be waiting
# Retrying a locked store: a refused connect costs ~10 ms, and the gaps between a busy app's reads
# can be as short as 0.1 s, so a waiting writer retries every 50 ms at most rather than backing off
# further and missing every gap (under load a run's writes then failed behind reads none longer than 0.4 s).
RETRY_FIRST_S = 0.01
RETRY_MAX_S = 0.05

_gates: dict[str, _FileGate] = {}
_gates_guard = threading.Lock()


def default_store_path() -> Path:
    """``$MLLOOP_STORE`` if set, else ``./mlloop.duckdb``."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


class _FileGate:
    """This process's connections to one file: any number of read-only ones, or one read-write.

    DuckDB refuses a read-only and a read-write connection to the same file in one process.
    Unlike a lock, a read share may be released by another thread: a shared read connection
    is closed by its idle timer.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: int | None = None  # the writing thread's ident
        self._depth = 0  # nested write connections of that thread

    def acquire(self, read_only: bool) -> None:
        me = threading.get_ident()
        with self._cond:
            if read_only:
                self._cond.wait_for(lambda: self._writer is None)
                self._readers += 1
            elif self._writer == me:
                self._depth += 1
            else:
                self._cond.wait_for(lambda: self._writer is None and not self._readers)
                self._writer, self._depth = me, 1

    def release(self, read_only: bool) -> None:
        with self._cond:
            if read_only:
                self._readers -= 1
            else:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
            self._cond.notify_all()


def _gate(path: Path) -> _FileGate:
    with _gates_guard:
        return _gates.setdefault(str(path), _FileGate())


class _SharedRead:
    """One thread's read connection inside :meth:`Store.reading`: reused by back-to-back reads,
    closed as soon as it has been idle for ``IDLE_CLOSE_S`` (a block may compute for minutes
    between two reads, and an open reader blocks every writer)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._mutex = threading.RLock()  # a read nested in a read reuses the connection
        self._con: duckdb.DuckDBPyConnection | None = None
        self._users = 0  # reads using the connection now (nested ones included)
        self._timer: threading.Timer | None = None

    @contextmanager
    def use(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._mutex:
            counted = False
            try:
                with sigint_held():  # a Ctrl-C that came meanwhile is raised as it ends, once counted
                    self._cancel_timer()
                    if self._con is not None and not self._users and writer_waiting(mark_of(self._store.path)):
                        con, self._con = self._con, None
                        _close_and_release(con, self._store.path, read_only=True)  # let the writer in
                    if self._con is None:
                        self._con = self._store._open_gated(read_only=True)
                    self._users += 1
                    counted = True
                yield self._con
            finally:
                if counted:  # uncounted, the idle timer never starts and the connection stays open
                    with sigint_held():
                        self._users -= 1
                        self._timer = threading.Timer(IDLE_CLOSE_S, self.close)
                        self._timer.daemon = True
                        self._timer.start()

    def close(self) -> None:
        with self._mutex, sigint_held():
            self._cancel_timer()
            con, self._con = self._con, None
            if con is not None:
                _close_and_release(con, self._store.path, read_only=True)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    # the second: this process's instance keeps the file for a run while another instance of it opens it
    return ("lock" in text and ("conflicting" in text or "could not set" in text)) or "file handle conflict" in text


class Store:
    """A handle on a store file. Cheap to create; holds no connection."""

    def __init__(self, path: str | os.PathLike[str], lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser().resolve()
        self.lock_timeout = lock_timeout
        self._ready = False
        self._session = threading.local()  # this thread's shared read connection (see reading)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @contextmanager
    def read(self, *, own_instance: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for one unit of work (inside :meth:`reading`, the shared one).

        ``own_instance``: on a DuckDB instance of its own, for a read that SETs a memory limit of its own.
        """
        self._ensure_schema()
        shared: _SharedRead | None = getattr(self._session, "shared", None)
        if shared is not None and not own_instance:
            with shared.use() as con:
                yield con
            return
        with self._connect(read_only=True, own_instance=own_instance) as con:
            yield con

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Let this thread's back-to-back reads share one connection until the block ends.

        Opening a connection costs ~10 ms, and a computation that reads a run, its dataset, its
        curves and its neighbours opens twenty. The shared connection closes itself whenever it
        sits idle for ``IDLE_CLOSE_S``, so the computing between reads (a dummy fit, a whole
        export) never holds the store: another process's writer waits for reads, not for work.
        A write inside the block closes the shared connection first (DuckDB allows one
        configuration per file).
        """
        if getattr(self._session, "shared", None) is not None:
            yield
            return
        self._session.shared = _SharedRead(self)
        try:
            yield
        finally:
            self._close_session()

    def _close_session(self) -> None:
        shared: _SharedRead | None = getattr(self._session, "shared", None)
        if shared is not None:
            self._session.shared = None  # first: a Ctrl-C out of close() must not leave it to the next block
            shared.close()

    @contextmanager
    def write(self, *, own_instance: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction: all of it lands, or none.

        ``own_instance``: on a DuckDB instance of its own, for work that SETs instance-wide options
        (memory limit, threads) which must not reach this process's other connections.
        """
        self._ensure_schema()
        shared: _SharedRead | None = getattr(self._session, "shared", None)
        if shared is not None:
            shared.close()  # the block goes on; its next read opens a new connection
        with self._connect(read_only=False, own_instance=own_instance) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException as e:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # a failed COMMIT (or an aborted transaction) already ended it
                failure = _write_failure(e)
                if failure == "full":
                    raise StoreError(
                        f"the disk holding {self.path} is full: this change was not written, and nothing "
                        "stored before it was lost"
                    ) from e
                if failure == "read-only":
                    raise StoreError(
                        f"cannot write to {self.path}: its folder or file is read-only (no permission to create "
                        "or change it); this change was not written, and nothing stored before it was lost"
                    ) from e
                raise

    @contextmanager
    def writes_held(self) -> Iterator[None]:
        """Keep the file attached between this block's writes, letting it go whenever another process
        waits for it (:mod:`core.store.held_writes`): for a stream of small commits, such as a run's folds."""
        self._ensure_schema()
        with writes_held(self.path):
            yield

    @contextmanager
    def sandboxed(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection under :data:`SANDBOX`, for one query a user typed; it holds the store
        (and, in this process, the file: DuckDB opens a file with one configuration at a time) until closed."""
        self._ensure_schema()
        if getattr(self._session, "reads_held", 0):
            raise RuntimeError("a sandboxed read inside a read of the same store would wait for itself")
        shared: _SharedRead | None = getattr(self._session, "shared", None)
        if shared is not None:
            shared.close()  # as for a write: the block's next read opens a new connection
        con = None
        try:
            with sigint_held():
                # alone in this process (the write side of the gate), though it only reads
                con = self._open_gated(read_only=False, opened_read_only=True, config=SANDBOX)
            yield con
        finally:
            if con is not None:
                with sigint_held():
                    _close_and_release(con, self.path, read_only=False)

    def change_stamp(self) -> tuple[int, ...]:
        """A cheap fingerprint of what readers show; it changes whenever a dataset, run, fold or a
        dataset's quality check (the warnings on its scores) lands."""
        with self.read() as con:
            return one_row(
                con.execute(
                    """SELECT (SELECT count(*) FROM datasets), (SELECT coalesce(max(id), 0) FROM runs),
                          (SELECT count(*) FROM fold_results), (SELECT count(*) FROM glm_summaries),
                          (SELECT coalesce(sum(hash(status, coalesce(finished_at, 0))), 0) FROM runs),
                          (SELECT coalesce(sum(hash(dataset_id, finished_at)), 0) FROM quality_checks
                           WHERE status = 'done')"""
                )
            )

    def schema_version(self) -> int:
        with self.read() as con:
            return _version(con, self.path)

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        if self.path.exists():
            _check_duckdb_header(self.path)
            with self._connect(read_only=True) as con:
                version = _version(con, self.path)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer mlloop (schema {version} > {SCHEMA_VERSION}); upgrade mlloop"
                )
            if version == SCHEMA_VERSION:
                self._ready = True
                return
        elif not self.path.parent.is_dir():
            raise StoreError(f"cannot create store {self.path}: folder {self.path.parent} does not exist")
        with self._connect(read_only=False) as con:
            version = _version(con, self.path)
            con.execute("BEGIN TRANSACTION")
            for step in range(version, SCHEMA_VERSION):
                con.execute(MIGRATIONS[step])
            from core.store.views import create_rows_views  # it builds on this module

            create_rows_views(con)  # per-dataset views are written from the data layout, not by a step
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            con.execute("COMMIT")
        self._ready = True

    @contextmanager
    def _connect(self, read_only: bool, own_instance: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        held = getattr(self._session, "reads_held", 0)
        if not read_only and held:
            raise RuntimeError("a write inside a read of the same store would wait for itself")
        con = None
        try:
            with sigint_held():  # a Ctrl-C now would leave the gate taken (core.store.sigint)
                con = self._open_gated(read_only, own_instance=own_instance)
                self._session.reads_held = held + read_only
            yield con
        finally:
            if con is not None:
                with sigint_held():
                    self._session.reads_held = held
                    _close_and_release(con, self.path, read_only)

    def _open_gated(
        self,
        read_only: bool,
        opened_read_only: bool | None = None,
        config: dict[str, str | bool | int | float | list[str]] | None = None,
        own_instance: bool = False,
    ) -> duckdb.DuckDBPyConnection:
        """Take this process's gate for the file (its read or its write side), then open (read-only
        as ``opened_read_only`` says, else as the gate); the caller closes and releases.

        The file is attached to this process's instance, unless ``config`` (a sandbox) or
        ``own_instance`` asks for an instance of its own."""
        gate = _gate(self.path)
        gate.acquire(read_only)
        try:
            return self._open_with_retry(
                read_only if opened_read_only is None else opened_read_only, config, own_instance
            )
        except BaseException:
            gate.release(read_only)
            raise

    def _open_with_retry(
        self,
        read_only: bool,
        config: dict[str, str | bool | int | float | list[str]] | None,
        own_instance: bool,
    ) -> duckdb.DuckDBPyConnection:
        mark = mark_of(self.path)
        if read_only:
            let_writer_first(mark)
        marked = False
        deadline = time.monotonic() + self.lock_timeout
        delay = RETRY_FIRST_S
        attach = config is None and not own_instance
        if not attach:
            let_go(self.path)  # another instance of this process cannot open a file this one keeps
        try:
            while True:
                try:
                    if attach:
                        return open_attached(self.path, read_only, NO_EXTENSIONS)
                    return duckdb.connect(str(self.path), read_only=read_only, config=config or NO_EXTENSIONS)
                except duckdb.Error as e:
                    if not _is_lock_conflict(e):
                        raise StoreError(f"cannot open store {self.path}: {first_line(e)}") from e
                    if time.monotonic() >= deadline:
                        raise StoreError(
                            f"store {self.path} is locked by another process for more than {self.lock_timeout:g} s"
                        ) from e
                if not read_only:
                    mark_waiting(mark)  # new readers hold back until this writer is in
                else:
                    mark_reader_waiting(self.path)  # a run holding the file lets it go (core.store.held_writes)
                marked = True
                if sigint_pending():  # Ctrl-C while waiting for the lock: stop waiting
                    raise KeyboardInterrupt
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, RETRY_MAX_S)
        finally:
            if marked and read_only:
                unmark_reader(self.path)
            elif marked:
                unmark(mark)


def _close_and_release(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    """Close a gated connection and give its gate back, even if closing fails."""
    try:
        if not close_attached(con):
            con.close()
    finally:
        _gate(path).release(read_only)


_WRITE_FAILURES = {
    "no space left on device": "full",
    "operation not permitted": "read-only",
    "permission denied": "read-only",
    "read-only file system": "read-only",
}


def _write_failure(exc: BaseException | None) -> str | None:
    """``"full"`` or ``"read-only"`` when an error, or one it was raised from or while handling, says the
    file system refused the write (DuckDB reports these as IO or transaction errors); else None."""
    seen = 0
    while exc is not None and seen < 10:
        text = str(exc).lower()
        for words, failure in _WRITE_FAILURES.items():
            if words in text:
                return failure
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _check_duckdb_header(path: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB reads it (it would try to load an
    extension for an SQLite file, say)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as e:
        raise StoreError(f"cannot open store {path}: {e.strerror or e}") from e
    if head and head[8:12] != DUCKDB_MAGIC:
        raise StoreError(f"cannot open store {path}: it is not a DuckDB database; give another --store")


def _version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The store's schema version: 0 for a file with no tables yet (a new store).

    A DuckDB file with tables but no mlloop schema version is someone else's database (or a damaged
    store): refused, so that nothing adds mlloop's tables to it.
    """
    tables = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall()
    }
    if not tables:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if "meta" in tables else None
    if row is None or not str(row[0]).isdigit():
        raise StoreError(
            f"{path} is a DuckDB database but not an mlloop store (no valid schema version); "
            "give another --store, or move the file"
        )
    return int(row[0])
