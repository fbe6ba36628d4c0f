"""Missing values in a CSV file: which cells are missing, and which only look so.

An empty field and the unquoted markers of :data:`NULL_STRINGS` (or ``--na``'s list) are missing;
a quoted value is data: R's ``write.csv`` quotes text and leaves ``NA`` unquoted, so a class
``"None"`` or ``"NA"`` is a class. DuckDB reads the file with ``allow_quoted_nulls = false``
(:meth:`core.data.reading.Source.csv_options`); a quoted empty field is then made missing here.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from core.errors import InputError
from core.store.sql import one_row, quote_ident, quote_qualified

# Unquoted cells read as missing, as pandas.read_csv does by default (minus its exotic '-1.#IND' forms).
# A quoted cell is data: the class "None" or "NA" in a file R's write.csv wrote (R leaves NA unquoted).
NULL_STRINGS = ("", "NA", "N/A", "n/a", "#N/A", "#NA", "<NA>", "NaN", "-NaN", "nan", "-nan", "NULL", "null", "None")
AGGREGATE_CHUNK = 100  # columns per aggregate query


def missing_markers(na: str | Sequence[str] | None) -> tuple[str, ...]:
    """``--na``: the unquoted cells read as missing (comma-separated, or a list); ``None`` means
    :data:`NULL_STRINGS`. The empty field is always missing, so ``--na ""`` leaves it alone."""
    if na is None:
        return NULL_STRINGS
    items = na.split(",") if isinstance(na, str) else list(na)
    markers = [m.strip() for m in items]
    for m in markers:
        if '"' in m or "\n" in m or "\r" in m:
            raise InputError(f"--na: a missing marker cannot hold a quote or a line break: {m!r}")
    return tuple(dict.fromkeys(["", *markers]))


def quoted_empty_to_null(con: duckdb.DuckDBPyConnection, tables: list[str], storage: list[str]) -> None:
    """A quoted empty field (``""``) is missing, like an unquoted one.

    Reading with quoted values as data, DuckDB reads it as an empty text, which also makes a column
    of numbers text: such a column is cast back to the number type its other values have.
    ``tables`` (dotted names, same columns) are the file's rows read in parts: a column's number
    type is chosen over all of them, as for the file read whole.
    """
    names = [quote_qualified(t) for t in tables]
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {names[0]})").fetchall())
    texts = [s for s in storage if str(types[s]) == "VARCHAR"]
    rows = " UNION ALL ".join(f"SELECT * FROM {t}" for t in names)
    for start in range(0, len(texts), AGGREGATE_CHUNK):
        chunk = texts[start : start + AGGREGATE_CHUNK]
        counts = one_row(
            con.execute(
                "SELECT "
                + ", ".join(f"count(*) FILTER (WHERE {quote_ident(c)} = '')" for c in chunk)
                + f" FROM ({rows})"
            )
        )
        for col, n in zip(chunk, counts):
            if not n:
                continue
            c = quote_ident(col)
            for t in names:
                con.execute(f"UPDATE {t} SET {c} = NULL WHERE {c} = ''")
            for number in ("BIGINT", "DOUBLE"):
                present, bad = one_row(
                    con.execute(
                        f"SELECT count({c}), count(*) FILTER (WHERE {c} IS NOT NULL AND "
                        f"TRY_CAST({c} AS {number}) IS NULL) FROM ({rows})"
                    )
                )
                if present and not bad:
                    for t in names:
                        con.execute(f"ALTER TABLE {t} ALTER {c} TYPE {number} USING CAST({c} AS {number})")
                    break
