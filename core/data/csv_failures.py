"""One line for a CSV file DuckDB's strict reader refused: which line, and why, without DuckDB's dump.

DuckDB's message quotes the offending line and its own guesses, and its line number is wrong for
a record made long by a quoted value, so the cause is found again by reading the file in Python
(error path only: the file is read once more, as text, up to the bad record).
"""

from __future__ import annotations

import csv
import re
import zlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import duckdb

from core.data.messages import shorten
from core.errors import InputError
from core.store.sql import error_reason

if TYPE_CHECKING:
    from core.data.reading import Source


def csv_failure(e: duckdb.Error, source: Source) -> InputError:
    """Turn a failed strict read into one line naming the file line, without DuckDB's dump."""
    text = str(e)
    name = source.display
    too_long = re.search(r"Maximum line size of (\d+) bytes exceeded", text)
    if too_long:  # before the other checks: the dump quotes the line, which may hold any word
        return _too_long(source, int(too_long.group(1)))
    if "unicode" in text.lower():
        line = re.search(r"Line: (\d+)", text)
        where = f" line {line.group(1)}" if line else ""
        return InputError(f"{name}{where}: not valid {source.encoding or 'UTF-8'} text; pass --encoding")
    ragged = _find_ragged(source)
    if ragged:
        return InputError(f"{name} {ragged}")
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line:
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        convert = re.search(r'converting column "(.*)"\. Could not convert string "(.*)" to \'(\w+)\'', text)
        if counts:
            reason = f"expected {counts.group(1)} fields, found {counts.group(2)}"
        elif convert:
            reason = (
                f"value {shorten(convert.group(2))!r} does not fit column {shorten(convert.group(1))!r} "
                f"({convert.group(3)})"
            )
        elif "unterminated quote" in text.lower():
            reason = "a quoted value is never closed"
        elif "quote" in text.lower():
            reason = "a quote character in an unquoted value (quote the value and double inner quotes)"
        else:
            reason = f"cannot parse this line as CSV with delimiter {source.delimiter!r}"
        return InputError(f"{name} line {line.group(1)}: {reason}")
    if "sniff" in text.lower() or "dialect" in text.lower():
        return InputError(
            f"{name}: cannot read as CSV with delimiter {source.delimiter!r} (rows of different lengths or "
            "stray quotes); pass --delimiter if it is wrong"
        )
    return InputError(f"cannot read {name} as CSV: {error_reason(e)}")


def _too_long(source: Source, limit: int) -> InputError:
    """The first record longer than DuckDB's ``limit`` bytes, found by reading the file in Python:
    DuckDB's own line number is wrong for it (line 1 when the long value is quoted)."""
    csv.field_size_limit(2**31 - 1)
    taken: list[str] = []  # the physical lines of the record being read

    def lines(fh: IO[str]) -> Iterator[str]:
        for line in fh:
            taken.append(line)
            yield line

    what = f"more than DuckDB's limit of {limit:,} bytes per CSV line; shorten or drop its longest value"
    try:
        with source.open_text() as fh:
            reader = csv.reader(lines(fh), delimiter=source.delimiter, quotechar='"', doublequote=True)
            start = 1
            for _ in reader:
                size = len("".join(taken).rstrip("\r\n").encode("utf-8"))
                if size > limit:
                    return InputError(f"{source.display} line {start}: the record is {size:,} bytes long, {what}")
                start, taken[:] = reader.line_num + 1, []
    except (csv.Error, OSError, EOFError, zlib.error, UnicodeError):
        pass
    return InputError(f"{source.display}: a record is {what}")


def _find_ragged(source: Source) -> str | None:
    """The first record with the wrong number of fields, as 'line N: ...' (error path only)."""
    csv.field_size_limit(2**31 - 1)
    try:
        with source.open_text() as fh:
            reader = csv.reader(fh, delimiter=source.delimiter, quotechar='"', doublequote=True, strict=True)
            width: int | None = None
            for row in reader:
                if not row:
                    continue
                if width is None:
                    width = len(row)
                elif len(row) != width:
                    return f"line {reader.line_num}: expected {width} fields, found {len(row)}"
    except csv.Error as err:
        return f"line {reader.line_num}: cannot parse as CSV ({err})"
    except (OSError, EOFError, zlib.error, UnicodeError):
        return None
    return None
