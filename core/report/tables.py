"""The store's public views as files and as query output: ``mlloop export-table`` (Parquet or CSV) and
``mlloop sql --csv`` / ``--json``.

CSV is for spreadsheets, which run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return before one) as a formula: such a *text* cell gets a single quote first (OWASP's CSV
injection advice), which a spreadsheet shows as text. Numbers stay numbers (a negative number is not
a formula), and Parquet keeps every value exactly. Files follow the rules of every export: an existing
file is replaced only when asked and only if it is a regular file, written atomically
(:func:`core.report.export.check_target`, :func:`core.report.export.write_atomically`).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from core.errors import InputError
from core.report.export import check_target, write_atomically
from core.store import Store
from core.store.query import QueryResult
from core.store.views import TABLE_VIEWS, read_view
from core.text import printable

__all__ = [
    "FORMULA_START",
    "TABLE_EXTENSIONS",
    "csv_lines",
    "export_table",
    "json_records",
    "neutralise",
]

TableFormat = Literal["parquet", "csv"]
TABLE_EXTENSIONS: dict[str, TableFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may take for the start of a formula


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will show as text: a single quote before a formula's first character."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def export_table(store: Store, name: str, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write the view ``name`` (``runs``, ``folds``, ... : :data:`core.store.views.TABLE_VIEWS`) to ``path``,
    as Parquet or CSV by its extension; ``InputError`` before anything is read when either is wrong."""
    view = TABLE_VIEWS.get(name.strip().lower())
    if view is None:
        raise InputError(f"unknown table {printable(name)!r}; choose from: {', '.join(TABLE_VIEWS)}")
    target = Path(path).expanduser()
    fmt = TABLE_EXTENSIONS.get(target.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the table format from {printable(target.name)!r}; use .parquet or .csv")
    target = check_target(target, overwrite)
    table = read_view(store, view)
    return write_atomically(target, overwrite, lambda tmp: _write_table(table, tmp, fmt))


def _write_table(table: Any, tmp: Path, fmt: TableFormat) -> None:
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, tmp)
        return
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(i)
            risky = pc.starts_with(column, FORMULA_START[0])
            for start in FORMULA_START[1:]:
                risky = pc.or_(risky, pc.starts_with(column, start))
            quoted = pc.binary_join_element_wise("'", column, "")
            table = table.set_column(i, field, pc.if_else(pc.fill_null(risky, False), quoted, column))
    pcsv.write_csv(table, tmp)


def csv_lines(result: QueryResult) -> Iterator[str]:
    """A query's rows as CSV lines (header first), text cells neutralised as in an exported CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else neutralise(v) if isinstance(v, str) else _csv_value(v) for v in row])
    yield from buffer.getvalue().split("\n")[:-1]  # a cell's own line breaks stay inside its quotes


def json_records(result: QueryResult) -> list[dict[str, Any]]:
    """A query's rows as JSON objects (column -> value): JSON columns parsed, times as ISO 8601 text,
    non-finite numbers as null. Repeated column names keep the first value under the name and the rest
    as ``name_1``, ``name_2`` ..."""
    keys: list[str] = []
    for name in result.columns:
        key, k = name, 0
        while key in keys:
            k += 1
            key = f"{name}_{k}"
        keys.append(key)
    is_json = [t == "JSON" for t in result.types]
    return [
        {key: _jsonable(json.loads(v) if j and isinstance(v, str) else v) for key, j, v in zip(keys, is_json, row)}
        for row in result.rows
    ]


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else str(value)
    if isinstance(value, (dict, list, tuple)):
        return neutralise(json.dumps(_jsonable(value), ensure_ascii=False))
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return _jsonable(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value
