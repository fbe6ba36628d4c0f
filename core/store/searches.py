"""The SQL of hyper-parameter searches: the grid, draw and metric of each search; its candidates are
the runs of one group (see :mod:`core.store.runs`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from core.store.connection import Store


class StoredSearch(NamedTuple):
    group_id: int
    base_run_id: int
    grid: dict[str, list[Any]]
    random: int | None
    seed: int
    metric: str
    greater_is_better: bool
    created_at: float
    dataset_id: int


def insert(
    store: Store,
    group_id: int,
    base_run_id: int,
    grid: Mapping[str, Sequence[Any]],
    random: int | None,
    seed: int,
    metric: str,
    greater_is_better: bool,
    created_at: float,
) -> None:
    with store.write() as con:
        con.execute(
            "INSERT INTO searches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [group_id, base_run_id, json.dumps(grid), random, seed, metric, greater_is_better, created_at],
        )


def load(store: Store, group_id: int) -> StoredSearch | None:
    """The search recorded for a group of runs, with the dataset its runs are on; ``None`` if there is none."""
    with store.read() as con:
        row = con.execute(
            "SELECT s.group_id, s.base_run_id, CAST(s.grid AS VARCHAR), s.random, s.seed, s.metric, "
            "s.greater_is_better, s.created_at, r.dataset_id "
            "FROM searches s JOIN runs r ON r.group_id = s.group_id WHERE s.group_id = ? LIMIT 1",
            [group_id],
        ).fetchone()
    if row is None:
        return None
    return StoredSearch(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], bool(row[6]), row[7], row[8])


def is_search_group(store: Store, group_id: int) -> bool:
    with store.read() as con:
        return con.execute("SELECT 1 FROM searches WHERE group_id = ?", [group_id]).fetchone() is not None


def groups_based_on(store: Store, run_id: int) -> list[int]:
    """The groups of the searches started from a run, oldest first."""
    with store.read() as con:
        return [
            r[0]
            for r in con.execute(
                "SELECT group_id FROM searches WHERE base_run_id = ? ORDER BY created_at, group_id", [run_id]
            ).fetchall()
        ]
