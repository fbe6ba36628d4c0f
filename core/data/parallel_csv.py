"""Reading one large CSV file on every thread while keeping its rows' order.

The stored ``__row`` is a row's place in the file, which DuckDB's parallel CSV reader gives only
through an order-preserving insert; within an import's memory limit that insert runs on one
thread (its out-of-order batches wait for memory that the rows already read hold): 1.7 s for a
247 MB file under 256 MB, against 0.7 s for the same read on two threads without order.

When the byte scan read the whole file and found no bare CR (a record then ends at an LF, unless
the LF is inside a quoted field), the data is cut into one byte range per thread, each cut just
after the first record's end past its share of the file (:class:`_RecordStarts` finds it, counting
quotes in a file that has any). Each range is streamed through a pipe (``os.sendfile``: the bytes
never pass through Python) into a single-threaded DuckDB read of its own, into a table of its
own, all at once: each table's rowids are its range's rows in file order, and the ranges follow
each other. The tables live in an in-memory database attached to the import's instance, written
by cursors outside the import's transaction; the transaction sees them (it first reads that
database after they are written) but cannot write to them, so whatever changes them (quoted
empty fields and NaN made missing, :mod:`core.data.staging`) is done first, by a cursor of its own.

Any file this does not fit, and any failure of a range's read, gives None: the caller reads the
file whole as before, which reports errors with the file's own line numbers.
"""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np

from core.data.reading import Source
from core.store.sql import sql_string

PARTS_DB = "_mlloop_ranges"
MIN_RANGE_BYTES = 16 << 20  # below this a range's thread costs more than it saves
_SEND_CHUNK = 4 << 20
_BLOCK = 4 << 20  # bytes read at a time looking for record starts
_LF, _QUOTE = 0x0A, 0x22
_LF_SNIFFED, _LF_RECORDS = "\\n", "new_line = '\\n', "  # DuckDB's sniffed record end of an LF file, and the option


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
    header), with the column types DuckDB detected for the whole file.

    Without a dialect to detect, DuckDB takes the record end to be the first line break it meets,
    which may be one inside a quoted field: an LF file is told its record end. A CRLF file is not:
    DuckDB 2.0.1 reads nothing, silently, when told ``new_line = '\\r\\n'``; a range whose first
    line break is an LF inside quotes then fails, and the file is read whole.
    """
    text = set(source.as_text)
    types = ", ".join(f"'c{i}': {sql_string('VARCHAR' if n in text else t)}" for i, (n, t) in enumerate(source.sniffed))
    return (
        f"read_csv({sql_string(path)}, header = false, auto_detect = false, columns = {{{types}}}, "
        f"{_LF_RECORDS if source.new_line == _LF_SNIFFED else ''}parallel = false, {source.csv_options(detect=False)})"
    )


def _byte_ranges(source: Source, threads: int) -> list[tuple[int, int]] | None:
    """One range of whole records per thread, or None when the file is not cut (see the module)."""
    if (
        source.fmt != "csv"
        or source.parts
        or source.compression != "none"
        or not source.lf_ends_lines  # a bare CR, or the file was not scanned whole
        or source.read_path is None
        or len(source.sniffed) != len(source.raw_names)
        or source.new_line not in (_LF_SNIFFED, "\\r\\n")
        or len(source.delimiter.encode()) != 1
        or threads < 2
    ):
        return None
    path = source.read_path
    size = path.stat().st_size
    with open(path, "rb") as fh:
        records = _RecordStarts(fh, source.delimiter.encode(), quoted=not source.unquoted)
        first = records.next_start()
        if first is None or not _header_line(fh, first).strip(b"\r\n"):
            return None  # no record after the header, or a blank first line: DuckDB looks further for the header
        n = min(threads, (size - first) // MIN_RANGE_BYTES)
        if n < 2:
            return None
        cuts = [first]
        for k in range(1, n):
            records.skip_to(first + k * (size - first) // n)
            cut = records.next_start()
            if cut is None or records.stray_quote:
                return None
            cuts.append(cut)
    cuts.append(size)
    if any(b <= a for a, b in zip(cuts, cuts[1:])):
        return None
    return list(zip(cuts, cuts[1:]))


def _header_line(fh: BinaryIO, end: int) -> bytes:
    fh.seek(0)
    return fh.read(min(end, _BLOCK))


class _RecordStarts:
    """Where records start, found reading the file forward from its beginning.

    Without a quote character in the file, a record starts after each LF. With quotes, after an
    LF outside a quoted field: each quote character opens or closes one (RFC 4180 doubles a quote
    inside a field, and DuckDB reads with ``escape = '"'``), so an LF is outside when an even
    number of quotes come before it. That holds only while every quote met outside a field
    opens one at the field's start (after the delimiter, an LF or the file's start): DuckDB reads
    a quote elsewhere in an unquoted field as text, and then counting would be off. Such a quote
    sets :attr:`stray_quote`, and the file is not cut.
    """

    def __init__(self, fh: BinaryIO, delimiter: bytes, *, quoted: bool) -> None:
        self.fh, self.quoted = fh, quoted
        self.field_starts = np.array([delimiter[0], _LF], dtype=np.uint8)
        self.pos = len(codecs.BOM_UTF8) if fh.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
        self.quotes = 0  # quote characters before pos
        self.last = _LF  # the byte before pos (the file's start reads as a line's)
        self.stray_quote = False

    def skip_to(self, target: int) -> None:
        """Move to ``target`` (when ahead), counting the quotes on the way."""
        if not self.quoted:
            self.pos = max(self.pos, target)
            return
        while self.pos < target:
            self.fh.seek(self.pos)
            block = self.fh.read(min(_BLOCK, target - self.pos))
            if not block:
                return
            self._take(block)

    def next_start(self) -> int | None:
        """The offset just after the next LF outside quotes (at or after the current one); None at the end."""
        while True:
            self.fh.seek(self.pos)
            block = self.fh.read(_BLOCK)
            if not block:
                return None
            data = np.frombuffer(block, dtype=np.uint8)
            lfs = np.flatnonzero(data == _LF)
            if self.quoted and lfs.size:
                before = self.quotes + np.searchsorted(np.flatnonzero(data == _QUOTE), lfs)
                lfs = lfs[before % 2 == 0]
            if lfs.size:
                self._take(block[: int(lfs[0]) + 1])
                return self.pos
            self._take(block)

    def _take(self, block: bytes) -> None:
        """Count ``block``'s quotes (it starts at pos) and check each quote met outside a field."""
        if self.quoted:
            data = np.frombuffer(block, dtype=np.uint8)
            quotes = np.flatnonzero(data == _QUOTE)
            if quotes.size:
                run_starts = np.ones(quotes.size, dtype=bool)  # the first quote of each run of quotes
                run_starts[1:] = quotes[1:] != quotes[:-1] + 1
                run_starts[0] = not (quotes[0] == 0 and self.last == _QUOTE)
                outside = (self.quotes + np.arange(quotes.size)) % 2 == 0
                opening = quotes[run_starts & outside]
                before = np.where(opening > 0, data[np.maximum(opening - 1, 0)], self.last)
                self.stray_quote = self.stray_quote or not np.isin(before, self.field_starts).all()
                self.quotes += int(quotes.size)
        self.pos += len(block)
        self.last = block[-1]


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
