"""One read-only SQL query a user typed (``mlloop sql``), run on the store's views and tables.

Two locks keep the store as it was. The statement is parsed first and only one ``SELECT`` (``WITH``,
``FROM``-first, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE`` and ``VALUES`` are SELECTs to DuckDB), or an
``EXPLAIN`` of one, is run: ``DROP``, ``INSERT``, ``ATTACH``, ``COPY``, ``INSTALL``/``LOAD``, ``SET``
and the rest are refused by name. And the connection it runs on is read-only with file access and
extensions off (:meth:`Store.sandboxed`), so a query cannot write, read another file or fetch code
even where the parser's verdict is wrong. The store is held only while the query runs: the rows are
fetched, the connection closed, and only then shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from core.errors import InputError
from core.store.connection import Store
from core.store.sql import error_reason

_EXPLAIN = re.compile(r"^\s*explain(\s+analy[sz]e)?\s", re.IGNORECASE)
_WORDS = {"LOAD": "INSTALL and LOAD", "SET": "SET and USE", "CALL": "CALL and CHECKPOINT"}


@dataclass(frozen=True)
class QueryResult:
    """A query's columns (names and DuckDB type names) and every row it returned."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def run_query(store: Store, sql: str) -> QueryResult:
    """Run one read-only query; ``InputError`` for a refused statement or a query DuckDB rejects."""
    if not sql.strip():
        raise InputError("no query given")
    with store.sandboxed() as con:
        check_read_only(con, sql)
        try:
            cursor = con.execute(sql)
            description = cursor.description or []
            rows = cursor.fetchall()
        except duckdb.PermissionException as e:
            raise InputError(f"refused: {error_reason(e)} (mlloop sql reads only the store)") from e
        except duckdb.Error as e:
            raise InputError(f"query failed: {error_reason(e)}") from e
    return QueryResult(tuple(d[0] for d in description), tuple(str(d[1]) for d in description), rows)


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """``InputError`` unless ``sql`` is exactly one SELECT, or an EXPLAIN of one."""
    kinds = _statement_types(con, sql)
    if len(kinds) != 1:
        raise InputError(f"give exactly one query, not {len(kinds)} statements")
    kind = kinds[0]
    if kind == "EXPLAIN":
        inner = _statement_types(con, _EXPLAIN.sub("", sql, count=1))
        kind = inner[0] if len(inner) == 1 and inner[0] != "EXPLAIN" else "EXPLAIN"
    if kind != "SELECT":
        raise InputError(
            f"{_WORDS.get(kind, kind)} statements are refused: mlloop sql runs one read-only query "
            "(SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN of a SELECT)"
        )


def _statement_types(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    try:
        return [s.type.name for s in con.extract_statements(sql)]
    except duckdb.Error as e:
        raise InputError(f"query failed: {error_reason(e)}") from e
