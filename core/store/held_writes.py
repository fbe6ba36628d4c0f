"""Keeping the store attached between a run's writes, and letting other processes in on request.

A run commits every fold the moment it lands. Attaching the file for each commit and detaching it
after (which checkpoints it) cost about 37 ms of a 78 ms commit on a loaded 2-core machine, CPU the
demo's 120 folds took from the workers (the demo without the app: 23.1 s, 21.7 s with the hold).
While :func:`writes_held` is active, the file stays attached read-write between commits
(:func:`core.store.attached.keep`), and the commits only append to DuckDB's write-ahead log.

Another process cannot open the file meanwhile, so the hold gives way:

- a process refused the file marks it (a reader: :func:`mark_reader_waiting`; a writer: the mark
  of :mod:`core.store.writer_first`), and a watcher thread lets the file go within
  :data:`WATCH_S`; it keeps it again once no mark is fresh;
- every :data:`HOLD_MAX_S` the file is let go anyway, so a program that does not mark (the
  ``duckdb`` shell on the store) finds it free between two commits at least that often.

A process killed while holding leaves its commits in the write-ahead log, which the next opening
replays: nothing committed is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.store.attached import attached_for_writes, keep, let_go
from core.store.writer_first import mark_of, mark_waiting, unmark, writer_waiting

WATCH_S = 0.02  # how often the watcher looks for a process waiting
HOLD_MAX_S = 1.0  # the file is let go at least this often


def reader_mark_of(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".reader-waiting")


def mark_reader_waiting(store_path: Path) -> None:
    """A reader was refused the file: ask a holding writer to let it go."""
    mark_waiting(reader_mark_of(store_path))


def unmark_reader(store_path: Path) -> None:
    unmark(reader_mark_of(store_path))


def others_waiting(store_path: Path) -> bool:
    """Whether another process marked the store within the last moment (a reader or a writer)."""
    return writer_waiting(reader_mark_of(store_path)) or writer_waiting(mark_of(store_path))


@contextmanager
def writes_held(store_path: Path) -> Iterator[None]:
    """Keep ``store_path`` attached between the block's writes (see the module); on leaving, let it
    go (detached and checkpointed once its last user closes)."""
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(store_path, stop), name="mlloop-hold", daemon=True)
    keep(store_path)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        let_go(store_path)


def _watch(store_path: Path, stop: threading.Event) -> None:
    kept_since: float | None = time.monotonic()
    while not stop.wait(WATCH_S):
        waiting = others_waiting(store_path)
        now = time.monotonic()
        if kept_since is not None and (waiting or now - kept_since >= HOLD_MAX_S):
            let_go(store_path)
            kept_since = None
        # kept again once the file is detached: kept sooner, a commit under way would keep it attached
        if kept_since is None and not waiting and not attached_for_writes(store_path) and not stop.is_set():
            keep(store_path)
            kept_since = now
