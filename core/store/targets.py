"""The SQL of dataset targets: one reference score per dataset (human-level, an existing system's)."""

from __future__ import annotations

from typing import NamedTuple

from core.store.connection import Store
from core.store.sql import one_row


class StoredTarget(NamedTuple):
    metric: str
    score: float
    note: str | None
    set_at: float


def save(store: Store, dataset_id: int, target: StoredTarget) -> None:
    """Set the dataset's target, replacing any earlier one."""
    with store.write() as con:
        con.execute("DELETE FROM dataset_targets WHERE dataset_id = ?", [dataset_id])
        con.execute("INSERT INTO dataset_targets VALUES (?, ?, ?, ?, ?)", [dataset_id, *target])


def load(store: Store, dataset_id: int) -> StoredTarget | None:
    with store.read() as con:
        row = con.execute(
            "SELECT metric, score, note, set_at FROM dataset_targets WHERE dataset_id = ?", [dataset_id]
        ).fetchone()
    return None if row is None else StoredTarget(*row)


def delete(store: Store, dataset_id: int) -> bool:
    """Remove the dataset's target; whether there was one."""
    with store.write() as con:
        n = one_row(con.execute("SELECT count(*) FROM dataset_targets WHERE dataset_id = ?", [dataset_id]))[0]
        con.execute("DELETE FROM dataset_targets WHERE dataset_id = ?", [dataset_id])
    return bool(n)
