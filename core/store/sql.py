"""Writing SQL text safely: identifiers and string literals quoted; DuckDB's errors made one line.

Column names come from users' files and table names from the store, so every name spliced into
a statement goes through :func:`quote_ident` and every literal that cannot be a parameter (a
table function's arguments, a constant column) through :func:`sql_string`. Values that can be
parameters are passed as parameters. One copy of each rule, so no module quotes its own way.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.text import first_line

if TYPE_CHECKING:
    import duckdb


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier, inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(name: str) -> str:
    """A dotted name (``db.table``) quoted part by part; the parts hold no dot."""
    return ".".join(quote_ident(part) for part in name.split("."))


def sql_string(value: str) -> str:
    """``value`` as a single-quoted SQL string literal, inner single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def error_reason(exc: BaseException) -> str:
    """The first line without DuckDB's 'Invalid Input Error:' style prefix."""
    return re.sub(r"^[A-Za-z ]*Error: ", "", first_line(exc))


def one_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The row of a statement that always returns exactly one (an aggregate, ``nextval``)."""
    row = result.fetchone()
    assert row is not None, "an aggregate query returned no row"
    return row
