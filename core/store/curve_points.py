"""The SQL of learning- and validation-curve points: one row per (run, curve, parameter, setting, fold, metric).

A setting is recognised by the canonical JSON of its parameter value (:func:`value_key`), so a
point computed twice (two processes asking for the same curve) is stored once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from core.numbers import finite_or_none, none_as_nan
from core.store.connection import Store
from core.store.sql import one_row


class StoredPointRow(NamedTuple):
    """One metric of one stored point; ``value_json`` is the parameter value's JSON (``None``: not stored)."""

    x: float
    label: str | None
    value_json: str | None
    fold_index: int
    metric: str
    train: float
    validation: float
    fit_time: float
    error: str | None


def value_key(value: Any) -> str:
    """The canonical JSON of a setting's value: how it is recognised in the store (1 and 1.0 are equal)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def decode_value(text: str | None) -> Any:
    """A stored value back from its JSON (text that is not JSON is returned as it is)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def insert_point(
    store: Store,
    run_id: int,
    kind: str,
    param: str,
    *,
    x: float,
    fold_index: int,
    label: str,
    value: Any,
    train: Mapping[str, float],
    validation: Mapping[str, float],
    metrics: list[str],
    fit_time: float,
    error: str | None,
    created_at: float,
) -> bool:
    """One point, every metric, in one transaction; a point someone else stored first is kept (returns False)."""
    key = value_key(value)
    with store.write() as con:
        existing = con.execute(
            "SELECT DISTINCT CAST(value AS VARCHAR) FROM curve_points "
            "WHERE run_id = ? AND curve = ? AND param = ? AND fold_index = ?",
            [run_id, kind, param, fold_index],
        ).fetchall()
        if any(value_key(decode_value(v[0])) == key for v in existing):
            return False
        rows, args = [], []
        for m in metrics:
            rows.append("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            args += [
                run_id,
                kind,
                param,
                x,
                fold_index,
                m,
                finite_or_none(train.get(m)),
                finite_or_none(validation.get(m)),
                label,
                key,
                finite_or_none(fit_time),
                error,
                created_at,
            ]
        con.execute(
            "INSERT INTO curve_points (run_id, curve, param, x, fold_index, metric, train, validation, label, "
            f"value, fit_time, error, created_at) VALUES {', '.join(rows)}",
            args,
        )
    return True


def select_points(store: Store, run_id: int, kind: str, param: str) -> list[StoredPointRow]:
    """The stored rows of one curve, by x, fold and metric."""
    with store.read() as con:
        rows = con.execute(
            "SELECT x, label, CAST(value AS VARCHAR), fold_index, metric, train, validation, fit_time, error "
            "FROM curve_points WHERE run_id = ? AND curve = ? AND param = ? ORDER BY x, fold_index, metric",
            [run_id, kind, param],
        ).fetchall()
    return [
        StoredPointRow(
            x, label, value, fold, metric, none_as_nan(train), none_as_nan(val), none_as_nan(fit_time), error
        )
        for x, label, value, fold, metric, train, val, fit_time, error in rows
    ]


def validation_params(store: Store, run_id: int) -> list[str]:
    """The parameters of a run's stored validation curves, oldest first."""
    with store.read() as con:
        rows = con.execute(
            "SELECT param FROM curve_points WHERE run_id = ? AND curve = 'validation' "
            "GROUP BY param ORDER BY max(coalesce(created_at, 0))",
            [run_id],
        ).fetchall()
    return [r[0] for r in rows]


def delete_points(store: Store, run_id: int, kind: str | None = None, param: str | None = None) -> int:
    """Delete a run's points (all, one kind, or one parameter); returns how many points (settings × folds) went."""
    where: list[str] = ["run_id = ?"]
    args: list[object] = [run_id]
    if kind is not None:
        where.append("curve = ?")
        args.append(kind)
    if param is not None:
        where.append("param = ?")
        args.append(param)
    clause = " AND ".join(where)
    with store.write() as con:
        distinct = f"SELECT DISTINCT curve, param, value, fold_index FROM curve_points WHERE {clause}"
        n = one_row(con.execute(f"SELECT count(*) FROM ({distinct})", args))[0]
        con.execute(f"DELETE FROM curve_points WHERE {clause}", args)
    return int(n)


def stamp(store: Store, run_id: int) -> tuple[int, float]:
    """A cheap fingerprint of a run's stored points (their count, the newest one's time); it changes
    whenever a point lands."""
    with store.read() as con:
        return one_row(
            con.execute("SELECT count(*), coalesce(max(created_at), 0) FROM curve_points WHERE run_id = ?", [run_id])
        )
