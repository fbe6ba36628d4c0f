"""DuckDB column types grouped into families, and the SQL that reads a stored column as what we need.

Import, profile, split and loading all decide by family (int, float, boolean, datetime, string)
rather than by DuckDB's many type names, and all read a class label the same way
(:func:`class_label_sql`): one definition, so a label computed at import equals the one a model
is fitted on.
"""

from __future__ import annotations

from typing import Literal

from core.store.sql import quote_ident

Family = Literal["int", "float", "boolean", "datetime", "string"]

_INT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
_DATETIME_TYPES = frozenset(
    {"DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}
)


def sql_family(sql_type: str) -> Family:
    t = sql_type.upper()
    if t in _INT_TYPES:
        return "int"
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return "float"
    if t == "BOOLEAN":
        return "boolean"
    if t in _DATETIME_TYPES:
        return "datetime"
    return "string"  # VARCHAR and anything exotic, handled as its text


def class_label_sql(col: str, sql_type: str) -> str:
    """A class label as text: integer-valued floats as '1', not '1.0', so labels read naturally."""
    c = quote_ident(col)
    if sql_family(sql_type) == "float":
        return (
            f"CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({c} AS VARCHAR) END"
        )
    return f"CAST({c} AS VARCHAR)"


def model_input_sql(storage: str, kind: str) -> str:
    """A feature as a model sees it: numbers and booleans as doubles, dates as epoch seconds, else text."""
    c = quote_ident(storage)
    if kind in ("numeric", "boolean"):
        return f"CAST({c} AS DOUBLE)"
    if kind == "datetime":
        return f"CAST(epoch({c}) AS DOUBLE)"
    return f"CAST({c} AS VARCHAR)"


def parquet_column_sql(storage: str, sql_type: str) -> str:
    """Normalise Parquet types: floats and decimals are doubles, exotic types are text."""
    c = quote_ident(storage)
    fam = sql_family(sql_type)
    if fam == "float":
        return f"CAST({c} AS DOUBLE)"
    if fam in ("int", "boolean", "datetime") or sql_type.upper() == "VARCHAR":
        return c
    return f"CAST({c} AS VARCHAR)"
