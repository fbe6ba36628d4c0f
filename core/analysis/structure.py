"""The structure checks of :func:`core.analysis.quality.check_quality`, as DuckDB SQL over the stored rows.

Missing values, constant / near-constant, identifier-like and high-cardinality columns, duplicate rows,
conflicting labels and class imbalance are each a few aggregate queries over the labeled rows (dev and
test), so only counts and at most :data:`~core.analysis.findings.MAX_ROWS` row numbers per finding
reach Python: a dataset larger than memory is checked inside DuckDB, whose GROUP BY spills to disk.

Values are compared as a model sees them (what ``load_split`` gives): each feature through
``model_input_sql``, a class label through ``class_label_sql``. A missing value is NULL (the import
stores a NaN as NULL, and no expression makes one), and GROUP BY and ``IS NOT DISTINCT FROM`` treat
missing as equal to missing and -0.0 as 0.0: the equality pandas' row hashes and value counts give. Listed rows are in
``load_split``'s order: the development rows, then the test rows, each by file row number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import duckdb

from core.analysis.findings import MAX_ROWS, Finding, Severity, listed_rows, percent
from core.data.frames import ModelRows, model_rows
from core.data.roles import looks_like_identifier
from core.data.sampling import read_within_budget
from core.store import Store
from core.store.sql import one_row
from core.types import DatasetInfo

__all__ = [
    "CONFLICTING",
    "compared",
    "conflicting_groups",
    "groups_sql",
    "labeled_rows",
    "matching_sql",
    "structure_findings",
]

MISSING_HIGH, MISSING_MEDIUM = 0.5, 0.2  # fraction of missing cells in a column
NEAR_CONSTANT_SHARE = 0.98  # one value in >= 98% of the rows: almost no information, folds may see one value
HIGH_CARDINALITY = 30  # the one-hot encoder keeps 30 categories (models.MAX_CATEGORIES); more are pooled
LISTED = "ORDER BY __part, __row LIMIT ?"  # 'dev' < 'test': load_split's order, the first rows of it
CONFLICTING = "min(y) <> max(y)"  # a group of identical feature rows with more than one label

_T = TypeVar("_T")


def labeled_rows(con: duckdb.DuckDBPyConnection, dataset: DatasetInfo) -> ModelRows:
    """The rows ``load_split`` reads for dev and test (:func:`core.data.frames.model_rows`): the unlabeled
    rows are no part of any check."""
    rows = model_rows(con, dataset)
    return replace(rows, where="__part IN ('dev', 'test')")


def compared(rows: ModelRows, ids: Sequence[str]) -> list[str]:
    """The aliases rows are compared on: every feature but the identifier-like columns ``ids``."""
    return [a for a, name in zip(rows.aliases, rows.names) if name not in ids]


def groups_sql(rows: ModelRows, keys: Sequence[str], having: str, part: str | None = None) -> str:
    """The distinct ``keys`` of the rows (of one ``part``, or all) whose group satisfies ``having``."""
    cols = ", ".join(keys)
    where = "TRUE" if part is None else f"__part = '{part}'"
    return f"SELECT {cols} FROM {rows.only(keys)} WHERE {where} GROUP BY {cols} HAVING {having}"


def matching_sql(rows: ModelRows, keys: Sequence[str], groups: str, select: str) -> str:
    """``select`` (over ``r``, a row, and ``g``, its group) for the rows whose ``keys`` equal a row of
    ``groups`` (distinct keys, so each row matches once), missing equal to missing."""
    on = " AND ".join(f"r.{k} IS NOT DISTINCT FROM g.{k}" for k in keys)
    return f"SELECT {select} FROM {rows.only(keys)} AS r JOIN ({groups}) AS g ON {on}"


def conflicting_groups(
    con: duckdb.DuckDBPyConnection, rows: ModelRows, keys: Sequence[str], part: str | None = None
) -> list[list[tuple[str, int, str]]]:
    """The groups of identical ``keys`` (among the rows of one ``part``, or all) that carry more than one
    label: each group's rows as (part, row, label), in ``load_split``'s order."""
    groups = f"SELECT *, row_number() OVER () AS gid FROM ({groups_sql(rows, keys, CONFLICTING, part)})"
    where = "" if part is None else f" WHERE r.__part = '{part}'"
    found = con.execute(
        f"{matching_sql(rows, keys, groups, 'g.gid, r.__part, r.__row, r.y')}{where} ORDER BY r.__part, r.__row"
    )
    members: dict[int, list[tuple[str, int, str]]] = {}
    for gid, in_part, row, label in found.fetchall():
        members.setdefault(int(gid), []).append((str(in_part), int(row), str(label)))
    return list(members.values())


def structure_findings(
    store: Store, rows: ModelRows, dataset: DatasetInfo, n: int
) -> tuple[list[Finding], tuple[str, ...]]:
    """The structure findings on the ``n`` labeled rows, and the identifier-like columns, which the
    duplicate and conflict checks leave out (an id makes every row unique).

    Each step is a read of its own (inside the caller's :meth:`~core.store.Store.reading` block, they
    share a connection): a dataset of 500 columns takes over a thousand queries, seconds in all, and
    a run waiting to write a fold gets in between two of them.
    """

    def read(step: Callable[..., _T], *args: Any) -> _T:
        with store.read() as con:
            return step(con, rows, *args)

    stats = [read(_column, i) for i in range(len(rows.names))]
    findings = [read(_missing, s, n) for s in stats if s.missing]
    findings += [f for s in stats for f in read(_constant, s, n)]
    ids = [f for s in stats for f in _identifier(s, n)]
    findings += ids
    findings += [f for s in stats for f in _high_cardinality(s, n)]
    id_names = tuple(f.columns[0] for f in ids)
    keys = compared(rows, id_names)
    if keys:  # a GROUP BY over every row and feature each: within the dataset's memory budget
        findings += read_within_budget(store, dataset, lambda con: _duplicates(con, rows, keys, n))
        if rows.classification:
            findings += read_within_budget(store, dataset, lambda con: _conflicts(con, rows, keys, n))
    if rows.classification:
        findings += read(_imbalance, dataset)
    return findings, id_names


@dataclass(frozen=True)
class _Column:
    """One feature's value counts, from one GROUP BY over it."""

    name: str
    alias: str
    numeric: bool
    missing: int  # rows without a value
    distinct: int  # distinct values, missing not counted (pandas' nunique)
    values: int  # distinct values, missing counted as one (value_counts(dropna=False))
    top: int  # rows of the most frequent value, missing counted as one
    top_value: Any  # that value when it is not missing and fills more than half of the rows
    integral: bool  # numeric: every value a whole number
    lo: float
    hi: float


