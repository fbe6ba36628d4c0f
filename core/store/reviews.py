"""The SQL of label reviews: a dataset's review queue and the decisions made on it.

A queue (:mod:`core.analysis.review`) is stored when it is opened, items and all (``items``, JSON),
so that opening it again shows the same rows in the same order and continues where it stopped; a
decision is one row of ``review_decisions``, written the moment it is made. A dataset has at most
one open queue (``finished_at`` NULL); finishing it records when, and the version it made, if any.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from core.store.run_json import sample_from_json, sample_json
from core.store.sql import one_row
from core.types import RunSample


@dataclass(frozen=True)
class StoredQueue:
    """An open queue as stored: its id, the run its probabilities came from, its items (JSON-ready
    dicts) and how many rows were suspicious before the queue was cut to its length."""

    id: int
    dataset_id: int
    from_run: int | None
    items: list[dict[str, Any]]
    n_found: int
    created_at: float
    sample: RunSample | None = None  # the development rows it judged, when not all of them


@dataclass(frozen=True)
class Decision:
    row: int
    decision: str  # keep | relabel | drop | skip
    label: str | None  # the new label of a relabel
    decided_at: float
    seq: int  # the order decisions were made in (undo removes the highest)


def open_queue(con: duckdb.DuckDBPyConnection, dataset_id: int) -> StoredQueue | None:
    """The dataset's open queue, or None."""
    row = con.execute(
        "SELECT id, dataset_id, from_run, items, n_found, created_at, sample FROM review_queues "
        "WHERE dataset_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
        [dataset_id],
    ).fetchone()
    if row is None:
        return None
    return StoredQueue(
        int(row[0]), int(row[1]), row[2], json.loads(row[3]), int(row[4]), float(row[5]), sample_from_json(row[6])
    )


def insert_queue(
    con: duckdb.DuckDBPyConnection,
    dataset_id: int,
    from_run: int | None,
    items: list[dict[str, Any]],
    n_found: int,
    created_at: float,
    sample: RunSample | None = None,
) -> int:
    """A new open queue; its id."""
    queue_id = int(one_row(con.execute("SELECT coalesce(max(id), 0) + 1 FROM review_queues"))[0])
    con.execute(
        "INSERT INTO review_queues (id, dataset_id, from_run, items, n_found, created_at, sample) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [queue_id, dataset_id, from_run, json.dumps(items), n_found, created_at, sample_json(sample)],
    )
    return queue_id


def delete_queue(con: duckdb.DuckDBPyConnection, queue_id: int) -> None:
    """An open queue and its decisions, gone (``--discard``)."""
    con.execute("DELETE FROM review_decisions WHERE queue_id = ?", [queue_id])
    con.execute("DELETE FROM review_queues WHERE id = ?", [queue_id])


def decisions(con: duckdb.DuckDBPyConnection, queue_id: int) -> list[Decision]:
    """A queue's decisions in the order they were made."""
    rows = con.execute(
        "SELECT __row, decision, label, decided_at, seq FROM review_decisions WHERE queue_id = ? ORDER BY seq",
        [queue_id],
    ).fetchall()
    return [Decision(int(r[0]), str(r[1]), r[2], float(r[3]), int(r[4])) for r in rows]


def insert_decision(
    con: duckdb.DuckDBPyConnection,
    queue_id: int,
    dataset_id: int,
    row: int,
    decision: str,
    label: str | None,
    decided_at: float,
) -> None:
    """Record a decision on ``row``; one made on it before is replaced."""
    seq = int(
        one_row(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM review_decisions WHERE queue_id = ?", [queue_id]))[0]
    )
    con.execute("DELETE FROM review_decisions WHERE queue_id = ? AND __row = ?", [queue_id, row])
    con.execute(
        "INSERT INTO review_decisions (queue_id, dataset_id, __row, decision, label, decided_at, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [queue_id, dataset_id, row, decision, label, decided_at, seq],
    )


def delete_last_decision(con: duckdb.DuckDBPyConnection, queue_id: int) -> Decision | None:
    """Remove the queue's latest decision; it, or None when there was none."""
    made = decisions(con, queue_id)
    if not made:
        return None
    con.execute("DELETE FROM review_decisions WHERE queue_id = ? AND seq = ?", [queue_id, made[-1].seq])
    return made[-1]


def close_queue(con: duckdb.DuckDBPyConnection, queue_id: int, finished_at: float, version_id: int | None) -> None:
    con.execute(
        "UPDATE review_queues SET finished_at = ?, version_id = ? WHERE id = ?", [finished_at, version_id, queue_id]
    )


def row_parts(con: duckdb.DuckDBPyConnection, relation: str, rows: list[int]) -> dict[int, str]:
    """The part (dev, test, unlabeled) of each of ``rows`` the dataset's ``relation`` has."""
    found = con.execute(
        f"SELECT __row, __part FROM {relation} WHERE list_contains(CAST(? AS BIGINT[]), __row)", [rows]
    ).fetchall()
    return {int(r): str(p) for r, p in found}
