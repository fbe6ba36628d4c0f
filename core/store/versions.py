"""The SQL of dataset versions: a version's ``datasets`` row, its kept columns and its row edits.

A version (:mod:`core.data.versions`) is a dataset row of its own whose ``parent_id`` names the
dataset it was derived from and whose ``recipe`` (JSON) says what changed; its rows are its
parent's, read through :func:`core.store.datasets.data_layout`, less the rows it drops and with the
labels it changes, both rows of :data:`EDITS_TABLE`. Nothing is copied and no table is added.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from core.store.datasets import EDITS_TABLE
from core.store.sql import quote_ident


def version_names(con: duckdb.DuckDBPyConnection, base: str) -> list[str]:
    """Names of datasets named ``base@...`` (to find the next version number)."""
    like = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%"
    return [r[0] for r in con.execute("SELECT name FROM datasets WHERE name LIKE ? ESCAPE '\\'", [like]).fetchall()]


def insert_version(
    con: duckdb.DuckDBPyConnection,
    *,
    parent_id: int,
    version_id: int,
    name: str,
    columns: list[str],
    recipe: dict[str, Any],
    created_at: float,
) -> None:
    """The version's ``datasets`` row (its parent's facts; counts are set by :func:`set_counts`) and
    its ``dataset_columns`` rows: the parent's profiles of the kept ``columns``, renumbered."""
    con.execute(
        "INSERT INTO datasets (id, name, source, format, encoding, file_hash, n_rows, n_cols, target, target_storage, "
        "task, classes, test_size, split_seed, n_dev, n_test, n_unlabeled, data_table, notes, created_at, "
        "group_column, parent_id, recipe, memory_limit) "
        "SELECT ?, ?, source, format, encoding, file_hash, n_rows, ?, target, target_storage, task, classes, "
        "test_size, split_seed, n_dev, n_test, n_unlabeled, data_table, '[]', ?, group_column, id, ?, memory_limit "
        "FROM datasets WHERE id = ?",
        [version_id, name, len(columns), created_at, json.dumps(recipe), parent_id],
    )
    con.execute(
        "INSERT INTO dataset_columns SELECT * REPLACE (? AS dataset_id, "
        "CAST(list_position(?, name) - 1 AS INTEGER) AS position) "
        "FROM dataset_columns WHERE dataset_id = ? AND list_contains(?, name)",
        [version_id, columns, parent_id, columns],
    )


def insert_edits(con: duckdb.DuckDBPyConnection, version_id: int, drops: list[int], relabels: dict[int, str]) -> None:
    """The version's dropped rows and changed labels, in one INSERT each."""
    if drops:
        con.execute(
            f"INSERT INTO {EDITS_TABLE} (dataset_id, __row, op, label) "
            "SELECT ?, unnest(CAST(? AS BIGINT[])), 'drop', NULL",
            [version_id, sorted(drops)],
        )
    if relabels:
        rows = sorted(relabels)
        con.execute(
            f"INSERT INTO {EDITS_TABLE} (dataset_id, __row, op, label) "
            "SELECT ?, unnest(CAST(? AS BIGINT[])), 'relabel', unnest(CAST(? AS VARCHAR[]))",
            [version_id, rows, [relabels[r] for r in rows]],
        )


def set_counts(con: duckdb.DuckDBPyConnection, version_id: int, relation: str) -> None:
    """The version's row counts, from its own relation (rows per part)."""
    counts = dict(con.execute(f"SELECT __part, count(*) FROM {relation} GROUP BY __part").fetchall())
    dev, test, unlabeled = (int(counts.get(p, 0)) for p in ("dev", "test", "unlabeled"))
    con.execute(
        "UPDATE datasets SET n_rows = ?, n_dev = ?, n_test = ?, n_unlabeled = ? WHERE id = ?",
        [dev + test + unlabeled, dev, test, unlabeled, version_id],
    )


def update_profiles(con: duckdb.DuckDBPyConnection, version_id: int, stats: list[tuple[Any, ...]]) -> None:
    """Replace the version's column statistics, one ``(storage, n_missing, n_distinct, min, max, mean,
    std, top_values)`` tuple per column: a version that drops or relabels rows has its own."""
    con.executemany(
        "UPDATE dataset_columns SET n_missing = ?, n_distinct = ?, min = ?, max = ?, mean = ?, std = ?, "
        "top_values = CAST(? AS JSON) WHERE dataset_id = ? AND storage = ?",
        [[*rest, json.dumps([list(tv) for tv in top]), version_id, storage] for storage, *rest, top in stats],
    )


def duplicate_rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], include_test: bool) -> list[int]:
    """Rows identical to an earlier labeled row on ``columns`` (storage names): all but one of each group.
    The one kept is a test row if the group has one (test rows stay unless ``include_test``), else the first."""
    key = ", ".join(quote_ident(c) for c in columns)
    test_guard = "" if include_test else "AND __part <> 'test'"
    return [
        int(r[0])
        for r in con.execute(
            f"SELECT __row FROM (SELECT __row, __part, row_number() OVER (PARTITION BY {key} "
            f"ORDER BY (__part = 'test') DESC, __row) AS k FROM {relation} WHERE __part <> 'unlabeled') "
            f"WHERE k > 1 {test_guard} ORDER BY __row"
        ).fetchall()
    ]


def children(con: duckdb.DuckDBPyConnection, dataset_id: int) -> list[str]:
    """Names of the versions derived directly from a dataset."""
    rows = con.execute("SELECT name FROM datasets WHERE parent_id = ? ORDER BY id", [dataset_id]).fetchall()
    return [r[0] for r in rows]