def _column(con: duckdb.DuckDBPyConnection, rows: ModelRows, i: int) -> _Column:
    numbers = "coalesce(bool_and(v = round(v)), false), min(v), max(v)" if rows.numeric[i] else "false, 0, 0"
    counts = f"SELECT f{i} AS v, count(*) AS c FROM {rows.only([f'f{i}'])} GROUP BY v"
    r = one_row(
        con.execute(
            "SELECT coalesce(sum(c) FILTER (WHERE v IS NULL), 0), count(v), count(*), max(c), arg_max(v, c), "
            f"{numbers} FROM ({counts})"
        )
    )
    return _Column(
        rows.names[i],
        f"f{i}",
        rows.numeric[i],
        int(r[0]),
        int(r[1]),
        int(r[2]),
        int(r[3] or 0),
        r[4],
        bool(r[5]),
        float(r[6] or 0),
        float(r[7] or 0),
    )


def _listed(
    con: duckdb.DuckDBPyConnection, rows: ModelRows, s: _Column, where: str, args: Sequence[Any] = ()
) -> tuple[int, ...]:
    """The first rows (load_split's order) where column ``s`` satisfies ``where``."""
    found = con.execute(
        f"SELECT __row FROM {rows.only([s.alias])} WHERE {where} {LISTED}", [*args, MAX_ROWS]
    ).fetchall()
    return listed_rows(r[0] for r in found)


