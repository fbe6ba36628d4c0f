"""How far an import is, for the command line's status line and the import dialog.

An import goes through stages (scanning and hashing the bytes, reading them into DuckDB, splitting,
storing, profiling). Python's own pass over the bytes counts them; DuckDB tells how far its running
query is (``query_progress()``, a percentage, asked from another thread while the query runs). A
:class:`Ticker` thread samples whichever applies to the current stage a few times a second and hands
an :class:`ImportStep` to the caller's callback, always from that one thread (a TUI forwards it to
its event loop). Without a callback there is no thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import duckdb

INTERVAL_S = 0.2


@dataclass(frozen=True)
class ImportStep:
    """One progress report: the stage, how far into it (0-1, when known), the files' size, the rows."""

    stage: str
    fraction: float | None
    total_bytes: int
    rows: int | None = None

    def line(self) -> str:
        """``reading 120 MB of 268 MB (45%)`` while the files are read; ``profiling 1,000,000 rows (30%)`` after."""
        pct = "" if self.fraction is None else f" ({self.fraction:.0%})"
        if self.rows is not None:
            return f"import: {self.stage} {self.rows:,} rows{pct}"
        done = "" if self.fraction is None else f"{size_text(self.fraction * self.total_bytes)} of "
        return f"import: {self.stage} {done}{size_text(self.total_bytes)}{pct}"


Report = Callable[[ImportStep], None]
Probe = Callable[[], float | None]


def size_text(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def query_probe(con: duckdb.DuckDBPyConnection) -> Probe:
    """How far ``con``'s running query is (0-1), or None when DuckDB cannot tell; DuckDB's own bar is
    turned off (it would draw on stdout, into ``--json`` output)."""
    con.execute("SET enable_progress_bar = true")  # DuckDB tracks progress only then...
    con.execute("SET enable_progress_bar_print = false")  # ...and must not draw its own bar

    def probe() -> float | None:
        p = con.query_progress()
        return min(p / 100, 1.0) if p >= 0 else None

    return probe


class Ticker:
    """Reports the current stage every :data:`INTERVAL_S` from a thread of its own, until closed."""

    def __init__(self, report: Report | None, total_bytes: int) -> None:
        self._report = report
        self._total = total_bytes
        self._lock = threading.Lock()
        self._state: tuple[str, Probe | None, int | None] | None = None  # no stage yet: nothing to tell
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-progress", daemon=True)
        if report is not None:
            self._thread.start()

    def stage(self, name: str, probe: Probe | None = None, rows: int | None = None) -> None:
        with self._lock:
            self._state = (name, probe, rows)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> Ticker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _run(self) -> None:
        assert self._report is not None
        last: ImportStep | None = None
        while not self._stop.wait(INTERVAL_S):
            with self._lock:
                state = self._state
            if state is None:
                continue
            name, probe, rows = state
            try:
                fraction = probe() if probe is not None else None
            except Exception:  # the connection closed between two stages: nothing to tell
                fraction = None
            step = ImportStep(name, fraction, self._total, rows)
            if step == last:
                continue
            try:
                self._report(step)
            except Exception:  # a callback that fails (an app closing) stops the reports, never the import
                return
            last = step
