"""What an imported table holds: per-column statistics, each column's kind, and the target's task.

Profiles are computed by DuckDB in a few aggregate queries over the staged table, chunked so a
file with thousands of columns works: through UNPIVOT for short tables (exact, fast when wide)
and one row of aggregates per chunk of columns for long ones (HyperLogLog distinct counts above
a size). The task is inferred from the target's type and values, or checked when the user gave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from core.data.column_types import class_label_sql, sql_family
from core.data.messages import shorten
from core.errors import InputError
from core.store.sql import one_row, quote_ident, sql_string
from core.types import ColumnKind, Task

MAX_CLASSES_FOR_INFERENCE = 20  # integer targets with at most this many values are classes
TOP_K = 5
AGGREGATE_CHUNK = 100  # columns per aggregate query over a long table

_SMALL_TABLE_ROWS = 50_000  # profile through UNPIVOT (exact, fast for wide tables) below this
_EXACT_DISTINCT_ROWS = 200_000  # above this, distinct counts are HyperLogLog estimates
_UNPIVOT_CHUNK = 500  # columns per UNPIVOT query
_TOP_CHUNK = 20  # columns per top-values query (wide-form profile)


@dataclass
class ColumnStats:
    n_present: int = 0
    n_distinct: int = 0
    min: str | None = None
    max: str | None = None
    mean: float | None = None
    std: float | None = None
    top: tuple[tuple[str, int], ...] = ()


def column_kind(sql_type: str, n_present: int, n_distinct: int) -> ColumnKind:
    fam = sql_family(sql_type)
    if fam in ("int", "float"):
        return "numeric"
    if fam == "boolean":
        return "boolean"
    if fam == "datetime":
        return "datetime"
    if n_distinct > MAX_CLASSES_FOR_INFERENCE and n_distinct >= 0.5 * n_present:
        return "text"
    return "categorical"


def profile_columns(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str], n_rows: int
) -> dict[str, ColumnStats]:
    """Per-column statistics in a few aggregate queries, chunked so thousands of columns work."""
    if n_rows <= _SMALL_TABLE_ROWS:
        return profile_unpivot(con, table, storage, types)
    return profile_wide(con, table, storage, types, exact=n_rows <= _EXACT_DISTINCT_ROWS)


def profile_unpivot(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str]
) -> dict[str, ColumnStats]:
    """Exact statistics for short tables: one long (column, value) relation per chunk of columns.

    Fast for wide tables (500 x 5,000), where one aggregate expression per column is not.
    """
    stats = {s: ColumnStats() for s in storage}
    fams = {s: sql_family(t) for s, t in zip(storage, types)}
    groups = {
        "HUGEINT": [s for s in storage if fams[s] == "int"],
        "DOUBLE": [s for s in storage if fams[s] == "float"],
        "VARCHAR": [s for s in storage if fams[s] not in ("int", "float")],
    }
    t = quote_ident(table)
    for cast, cols in groups.items():
        for start in range(0, len(cols), _UNPIVOT_CHUNK):
            chunk = cols[start : start + _UNPIVOT_CHUNK]
            select = ", ".join(f"CAST({quote_ident(c)} AS {cast}) AS {quote_ident(c)}" for c in chunk)
            long = f"(UNPIVOT (SELECT {select} FROM {t}) ON COLUMNS(*) INTO NAME col VALUE val)"
            if cast != "VARCHAR":
                rows = con.execute(
                    f"SELECT col, count(val), count(DISTINCT val), CAST(min(val) AS VARCHAR), "
                    f"CAST(max(val) AS VARCHAR), avg(val), stddev_samp(val) FROM {long} GROUP BY col"
                ).fetchall()
                for col, n, nd, lo, hi, mean, std in rows:
                    stats[col] = ColumnStats(int(n), int(nd), lo, hi, _float_or_none(mean), _float_or_none(std))
                continue
            rows = con.execute(
                f"WITH g AS (SELECT col, val, count(*) AS n FROM {long} GROUP BY col, val) "
                "SELECT col, val, n, sum(n) OVER w, count(*) OVER w, min(val) OVER w, max(val) OVER w "
                "FROM g WINDOW w AS (PARTITION BY col) "
                f"QUALIFY row_number() OVER (PARTITION BY col ORDER BY n DESC, val) <= {TOP_K} "
                "ORDER BY col, n DESC, val"
            ).fetchall()
            tops: dict[str, list[tuple[str, int]]] = {}
            for col, val, n, present, nd, lo, hi in rows:
                tops.setdefault(col, []).append((val, int(n)))
                stats[col] = ColumnStats(int(present), int(nd), lo, hi)
            for col, top in tops.items():
                stats[col].top = tuple(top)
    return stats


def profile_wide(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str], *, exact: bool
) -> dict[str, ColumnStats]:
    """Statistics for long tables: one row of aggregates per chunk of columns, top values per column."""
    stats = {s: ColumnStats() for s in storage}
    t = quote_ident(table)
    distinct = "count(DISTINCT {c})" if exact else "approx_count_distinct({c})"
    numeric = {s for s, ty in zip(storage, types) if sql_family(ty) in ("int", "float")}
    for start in range(0, len(storage), AGGREGATE_CHUNK):
        chunk = storage[start : start + AGGREGATE_CHUNK]
        parts: list[str] = []
        for s in chunk:
            c = quote_ident(s)
            parts += [f"count({c})", distinct.format(c=c), f"CAST(min({c}) AS VARCHAR)", f"CAST(max({c}) AS VARCHAR)"]
            if s in numeric:
                parts += [f"avg({c})", f"stddev_samp({c})"]
        row = one_row(con.execute(f"SELECT {', '.join(parts)} FROM {t}"))
        i = 0
        for s in chunk:
            n, nd, lo, hi = row[i : i + 4]
            i += 4
            st = ColumnStats(int(n), int(nd), lo, hi)
            if s in numeric:
                st.mean, st.std = _float_or_none(row[i]), _float_or_none(row[i + 1])
                i += 2
            stats[s] = st
    others = [s for s in storage if s not in numeric]
    for start in range(0, len(others), _TOP_CHUNK):
        chunk = others[start : start + _TOP_CHUNK]
        union = " UNION ALL ".join(
            f"(SELECT {sql_string(s)} AS col, CAST(v AS VARCHAR) AS val, n FROM (SELECT {quote_ident(s)} AS v, "
            f"count(*) AS n FROM {t} WHERE {quote_ident(s)} IS NOT NULL GROUP BY v) ORDER BY n DESC, val LIMIT {TOP_K})"
            for s in chunk
        )
        for col, val, n in con.execute(f"SELECT col, val, n FROM ({union}) ORDER BY col, n DESC, val").fetchall():
            stats[col].top += ((val, int(n)),)
    return stats


def infer_task(
    con: duckdb.DuckDBPyConnection,
    table: str,
    col: str,
    sql_type: str,
    target: str,
    task: Task | None,
    n_labeled: int,
) -> tuple[Task, tuple[str, ...]]:
    """The task from the target's type and values (``task`` overrides but is checked), and the classes."""
    fam = sql_family(sql_type)
    c, t = quote_ident(col), quote_ident(table)
    shown = shorten(target)
    if fam == "datetime":
        raise InputError(f"target {shown!r} holds dates/times ({sql_type}); choose a label or a number as target")
    integral = True
    if fam == "float":
        n_distinct, integral, n_inf = one_row(
            con.execute(
                f"SELECT count(DISTINCT {c}), coalesce(bool_and({c} = trunc({c})), false), "
                f"count(*) FILTER (WHERE NOT isfinite({c})) FROM {t} WHERE {c} IS NOT NULL"
            )
        )
        if n_inf:
            raise InputError(f"target {shown!r} has {n_inf} infinite values")
    else:
        n_distinct = one_row(con.execute(f"SELECT count(DISTINCT {c}) FROM {t} WHERE {c} IS NOT NULL"))[0]
    numeric = fam in ("int", "float")

    if task is None:
        if not numeric or (integral and n_distinct <= MAX_CLASSES_FOR_INFERENCE):
            task = "binary" if n_distinct <= 2 else "multiclass"
        else:
            task = "regression"
    if task == "regression":
        if not numeric:
            raise InputError(f"regression needs a numeric target; {shown!r} is {_family_word(fam)}")
        if n_distinct < 2:
            raise InputError(f"target {shown!r} is constant; there is nothing to predict")
        return "regression", ()

    label = class_label_sql(col, sql_type)
    if n_distinct < 2:
        only = one_row(con.execute(f"SELECT {label} FROM {t} WHERE {c} IS NOT NULL LIMIT 1"))  # n_labeled >= 1
        raise InputError(f"target {shown!r} has a single class ({shorten(str(only[0]))!r}); nothing to classify")
    if task == "binary" and n_distinct != 2:
        raise InputError(f"binary classification needs 2 classes; target {shown!r} has {n_distinct}")
    if fam == "string" and n_distinct == n_labeled and n_labeled >= 2 * MAX_CLASSES_FOR_INFERENCE:
        raise InputError(
            f"every labeled row has a different value of target {shown!r}; it looks like an identifier, not a label"
        )
    values = con.execute(f"SELECT DISTINCT {label} FROM {t} WHERE {c} IS NOT NULL").fetchall()
    return task, tuple(sorted(str(v[0]) for v in values))


def _family_word(fam: str) -> str:
    return {"boolean": "boolean (true/false)", "string": "text", "datetime": "a date/time"}.get(fam, fam)


def _float_or_none(v: Any) -> float | None:
    return None if v is None else float(v)