def _missing(con: duckdb.DuckDBPyConnection, rows: ModelRows, s: _Column, n: int) -> Finding:
    frac = s.missing / n
    sev: Severity = "high" if frac >= MISSING_HIGH else "medium" if frac >= MISSING_MEDIUM else "low"
    action = (
        "drop the column, or add a 'was missing' indicator if missingness carries signal"
        if frac >= MISSING_HIGH
        else "impute inside the folds (the pipelines do: median / '(missing)') and consider a missing-indicator feature"
    )
    return Finding(
        "missing",
        sev,
        (s.name,),
        _listed(con, rows, s, f"{s.alias} IS NULL"),
        f"{s.name}: {s.missing} of {n} values missing ({percent(frac)})",
        action,
        float(frac),
        s.missing,
    )


def _constant(con: duckdb.DuckDBPyConnection, rows: ModelRows, s: _Column, n: int) -> list[Finding]:
    if s.values <= 1:
        return [
            Finding(
                "constant",
                "medium",
                (s.name,),
                (),
                f"{s.name} has a single value in every row: it carries no information",
                "drop the column",
                1.0,
                0,
            )
        ]
    share = s.top / n
    if share < NEAR_CONSTANT_SHARE:
        return []
    # The top value fills most rows, so it is the missing one exactly when the missing rows are that many.
    top = None if s.missing == s.top else s.top_value
    cast = "DOUBLE" if s.numeric else "VARCHAR"
    return [
        Finding(
            "near_constant",
            "low",
            (s.name,),
            _listed(con, rows, s, f"{s.alias} IS DISTINCT FROM CAST(? AS {cast})", [top]),
            f"{s.name}: one value fills {percent(share)} of the rows; {n - s.top} rows differ",
            "drop it, or check the rare rows: some folds may see a single value",
            float(share),
            n - s.top,
        )
    ]


def _identifier(s: _Column, n: int) -> list[Finding]:
    """A column with a different value in every row: text ids, or dense integer counters."""
    # The import's rule (core.data.roles), so an identifier it ignored is the one this would find.
    present = n - s.missing
    if not looks_like_identifier(n, present, s.distinct, numeric=s.numeric, integral=s.integral, lo=s.lo, hi=s.hi):
        return []
    return [
        Finding(
            "identifier",
            "medium",
            (s.name,),
            (),
            f"{s.name} has a different value in every row: it looks like an identifier",
            "drop it from the features (an id only lets a model memorise rows)",
            1.0,
            0,
        )
    ]


def _high_cardinality(s: _Column, n: int) -> list[Finding]:
    k = s.distinct
    if s.numeric or k <= HIGH_CARDINALITY or k == n - s.missing:  # unique per row is an identifier finding
        return []
    ratio = k / n
    sev: Severity = "medium" if ratio > 0.5 else "low"
    return [
        Finding(
            "high_cardinality",
            sev,
            (s.name,),
            (),
            f"{s.name}: {k} distinct categories in {n} rows; one-hot keeps the {HIGH_CARDINALITY} "
            "most frequent and pools the rest",
            "group rare categories, or use target / frequency encoding fitted inside the folds",
            float(k),
            0,
        )
    ]


