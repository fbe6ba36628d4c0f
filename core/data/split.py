"""The locked hold-out split: which labeled rows are the test set, fixed once at import.

The test rows are the same ones scikit-learn's ``train_test_split`` would pick (stratified by
class where it can be), so a result can be checked against plain scikit-learn; but they are
computed in NumPy, because importing scikit-learn costs more than the rest of a large import.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from core.data.column_types import class_label_sql
from core.data.messages import shorten
from core.store.sql import quote_ident


def pick_test_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    col: str,
    sql_type: str,
    classes: tuple[str, ...],
    test_size: float,
    seed: int,
) -> tuple[Any, str | None]:
    """The test rows (their ``__r``, the 0-based row in the file), and a note if the split could not
    be stratified by class.

    Only each labeled row's number and class code come to Python (12 bytes a row), never the rows.
    The split depends on the order of the labeled rows, so they are put in file order, by NumPy,
    and only if they do not arrive in that order already (they do, on one thread), where an ORDER
    BY would cost DuckDB a full sort.
    """
    import numpy as np

    label = class_label_sql(col, sql_type)
    code = f", CAST(list_position(?::VARCHAR[], {label}) - 1 AS INTEGER) AS code" if classes else ""
    query = f"SELECT __r AS r{code} FROM {quote_ident(table)} WHERE {quote_ident(col)} IS NOT NULL"
    data = con.execute(query, [list(classes)] if classes else []).fetchnumpy()
    rowids = np.asarray(data["r"], dtype=np.int64)
    codes = np.asarray(data["code"]) if classes else None
    if not np.all(rowids[1:] > rowids[:-1]):
        order = np.argsort(rowids, kind="stable")
        rowids, codes = rowids[order], (codes[order] if codes is not None else None)
    test, note = holdout_positions(len(rowids), test_size, seed, codes, classes)
    return rowids[test], note


def holdout_positions(
    n: int, test_size: float, seed: int, codes: Any = None, classes: tuple[str, ...] = ()
) -> tuple[Any, str | None]:
    """Positions of the test rows among ``n`` labeled rows, and why they are not stratified.

    The same rows as scikit-learn's ``train_test_split(range(n), test_size=test_size,
    random_state=seed, stratify=codes)`` (a test checks it), falling back to an unstratified
    split where that raises. Computed in NumPy because importing scikit-learn costs more than
    the rest of a large import, and its per-row Python loop 0.2 s per million rows.
    """
    import numpy as np

    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    reason = None
    if codes is not None:
        counts = np.bincount(codes)  # every class occurs: the classes are the labels found
        if counts.min() < 2:
            reason = f"class {shorten(classes[int(counts.argmin())])!r} has a single labeled row"
        elif min(n_train, n_test) < len(counts):
            reason = f"{min(n_train, n_test)} rows cannot hold one row of each of the {len(counts)} classes"
        else:
            rng = np.random.RandomState(seed)
            by_class = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
            n_i = _approximate_mode(counts, n_train, rng)
            t_i = _approximate_mode(counts - n_i, n_test, rng)
            per_class = [rows[rng.permutation(len(rows))[k : k + m]] for rows, k, m in zip(by_class, n_i, t_i)]
            return np.concatenate(per_class), None
    test = np.random.RandomState(seed).permutation(n)[:n_test]
    return test, (f"the hold-out split is not stratified: {reason}" if reason else None)


def _approximate_mode(counts: Any, n_draws: int, rng: Any) -> Any:
    """Rows to draw per class, ties broken at random: scikit-learn's ``_approximate_mode``, step by step."""
    import numpy as np

    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    remainder = continuous - floored
    for value in np.sort(np.unique(remainder))[::-1]:
        if need <= 0:
            break
        (tied,) = np.where(remainder == value)
        add = min(len(tied), need)
        floored[rng.choice(tied, size=add, replace=False)] += 1
        need -= add
    return floored.astype(int)
