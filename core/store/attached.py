"""This process's DuckDB instance, to which a store file is attached for each unit of work.

``duckdb.connect(path)`` builds a whole DuckDB instance each time (its catalog of built-in
functions, its threads): about 30 ms to open and 13 ms to close, more than the write of a fold's
scores itself, and a run writes every fold. One in-memory instance kept for the life of the
process attaches the file in about 7 ms, and DETACH releases the file's lock as closing did, so
other processes still get in between two units of work. Each connection handed out is a cursor
of that instance whose default catalog is the store, so SQL names the store's tables as before.

Readers of one file in this process share its read-only attachment; the per-file gate in
:mod:`core.store.connection` never lets a writer in beside them. Work that changes instance-wide
settings (an import's memory limit and threads) opens an instance of its own instead.

A file may be *kept* (:func:`keep`): its read-write attachment then outlives its last user until
:func:`let_go`, so a run committing fold after fold neither attaches nor checkpoints for each
(:mod:`core.store.held_writes` decides when to let other processes in). This process's readers
use the kept attachment as it is.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.store.sql import quote_ident, sql_string


@dataclass
class _Attachment:
    alias: str
    read_only: bool
    users: int = 0


class _Instance:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.db: duckdb.DuckDBPyConnection | None = None
        self.attached: dict[str, _Attachment] = {}  # by file path
        self.handed: dict[int, tuple[duckdb.DuckDBPyConnection, str]] = {}  # by id() of the cursor
        self.aliases = 0
        self.kept: set[str] = set()  # files whose read-write attachment stays after its last user


_instance = _Instance()
_parents: list[_Instance] = []  # a forked child's inherited instances, never closed nor freed


def _forget_in_child() -> None:
    """A forked child must not use the parent's instance (its threads did not survive the fork), nor
    free it: shutting that instance down in the child crashes it."""
    global _instance
    _parents.append(_instance)
    _instance = _Instance()


os.register_at_fork(after_in_child=_forget_in_child)


def open_attached(
    path: Path, read_only: bool, config: dict[str, str | bool | int | float | list[str]]
) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is the store at ``path``; close it with :func:`close_attached`.

    Raises what ATTACH raises (a lock held by another process, a damaged file) with nothing attached.
    """
    inst, key = _instance, str(path)
    with inst.lock:
        if inst.db is None:
            # Without the allocator's background threads, the memory of a large read (a sample drawn from
            # millions of rows) stayed with the process after DETACH, while a run's workers loaded theirs.
            inst.db = duckdb.connect(config={**config, "allocator_background_threads": True})
        attachment = inst.attached.get(key)
        if attachment is None:
            inst.aliases += 1
            attachment = _Attachment(f"store_{inst.aliases}", read_only)
            mode = " (READ_ONLY)" if read_only else ""
            inst.db.execute(f"ATTACH {sql_string(key)} AS {quote_ident(attachment.alias)}{mode}")
            inst.attached[key] = attachment
        elif attachment.read_only and not read_only:
            raise RuntimeError(f"{path} is attached read-only in this process; the gate should have kept writers out")
        attachment.users += 1
        try:
            cursor = inst.db.cursor()
            cursor.execute(f"USE {quote_ident(attachment.alias)}")
        except BaseException:
            _release(inst, key)
            raise
        inst.handed[id(cursor)] = (cursor, key)
        return cursor


def close_attached(con: duckdb.DuckDBPyConnection) -> bool:
    """Close a connection :func:`open_attached` gave, detaching its file after its last user;
    False (and nothing done) for any other connection."""
    inst = _instance
    with inst.lock:
        entry = inst.handed.pop(id(con), None)  # the entry holds the cursor, so its id is not reused meanwhile
        if entry is None:
            return False
        try:
            con.close()
        finally:
            _release(inst, entry[1])
        return True


def keep(path: Path) -> None:
    """Keep ``path``'s read-write attachment after its last user closes (from its next one on)."""
    with _instance.lock:
        _instance.kept.add(str(path))


def let_go(path: Path) -> None:
    """Stop keeping ``path``: detach it now if nobody uses it, else when its last user closes."""
    inst, key = _instance, str(path)
    with inst.lock:
        inst.kept.discard(key)
        attachment = inst.attached.get(key)
        if attachment is not None and not attachment.users:
            _detach(inst, key)


def attached_for_writes(path: Path) -> bool:
    """Whether ``path`` is attached read-write in this process now (in use or kept)."""
    with _instance.lock:
        attachment = _instance.attached.get(str(path))
        return attachment is not None and not attachment.read_only


def _release(inst: _Instance, key: str) -> None:
    """One user fewer; the last one detaches the file, unless it is kept."""
    attachment = inst.attached[key]
    attachment.users -= 1
    if not attachment.users and not (key in inst.kept and not attachment.read_only):
        _detach(inst, key)


def _detach(inst: _Instance, key: str) -> None:
    """Detach a file nobody uses, which checkpoints it and releases its lock. Should DETACH fail, the
    instance is closed (if nothing else is attached) so the lock is not kept."""
    attachment = inst.attached.pop(key)
    assert inst.db is not None
    try:
        inst.db.execute(f"DETACH {quote_ident(attachment.alias)}")
    except BaseException:
        if not inst.attached:
            db, inst.db = inst.db, None
            db.close()
        raise