def _duplicates(con: duckdb.DuckDBPyConnection, rows: ModelRows, keys: list[str], n: int) -> list[Finding]:
    with_y = [*keys, "y"]
    cols = ", ".join(with_y)
    sizes = (
        f"SELECT count(*) AS c, min(__part) <> max(__part) AS across FROM {rows.only(keys)} "
        f"GROUP BY {cols} HAVING count(*) > 1"
    )
    groups, in_groups, across = one_row(
        con.execute(f"SELECT count(*), coalesce(sum(c), 0), count(*) FILTER (WHERE across) FROM ({sizes})")
    )
    if not groups:
        return []
    n_extra, n_dup = int(in_groups) - int(groups), int(in_groups)
    dup_rows = _matching_rows(con, rows, with_y, groups_sql(rows, with_y, "count(*) > 1"))
    frac = n_extra / n
    if across:
        return [
            Finding(
                "duplicates",
                "high",
                (),
                dup_rows,
                f"{n_extra} duplicate rows (identical features and target); {across} groups appear in both "
                "the development and the test rows, so the test score is optimistic",
                "remove duplicates (or split by group) and re-import",
                float(frac),
                n_dup,
            )
        ]
    sev: Severity = "medium" if frac >= 0.05 else "low"
    return [
        Finding(
            "duplicates",
            sev,
            (),
            dup_rows,
            f"{n_extra} duplicate rows ({percent(frac)}): identical features and target",
            "remove them if they are copies; keep them if they are real repeated observations "
            "(then validate with grouped folds)",
            float(frac),
            n_dup,
        )
    ]


def _conflicts(con: duckdb.DuckDBPyConnection, rows: ModelRows, keys: list[str], n: int) -> list[Finding]:
    cols = ", ".join(keys)
    sizes = f"SELECT count(*) AS c FROM {rows.only(keys)} GROUP BY {cols} HAVING {CONFLICTING}"
    n_groups, n_bad = (int(v) for v in one_row(con.execute(f"SELECT count(*), coalesce(sum(c), 0) FROM ({sizes})")))
    if not n_groups:
        return []
    frac = n_bad / n
    return [
        Finding(
            "conflicting_labels",
            "high" if frac >= 0.05 else "medium",
            (),
            _matching_rows(con, rows, keys, groups_sql(rows, keys, CONFLICTING)),
            f"{n_groups} groups of identical feature rows have different labels ({n_bad} rows): no model "
            "can get all of them right",
            "check the labels of these rows; if both are real, a feature that tells them apart is missing",
            float(frac),
            n_bad,
        )
    ]


def _imbalance(con: duckdb.DuckDBPyConnection, rows: ModelRows, dataset: DatasetInfo) -> list[Finding]:
    # pandas' value_counts: most rows first, ties in the order of their first row (dev rows, then test rows).
    counts = con.execute(
        f"SELECT y, count(*) AS c FROM {rows.only([])} WHERE y IS NOT NULL GROUP BY y ORDER BY c DESC, "
        "min(__row) FILTER (WHERE __part = 'dev') NULLS LAST, min(__row) FILTER (WHERE __part = 'test')"
    ).fetchall()
    if len(counts) < 2:
        return [
            Finding(
                "class_imbalance",
                "high",
                (dataset.target,),
                (),
                f"only one class ({counts[0][0] if counts else '-'}) among the labeled rows",
                "a classifier needs at least two classes: check the target",
                None,
                0,
            )
        ]
    (top, n_top), (minority, n_min) = counts[0], counts[-1]
    ratio = n_top / n_min
    if ratio < 3:
        return []  # balanced enough, however few rows each class has
    sev: Severity = "high" if ratio >= 100 or n_min < 10 else "medium" if ratio >= 10 else "low"
    return [
        Finding(
            "class_imbalance",
            sev,
            (dataset.target,),
            (),
            f"classes are imbalanced: {top} has {ratio:.1f}× the rows of {minority} "
            f"({n_min} rows, {percent(n_min / sum(c for _, c in counts))})",
            "judge models by balanced accuracy or ROC AUC, not accuracy; try class_weight='balanced'",
            float(ratio),
            0,
        )
    ]


def _matching_rows(con: duckdb.DuckDBPyConnection, rows: ModelRows, keys: list[str], groups: str) -> tuple[int, ...]:
    """The first rows whose ``keys`` equal a row of ``groups``."""
    found = con.execute(
        f"SELECT __row FROM ({matching_sql(rows, keys, groups, 'r.__row, r.__part')}) {LISTED}", [MAX_ROWS]
    ).fetchall()
    return listed_rows(r[0] for r in found)
