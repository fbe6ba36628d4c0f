"""The SQL of test-set evaluations: each scoring of a run on its dataset's locked test rows, recorded and counted."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from core.numbers import finite_or_none
from core.store.connection import Store
from core.store.sql import one_row
from core.types import TestEvaluation


def insert(
    store: Store,
    *,
    run_id: int,
    dataset_id: int,
    created_at: float,
    n_train: int,
    n_test: int,
    fit_time: float,
    scores: dict[str, float],
    fit_warnings: Sequence[str],
) -> tuple[int, tuple[int, ...]]:
    """Record one evaluation; its id and the runs evaluated on the same test rows before it, oldest first."""
    with store.write() as con:
        earlier = tuple(
            r[0]
            for r in con.execute(
                "SELECT run_id FROM test_evaluations WHERE dataset_id = ? ORDER BY id", [dataset_id]
            ).fetchall()
        )
        eval_id = one_row(con.execute("SELECT nextval('test_evaluation_ids')"))[0]
        con.execute(
            "INSERT INTO test_evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                eval_id,
                run_id,
                dataset_id,
                created_at,
                n_train,
                n_test,
                fit_time,
                json.dumps({k: finite_or_none(v) for k, v in scores.items()}),
                json.dumps(list(fit_warnings)),
            ],
        )
    return eval_id, earlier


def select(store: Store, dataset_id: int | None = None, run_id: int | None = None) -> list[TestEvaluation]:
    """Recorded evaluations, oldest first: all, one dataset's, or one run's."""
    where, args = [], []
    if dataset_id is not None:
        where.append("t.dataset_id = ?")
        args.append(dataset_id)
    if run_id is not None:
        where.append("t.run_id = ?")
        args.append(run_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with store.read() as con:
        rows = con.execute(
            f"""SELECT t.id, t.run_id, t.dataset_id, d.name, r.model, t.created_at, t.n_train, t.n_test, t.fit_time,
                       CAST(t.scores AS VARCHAR), CAST(t.warnings AS VARCHAR),
                       (SELECT list(e.run_id ORDER BY e.id) FROM test_evaluations e
                        WHERE e.dataset_id = t.dataset_id AND e.id < t.id)
                FROM test_evaluations t JOIN datasets d ON d.id = t.dataset_id
                LEFT JOIN runs r ON r.id = t.run_id {clause} ORDER BY t.id""",
            args,
        ).fetchall()
    return [
        TestEvaluation(
            id=r[0],
            run_id=r[1],
            dataset_id=r[2],
            dataset=r[3],
            model=r[4] or "?",
            created_at=r[5],
            n_train=r[6],
            n_test=r[7],
            fit_time=math.nan if r[8] is None else r[8],
            scores={k: math.nan if v is None else float(v) for k, v in json.loads(r[9]).items()},
            ordinal=len(r[11] or []) + 1,
            earlier_runs=tuple(r[11] or []),
            fit_warnings=tuple(json.loads(r[10])),
        )
        for r in rows
    ]


def count(store: Store, dataset_id: int) -> int:
    """How many times the dataset's locked test rows have been evaluated."""
    with store.read() as con:
        return int(one_row(con.execute("SELECT count(*) FROM test_evaluations WHERE dataset_id = ?", [dataset_id]))[0])
