"""Out-of-fold predictions: what each development row was predicted to be by the fold that held it out.

One row per (run, repeat, row id), written in the same transaction as the fold's scores, so a
fold is either stored with its predictions or not at all. The row id is the data table's
``__row`` (the row's place in the file), which error analysis joins back to the dataset. A
class is stored as its index in the dataset's ``classes`` (a SMALLINT, not the label's text), and
probabilities as one ``DOUBLE[]`` in that class order, so a row costs a few bytes plus its list.
Runs stored before predictions existed have none: readers raise :data:`NO_PREDICTIONS`.
NumPy and pandas are imported when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from core.errors import NotFoundError, StoreError
from core.store.connection import Store
from core.text import first_line

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

NO_PREDICTIONS = "no predictions stored: re-run"


@dataclass(frozen=True)
class FoldPredictions:
    """One fold's validation rows and what the fitted pipeline predicted for them.

    ``labels`` (classification) index the dataset's classes; ``values`` are a regressor's
    predictions; ``proba`` is ``(rows, classes)`` in the dataset's class order, or ``None``
    when the model has no ``predict_proba`` (and always for regression).
    """

    repeat: int
    fold: int
    rows: NDArray[np.int64]
    labels: NDArray[np.int16] | None = None
    values: NDArray[np.float64] | None = None
    proba: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class StoredPredictions:
    """A run's predictions for one repeat, ordered by row id (arrays of equal length)."""

    run_id: int
    repeat: int
    n_repeats: int
    rows: NDArray[np.int64]
    folds: NDArray[np.int16]
    labels: NDArray[np.int64] | None
    values: NDArray[np.float64] | None
    proba: NDArray[np.float64] | None


def insert_fold(con: duckdb.DuckDBPyConnection, run_id: int, p: FoldPredictions) -> None:
    """Write one fold's predictions on ``con`` (the caller's transaction), as one insert."""
    import pandas as pd

    columns: dict[str, Any] = {"row_id": p.rows, "label": p.labels, "value": p.values}
    n_classes = 0 if p.proba is None else p.proba.shape[1]
    for k in range(n_classes):
        assert p.proba is not None
        columns[f"p{k}"] = p.proba[:, k]
    frame = pd.DataFrame({k: v for k, v in columns.items() if v is not None})
    label = "label" if p.labels is not None else "NULL"
    value = "value" if p.values is not None else "NULL"
    proba = f"[{', '.join(f'p{k}' for k in range(n_classes))}]" if n_classes else "NULL"
    view = f"_mlloop_predictions_{run_id}"
    con.register(view, frame)
    try:
        con.execute(
            f"INSERT INTO fold_predictions SELECT ?, ?, row_id, ?, {label}, {value}, {proba} FROM {view}",
            [run_id, p.repeat, p.fold],
        )
    finally:
        con.unregister(view)


def load_predictions(store: Store, run_id: int, n_classes: int, repeat: int = 0) -> StoredPredictions:
    """One repeat of a run's predictions; ``NotFoundError`` (:data:`NO_PREDICTIONS`) when it has none."""
    import numpy as np

    proba = ", ".join(f"proba[{k + 1}] AS p{k}" for k in range(n_classes))
    try:
        with store.read() as con:
            repeats = con.execute(
                "SELECT count(DISTINCT repeat) FROM fold_predictions WHERE run_id = ?", [run_id]
            ).fetchone()
            n_repeats = int(repeats[0]) if repeats else 0
            data = con.execute(
                f"SELECT row_id, fold, label, value, proba IS NOT NULL AS has_proba{', ' + proba if proba else ''} "
                "FROM fold_predictions WHERE run_id = ? AND repeat = ? ORDER BY row_id",
                [run_id, repeat],
            ).fetchnumpy()
    except duckdb.Error as e:
        raise StoreError(f"cannot read the predictions of run {run_id}: {first_line(e)}") from e
    if not n_repeats:
        raise NotFoundError(f"run {run_id}: {NO_PREDICTIONS} it to store them")
    if not len(data["row_id"]):
        raise NotFoundError(f"run {run_id} has no predictions for repeat {repeat + 1} (it has {n_repeats})")
    labels = _filled(data["label"], np.int64, -1)
    values = _filled(data["value"], np.float64, np.nan)
    has_proba = bool(n_classes) and bool(np.all(_filled(data["has_proba"], np.bool_, False)))
    return StoredPredictions(
        run_id=run_id,
        repeat=repeat,
        n_repeats=n_repeats,
        rows=np.asarray(data["row_id"], dtype=np.int64),
        folds=np.asarray(data["fold"], dtype=np.int16),
        labels=None if not n_classes else labels,
        values=values if not n_classes else None,
        proba=np.column_stack([_filled(data[f"p{k}"], np.float64, np.nan) for k in range(n_classes)])
        if has_proba
        else None,
    )


def _filled(values: Any, dtype: Any, missing: Any) -> Any:
    """A fetched column as a plain array (DuckDB's fetchnumpy masks NULLs)."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        return np.ma.filled(values.astype(dtype), missing)
    return np.asarray(values, dtype=dtype)
