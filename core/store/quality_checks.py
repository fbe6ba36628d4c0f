"""The SQL of cached data-quality checks: one row per dataset, its last check's findings and warnings.

A check is claimed (``running``, with the process that does it) before it starts, so two background
checkers never check the same dataset twice, and a checker that died leaves a claim that lapses.
Findings are kept as the JSON the analysis layer wrote; the warnings as :class:`DataWarning` rows.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import duckdb

from core.store.connection import Store
from core.store.processes import pid_alive
from core.types import DataWarning


class CheckState(NamedTuple):
    status: str  # running, done, failed, cancelled
    checks_version: int
    pid: int | None
    host: str | None
    started_at: float
    finished_at: float | None
    error: str | None

    def running(self) -> bool:
        """Claimed by a process that is still alive (on this host, or presumed alive on another)."""
        if self.status != "running" or self.pid is None:
            return False
        return self.host != socket.gethostname() or pid_alive(self.pid, self.started_at)


def _claimable(current: CheckState | None, version: int) -> bool:
    """No check, an older one, a cancelled one, or one claimed by a process that died."""
    if current is None:
        return True
    if current.status in ("done", "failed"):
        return current.checks_version < version
    return not current.running()


def unclaimed(store: Store, version: int) -> bool:
    """Whether some dataset's check is claimable (see :func:`claim`)."""
    with store.read() as con:
        ids = [r[0] for r in con.execute("SELECT id FROM datasets").fetchall()]
        return any(_claimable(_state(con, i), version) for i in ids)


def claim(store: Store, dataset_ids: Sequence[int], version: int) -> int | None:
    """Claim the first of ``dataset_ids`` whose check is missing, older than ``version``, cancelled,
    or claimed by a dead process; ``None`` when every one is checked or being checked."""
    host, pid = socket.gethostname(), os.getpid()
    with store.write() as con:
        for dataset_id in dataset_ids:
            if not _claimable(_state(con, dataset_id), version):
                continue
            con.execute("DELETE FROM quality_checks WHERE dataset_id = ?", [dataset_id])
            con.execute(
                "INSERT INTO quality_checks (dataset_id, status, checks_version, pid, host, started_at) "
                "VALUES (?, 'running', ?, ?, ?, ?)",
                [dataset_id, version, pid, host, time.time()],
            )
            return dataset_id
    return None


def save(
    store: Store, dataset_id: int, version: int, findings: list[dict[str, Any]], warnings: Sequence[DataWarning]
) -> None:
    """Record a finished check, replacing the dataset's earlier one (or its claim)."""
    with store.write() as con:
        claimed = con.execute(
            "SELECT started_at FROM quality_checks WHERE dataset_id = ? AND status = 'running' AND pid = ?",
            [dataset_id, os.getpid()],
        ).fetchone()
        con.execute("DELETE FROM quality_checks WHERE dataset_id = ?", [dataset_id])
        con.execute(
            "INSERT INTO quality_checks (dataset_id, status, checks_version, pid, host, started_at, finished_at, "
            "findings, warnings) VALUES (?, 'done', ?, ?, ?, ?, ?, ?, ?)",
            [
                dataset_id,
                version,
                os.getpid(),
                socket.gethostname(),
                time.time() if claimed is None else claimed[0],
                time.time(),
                json.dumps(findings),
                warnings_json(warnings),
            ],
        )


def end_claim(store: Store, dataset_id: int, status: str, error: str | None = None) -> None:
    """A claimed check that did not finish: ``failed`` (with its error) or ``cancelled``."""
    with store.write() as con:
        con.execute(
            "UPDATE quality_checks SET status = ?, error = ?, finished_at = ? "
            "WHERE dataset_id = ? AND status = 'running' AND pid = ?",
            [status, error, time.time(), dataset_id, os.getpid()],
        )


def state(store: Store, dataset_id: int) -> CheckState | None:
    with store.read() as con:
        return _state(con, dataset_id)


def findings(store: Store, dataset_id: int) -> list[dict[str, Any]] | None:
    """The findings of the dataset's last finished check, as stored; ``None`` if it has none."""
    with store.read() as con:
        row = con.execute(
            "SELECT findings FROM quality_checks WHERE dataset_id = ? AND status = 'done'", [dataset_id]
        ).fetchone()
    return None if row is None else list(json.loads(row[0]))


def warnings_json(warnings: Sequence[DataWarning]) -> str:
    return json.dumps([{"kind": w.kind, "message": w.message, "fix": w.fix} for w in warnings])


def warnings_from_json(text: str | None) -> tuple[DataWarning, ...]:
    if not text:
        return ()
    return tuple(DataWarning(w["kind"], w["message"], w["fix"]) for w in json.loads(text))


def _state(con: duckdb.DuckDBPyConnection, dataset_id: int) -> CheckState | None:
    row = con.execute(
        "SELECT status, checks_version, pid, host, started_at, finished_at, error FROM quality_checks "
        "WHERE dataset_id = ?",
        [dataset_id],
    ).fetchone()
    return None if row is None else CheckState(*row)
