"""Reading one large CSV file on every thread while keeping its rows' order.

The stored ``__row`` is a row's place in the file, which DuckDB's parallel CSV reader gives only
through an order-preserving insert; within an import's memory limit that insert runs on one
thread (its out-of-order batches wait for memory that the rows already read hold): 1.7 s for a
247 MB file under 256 MB, against 0.7 s for the same read on two threads without order.

When every newline of the file ends a record (it has no quote character and no bare CR: the byte
scan knows, :attr:`~core.data.reading.Source.data_lines`), the data lines are cut at newlines
into one byte range per thread. Each range is streamed through a pipe (``os.sendfile``: the bytes
never pass through Python) into a single-threaded DuckDB read of its own, into a table of its
own, all at once: each table's rowids are its range's rows in file order, and the ranges follow
each other. The tables live in an in-memory database attached to the import's instance, written
by cursors outside the import's transaction; the transaction sees them (it first reads that
database after they are written) but cannot write to them, so whatever changes them (NaN made
missing, :mod:`core.data.staging`) is done first, by a cursor of its own.

Any file this does not fit, and any failure of a range's read, gives None: the caller reads the
file whole as before, which reports errors with the file's own line numbers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

from core.data.reading import Source
from core.store.sql import sql_string

PARTS_DB = "_mlloop_ranges"
MIN_RANGE_BYTES = 16 << 20  # below this a range's thread costs more than it saves
_SEND_CHUNK = 4 << 20


def read_ranges(
    con: duckdb.DuckDBPyConnection, source: Source, select: str, aliases: str, fed: list[int]
) -> list[str] | None:
    """The file's data rows in tables ``PARTS_DB.r0``, ``r1`` ... (in file order), or None when the
    file is not cut into ranges (see the module) or a range's read failed.

    ``select`` and ``aliases`` are the staging query's select list and the names it gives the
    file's columns. ``fed`` is filled with the bytes sent so far per range, for progress. A Ctrl-C
    stops every range's read and is raised.
    """
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    ranges = _byte_ranges(source, threads)
    if ranges is None:
        return None
    assert source.read_path is not None
    path = source.read_path
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {PARTS_DB}")
    tables = [f"{PARTS_DB}.r{k}" for k in range(len(ranges))]
    fed[:] = [0] * len(ranges)
    cursors = [con.cursor() for _ in ranges]
    pipes = [os.pipe() for _ in ranges]
    errors: list[BaseException | None] = [None] * len(ranges)
    readers, feeders = [], []
    for k, ((start, end), (r, w), cursor) in enumerate(zip(ranges, pipes, cursors)):
        cursor.execute("SET SESSION preserve_insertion_order = false")  # one thread: rows land in order anyway
        query = (
            f"CREATE OR REPLACE TABLE {tables[k]} AS SELECT {select} "
            f"FROM {_range_read(source, f'/dev/fd/{r}')} AS src({aliases})"
        )
        readers.append(threading.Thread(target=_run, args=(cursor, query, errors, k), daemon=True))
        feeders.append(threading.Thread(target=_send, args=(path, start, end, w, fed, k), daemon=True))
    try:
        for t in (*readers, *feeders):
            t.start()
        for t in readers:
            t.join()
    except BaseException:
        for cursor in cursors:
            cursor.interrupt()
        raise
    finally:
        for t in readers:
            t.join()
        for r, _ in pipes:
            os.close(r)  # a feeder still blocked on a reader that stopped early gets EPIPE and ends
        for t in feeders:
            t.join()
        for cursor in cursors:
            cursor.close()
    if any(e is not None for e in errors):
        with con.cursor() as cleanup:
            for table in tables:
                cleanup.execute(f"DROP TABLE IF EXISTS {table}")
        return None
    return tables


def _range_read(source: Source, path: str) -> str:
    """A single-threaded read of the data rows at ``path`` (a byte range of the file, without its
    header), with the column types DuckDB detected for the whole file."""
    text = set(source.as_text)
    types = ", ".join(f"'c{i}': {sql_string('VARCHAR' if n in text else t)}" for i, (n, t) in enumerate(source.sniffed))
    return (
        f"read_csv({sql_string(path)}, header = false, auto_detect = false, columns = {{{types}}}, "
        f"parallel = false, {source.csv_options(detect=False)})"
    )


def _byte_ranges(source: Source, threads: int) -> list[tuple[int, int]] | None:
    """One range of whole data lines per thread, or None when the file is not cut (see the module)."""
    if (
        source.fmt != "csv"
        or source.parts
        or source.compression != "none"
        or source.data_lines is None  # a quote or a bare CR: a newline may not end a record
        or source.read_path is None
        or len(source.sniffed) != len(source.raw_names)
        or threads < 2
    ):
        return None
    path = source.read_path
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header = fh.readline()
        if not header.strip(b"\r\n"):
            return None  # a blank first line: DuckDB looks further for the header
        first = len(header)
        n = min(threads, (size - first) // MIN_RANGE_BYTES)
        if n < 2:
            return None
        cuts = [first]
        for k in range(1, n):
            fh.seek(first + k * (size - first) // n)
            fh.readline()  # to the next line's start
            cuts.append(fh.tell())
    cuts.append(size)
    if any(b <= a for a, b in zip(cuts, cuts[1:])):
        return None
    return list(zip(cuts, cuts[1:]))


def _run(cursor: duckdb.DuckDBPyConnection, query: str, errors: list[BaseException | None], k: int) -> None:
    try:
        cursor.execute(query)
    except BaseException as e:  # reported by returning None: the whole-file read says what is wrong
        errors[k] = e


def _send(path: Path, start: int, end: int, pipe: int, fed: list[int], k: int) -> None:
    """Copy bytes ``start:end`` of ``path`` into ``pipe`` (then close it: the reader's end of file),
    counting them in ``fed[k]``."""
    try:
        with open(path, "rb") as fh:
            copy = _copier(fh.fileno())
            pos = start
            while pos < end:
                n = copy(pipe, pos, min(end - pos, _SEND_CHUNK))
                if n <= 0:
                    break
                pos += n
                fed[k] += n
    except OSError:
        pass  # the reader stopped early (EPIPE): its own error says why
    finally:
        os.close(pipe)


def _copier(src: int) -> Callable[[int, int, int], int]:
    """``copy(pipe, offset, count)``: ``os.sendfile`` where it writes to a pipe (Linux), else read and write."""

    def sendfile(pipe: int, offset: int, count: int) -> int:
        return os.sendfile(pipe, src, offset, count)

    def read_write(pipe: int, offset: int, count: int) -> int:
        data = os.pread(src, count, offset)
        view = memoryview(data)
        while view:
            view = view[os.write(pipe, view) :]
        return len(data)

    return sendfile if hasattr(os, "sendfile") and os.uname().sysname == "Linux" else read_write
