"""The staged rows of an import: the file read into DuckDB, cleaned, numbered in file order.

The import checks, profiles and splits the rows in :data:`STAGE`, a temporary view whose ``__r``
is each row's 0-based place in the file, before it writes the stored table from it in one pass.
Under the view, the rows are either one temporary table read from the whole file (the file's order
is its rowids' order: DuckDB preserves insertion order), or a large CSV file's byte ranges read at
once into tables of their own (:mod:`core.data.parallel_csv`). Missing values are made uniform
first: NaN and a quoted empty text are missing, as pandas and scikit-learn see them (a file the
byte scan found without a quote character has no quoted text to look for); and a column
of numbers as a spreadsheet shows them ("$1,234.50") becomes numbers (:mod:`core.data.formatted_numbers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from core.data.column_types import sql_family
from core.data.formatted_numbers import formatted_to_numbers
from core.data.inputs import read_failure
from core.data.missing import quoted_empty_to_null
from core.data.parallel_csv import read_ranges
from core.data.profile import AGGREGATE_CHUNK
from core.data.progress import Probe, Ticker
from core.data.reading import Source
from core.errors import StoreError
from core.store.sql import one_row, quote_ident, quote_qualified

STAGE = "_mlloop_stage"  # the view the import reads the staged rows through
_READ = "_mlloop_read"  # the temporary table a whole-file read goes to


class RetryWithFullSample(Exception):
    """A value did not fit the type guessed from the sample; re-read sniffing the whole file."""


@dataclass(frozen=True)
class Staged:
    """What :func:`stage_rows` staged: how many rows, and the table to drop after (None: the
    byte ranges' tables, which go with the import's DuckDB instance)."""

    n_rows: int
    read_table: str | None
    formatted: tuple[str, ...] = ()  # the columns of formatted numbers read as numbers


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    sample_size: int | None,
    storage: list[str],
    select: str,
    ticker: Ticker,
    probe: Probe,
    label: str,
) -> Staged:
    """Read the file into :data:`STAGE` (``select`` names its columns ``storage``), NaN and quoted
    empty texts made missing. Raises what a failed read means (``InputError`` naming the line,
    :class:`RetryWithFullSample`, DuckDB's out-of-memory error)."""
    aliases = ", ".join(quote_ident(s) for s in storage)
    fed: list[int] = []
    total = max(source.read_path.stat().st_size, 1) if source.read_path is not None else 1
    ticker.stage("reading", lambda: sum(fed) / total)
    ranges = read_ranges(con, source, select, aliases, fed) if sample_size is None else None
    if ranges is not None:
        with con.cursor() as cleaner:  # the import's transaction cannot write the ranges' tables
            counts, firsts = _numbered(cleaner, ranges, label)
            if not source.unquoted:
                quoted_empty_to_null(cleaner, ranges, storage)
            formatted = _formatted_to_numbers(cleaner, ranges, source, storage)
            _nan_to_null(cleaner, ranges, _float_columns(cleaner, ranges[0], storage))
        con.execute(f"CREATE TEMP VIEW {STAGE} AS {_numbered_rows_sql(ranges, counts, firsts)}")
        return Staged(sum(counts), None, formatted)
    ticker.stage("reading", probe)
    try:
        con.execute(
            f"CREATE TEMP TABLE {_READ} AS SELECT {select} FROM {source.table_function(sample_size)} AS src({aliases})"
        )
    except duckdb.OutOfMemoryException:
        raise  # core.data.memory names --memory
    except duckdb.ConversionException as e:
        if source.fmt == "csv" and sample_size is None:
            raise RetryWithFullSample from e
        raise read_failure(e, source, sample_size) from e
    except duckdb.Error as e:
        raise read_failure(e, source, sample_size) from e
    (count,), (first,) = _numbered(con, [_READ], label)
    converted: tuple[str, ...] = ()
    if source.fmt == "csv":
        if not source.unquoted:
            quoted_empty_to_null(con, [_READ], storage)
        converted = _formatted_to_numbers(con, [_READ], source, storage)
    _nan_to_null(con, [_READ], _float_columns(con, _READ, storage))
    con.execute(f"CREATE TEMP VIEW {STAGE} AS {_numbered_rows_sql([_READ], [count], [first])}")
    return Staged(count, _READ, converted)


def drop_stage(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Free the staged rows (before the commit writes the stored ones)."""
    con.execute(f"DROP VIEW {STAGE}")
    if staged.read_table is not None:
        con.execute(f"DROP TABLE {staged.read_table}")


def _numbered(con: duckdb.DuckDBPyConnection, tables: list[str], label: str) -> tuple[list[int], list[int]]:
    """Each table's row count and first rowid; its rowids must run without gaps (they are the file's order)."""
    counts, firsts = [], []
    for table in tables:
        n, first, last = one_row(con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {quote_qualified(table)}"))
        if n and last - first + 1 != n:
            raise StoreError(f"cannot import {label}: DuckDB numbered the staged rows with gaps")
        counts.append(int(n))
        firsts.append(int(first or 0))
    return counts, firsts


def _formatted_to_numbers(
    con: duckdb.DuckDBPyConnection, tables: list[str], source: Source, storage: list[str]
) -> tuple[str, ...]:
    """The source's columns of formatted numbers, still text once staged, as numbers where every value is one."""
    if not source.formatted:
        return ()
    described = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {quote_qualified(tables[0])})")
    types = dict(described.fetchall())
    texts = [storage[j] for j in source.formatted if j < len(storage) and str(types[storage[j]]) == "VARCHAR"]
    return tuple(formatted_to_numbers(con, tables, texts, source.delimiter == ";")) if texts else ()


def _float_columns(con: duckdb.DuckDBPyConnection, table: str, storage: list[str]) -> list[str]:
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {quote_qualified(table)})").fetchall())
    return [s for s in storage if sql_family(str(types[s])) == "float"]


def _nan_to_null(con: duckdb.DuckDBPyConnection, tables: list[str], float_cols: list[str]) -> None:
    """NaN is a missing value (Parquet floats, 'NAN' in a CSV), as pandas and scikit-learn see it.

    Done on the staged rows, not while reading: reading Parquet, DuckDB's statistics (which
    leave NaN out) let the optimizer fold ``isnan()`` to false. Being done before the split, a
    NaN target makes its row 'unlabeled'.
    """
    for table in tables:
        t = quote_qualified(table)
        for start in range(0, len(float_cols), AGGREGATE_CHUNK):
            chunk = float_cols[start : start + AGGREGATE_CHUNK]
            counts = one_row(
                con.execute(
                    "SELECT "
                    + ", ".join(f"count(*) FILTER (WHERE isnan({quote_ident(c)}))" for c in chunk)
                    + f" FROM {t}"
                )
            )
            for col, n in zip(chunk, counts):
                if n:
                    con.execute(f"UPDATE {t} SET {quote_ident(col)} = NULL WHERE isnan({quote_ident(col)})")


def _numbered_rows_sql(tables: list[str], counts: list[int], firsts: list[int]) -> str:
    """The rows of the range tables as one relation, in file order, with ``__r`` their 0-based row."""
    offsets = [sum(counts[:k]) for k in range(len(tables))]
    return " UNION ALL ".join(
        f"SELECT *, rowid - {int(first)} + {int(offset)} AS __r FROM {quote_qualified(t)}"
        for t, first, offset in zip(tables, firsts, offsets)
    )
