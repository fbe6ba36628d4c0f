"""Column roles: which columns of a dataset a model sees.

Every column has a role: ``'target'``, ``'feature'`` or ``'ignored'``. Only features reach
:func:`core.data.frames.load_split`, so every model, curve, quality and feature computation sees
them alone; the rows views and ``mlloop sql`` still show every column. An import ignores a column
that looks like an identifier (the unnamed row-name column R's ``write.csv`` and pandas' ``to_csv``
write first, a running counter, a text key), since a model can only memorise rows by it, and says
so in a note; ``--ignore`` and ``--use`` change the roles. The rule is the quality check's
(:func:`looks_like_identifier`, used by :mod:`core.analysis.quality` too).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from core.data.column_types import sql_family
from core.data.messages import shorten
from core.errors import InputError
from core.store.sql import one_row, quote_ident
from core.types import ColumnRole

MIN_ROWS = 20  # fewer rows can be distinct by chance
MIN_PRESENT = 0.95  # the share of rows that must have a value
MIN_DENSITY = 0.5  # distinct integers per unit of their range: a counter, not amounts or counts
_CHUNK = 100  # columns per query


def looks_like_identifier(
    n_rows: int, n_present: int, n_distinct: int, *, numeric: bool, integral: bool, lo: float, hi: float
) -> bool:
    """A value in (nearly) every row, each different: text, or integers dense over their range."""
    if n_rows < MIN_ROWS or n_present < MIN_PRESENT * n_rows or n_distinct != n_present:
        return False
    if numeric:  # a continuous measurement or sparse integers are naturally unique per row
        return integral and n_present / (hi - lo + 1) >= MIN_DENSITY
    return True


def parse_columns(spec: str | Sequence[str] | None, names: list[str], option: str) -> list[int]:
    """The positions of the columns ``spec`` names (comma-separated, or a list); one line for an unknown one."""
    if spec is None:
        return []
    if isinstance(spec, str):
        items = [spec] if spec in names else [s.strip() for s in spec.split(",")]
    else:
        items = list(spec)
    positions: list[int] = []
    for item in items:
        if item not in names:
            shown = ", ".join(repr(shorten(n)) for n in names[:8]) + (" ..." if len(names) > 8 else "")
            raise InputError(f"{option}: no column {shorten(item)!r}; columns are {shown}")
        positions.append(names.index(item))
    if not positions:
        raise InputError(f"{option} names no column")
    return positions


def check_role_options(
    names: list[str], target_pos: int, group_pos: int | None, ignore: list[int], use: list[int]
) -> None:
    """Refuse what cannot be: ignoring the target, using the target or the group, a column in both lists."""
    for pos in ignore:
        if pos == target_pos:
            raise InputError(f"--ignore: {shorten(names[pos])!r} is the target; it cannot be ignored")
    for pos in use:
        if pos == target_pos:
            raise InputError(f"--use: {shorten(names[pos])!r} is the target, not a feature")
        if pos == group_pos:
            raise InputError(f"--use: {shorten(names[pos])!r} is the ranking group, never a feature")
        if pos in ignore:
            raise InputError(f"column {shorten(names[pos])!r} is in both --ignore and --use")


def identifier_positions(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str], candidates: list[int]
) -> list[int]:
    """The positions among ``candidates`` whose column in ``table`` looks like an identifier (exact counts).

    A cheap pass first (present values; for numbers, whether integral and their range): only a column
    that would be an identifier if its values were all different gets its exact distinct count, one
    column at a time and as a GROUP BY, which DuckDB spills to disk within its memory limit (a table of
    full-precision measurements would otherwise hold a hash table per column at once).
    """
    fams = {p: sql_family(types[p]) for p in candidates}
    checked = [p for p in candidates if fams[p] in ("int", "float", "string")]
    t = quote_ident(table)
    n_rows = int(one_row(con.execute(f"SELECT count(*) FROM {t}"))[0])
    found: list[int] = []
    for start in range(0, len(checked), _CHUNK):
        chunk = checked[start : start + _CHUNK]
        parts: list[str] = []
        for p in chunk:
            c = quote_ident(storage[p])
            parts.append(f"count({c})")
            if fams[p] in ("int", "float"):
                parts += [f"coalesce(bool_and({c} = trunc({c})), false)", f"min({c})", f"max({c})"]
        row = one_row(con.execute(f"SELECT {', '.join(parts)} FROM {t}"))
        i = 0
        for p in chunk:
            present = int(row[i])
            i += 1
            numeric, integral, lo, hi = False, False, 0.0, 0.0
            if fams[p] in ("int", "float"):
                numeric, integral = True, bool(row[i])
                lo, hi = float(row[i + 1] or 0), float(row[i + 2] or 0)
                i += 3
            if not looks_like_identifier(n_rows, present, present, numeric=numeric, integral=integral, lo=lo, hi=hi):
                continue  # not one even if every value differed
            c = quote_ident(storage[p])
            values = f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL GROUP BY {c}"
            distinct = int(one_row(con.execute(f"SELECT count(*) FROM ({values})"))[0])
            if looks_like_identifier(n_rows, present, distinct, numeric=numeric, integral=integral, lo=lo, hi=hi):
                found.append(p)
    return found


def assign_roles(
    names: list[str],
    target_pos: int,
    group_pos: int | None,
    identifiers: list[int],
    ignore: list[int],
    use: list[int],
) -> tuple[list[ColumnRole], list[str]]:
    """Each column's role, and a note per identifier left out of the features.

    Identifiers are left out only while a feature remains: a file of nothing but unique columns
    keeps them (the quality check then warns about them)."""
    roles: list[ColumnRole] = ["feature"] * len(names)
    for pos in ignore:
        roles[pos] = "ignored"
    if group_pos is not None:
        roles[group_pos] = "ignored"
    roles[target_pos] = "target"
    if "feature" not in roles:
        raise InputError("no feature column is left (every column but the target is ignored); pass --use COLUMN")
    left_out = [p for p in identifiers if p not in use and roles[p] == "feature"]
    if roles.count("feature") == len(left_out):
        return roles, []
    notes: list[str] = []
    for pos in left_out:
        roles[pos] = "ignored"
        col = shorten(names[pos])
        notes.append(
            f"column {col!r} has a different value in every row: it looks like an identifier (such as R's or "
            f"pandas' row names), so it is not used as a feature; pass --use {col} to use it"
        )
    return roles, notes
