"""A writer waiting for the store goes before new readers.

DuckDB lets one process write or many read, and a writer cannot open the file while any reader has
it open. Readers that come and go faster than the writer retries (the app's threads: the runs
table's poll, a run's detail, a diagnosis) can keep the file open without a gap for longer than the
writer waits, and a run failed "locked by another process" behind reads none longer than 0.4 s.
So a writer refused for a lock marks the store (a file beside it, touched at each retry), and a
reader about to open waits while the mark is fresh, at most :data:`YIELD_MAX_S`: the readers
drain, the writer gets its gap, and then removes the mark. A mark left by a writer that died goes
stale within :data:`FRESH_S` and is ignored.
"""

from __future__ import annotations

import time
from pathlib import Path

FRESH_S = 0.5  # a waiting writer touches its mark every retry, at most 50 ms apart
YIELD_MAX_S = 2.0  # a reader never waits longer than this for writers
_LOOK_EVERY_S = 0.01


def mark_of(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".writer-waiting")


def writer_waiting(mark: Path) -> bool:
    """Whether a writer marked the store within the last :data:`FRESH_S`."""
    try:
        return time.time() - mark.stat().st_mtime < FRESH_S
    except OSError:
        return False


def let_writer_first(mark: Path) -> None:
    """Before a reader opens: wait while a writer waits (bounded by :data:`YIELD_MAX_S`)."""
    end = time.monotonic() + YIELD_MAX_S
    while writer_waiting(mark) and time.monotonic() < end:
        time.sleep(_LOOK_EVERY_S)


def mark_waiting(mark: Path) -> None:
    """A writer was refused for a lock: say so to the readers (a read-only folder: nothing to do)."""
    try:
        mark.touch()
    except OSError:
        pass


def unmark(mark: Path) -> None:
    try:
        mark.unlink(missing_ok=True)
    except OSError:
        pass
