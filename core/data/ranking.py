"""Ranking datasets: a graded relevance per row and a group column (a query) whose rows stay together.

At import the relevance is checked (integers >= 0) and the group column (no missing value, at
least :data:`MIN_GROUPS` groups of labeled rows); the hold-out test split then takes whole groups,
as scikit-learn's ``GroupShuffleSplit(n_splits=1, test_size=..., random_state=seed)`` does (a test
checks it). Nothing is stratified: a split by query cannot also balance relevance levels, and each
query holds a mix of them already. :func:`load_groups` reads the group of each row back, in the
same order as :func:`core.data.frames.load_split`'s rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from core.data.column_types import sql_family
from core.data.messages import shorten
from core.errors import InputError, StoreError
from core.store import Store
from core.store.datasets import data_layout
from core.store.sql import one_row, quote_ident
from core.text import first_line
from core.types import DatasetInfo

if TYPE_CHECKING:
    import pandas as pd

MIN_GROUPS = 10  # groups of labeled rows: 2 x the default 5 folds (a run checks its own --cv again)


def check_ranking(
    con: duckdb.DuckDBPyConnection,
    table: str,
    target: str,
    target_name: str,
    target_type: str,
    group: str,
    group_name: str,
) -> None:
    """An ``InputError`` unless the relevance is integers >= 0 and every labeled row has a group."""
    t, c, g = quote_ident(table), quote_ident(target), quote_ident(group)
    shown = shorten(target_name)
    if sql_family(target_type) not in ("int", "float"):
        raise InputError(f"ranking needs a graded relevance (integers >= 0); target {shown!r} is {target_type}")
    bad = con.execute(
        f"SELECT CAST({c} AS VARCHAR) FROM {t} WHERE {c} IS NOT NULL AND ({c} < 0 OR {c} <> trunc({c})) LIMIT 1"
    ).fetchone()
    if bad is not None:
        raise InputError(f"ranking needs a graded relevance (integers >= 0); target {shown!r} has {bad[0]}")
    n_missing, n_groups = one_row(
        con.execute(f"SELECT count(*) FILTER (WHERE {g} IS NULL), count(DISTINCT {g}) FROM {t} WHERE {c} IS NOT NULL")
    )
    if n_missing:
        raise InputError(f"group column {shorten(group_name)!r} is missing in {n_missing} labeled rows")
    if n_groups < MIN_GROUPS:
        raise InputError(
            f"group column {shorten(group_name)!r} has {n_groups} groups; ranking needs at least {MIN_GROUPS} "
            "(2 x 5 folds) to hold out whole groups and cross-validate by group"
        )


def pick_test_groups(
    con: duckdb.DuckDBPyConnection, table: str, target: str, group: str, test_size: float, seed: int
) -> Any:
    """The test rows (their ``__r``): every labeled row of the groups drawn for the test set.

    Groups are numbered in sorted order of their text (as ``np.unique`` numbers them inside
    ``GroupShuffleSplit``; DuckDB orders text by code point, as NumPy does), then
    ``ceil(test_size * n_groups)`` of them are drawn from ``RandomState(seed).permutation(n_groups)``,
    as ``GroupShuffleSplit`` draws them. Only the distinct groups come to Python; the rows are
    picked in SQL, so a long table is never held in memory.
    """
    import numpy as np

    t, c, g = quote_ident(table), quote_ident(target), quote_ident(group)
    text = f"CAST({g} AS VARCHAR)"
    groups = con.execute(f"SELECT DISTINCT {text} AS g FROM {t} WHERE {c} IS NOT NULL ORDER BY g").fetchnumpy()["g"]
    held = np.asarray(groups, dtype=object)[holdout_groups(len(groups), test_size, seed)]
    found = con.execute(
        f"SELECT __r AS r FROM {t} WHERE {c} IS NOT NULL AND {text} IN (SELECT unnest(?::VARCHAR[]))",
        [[str(v) for v in held]],
    ).fetchnumpy()
    return np.asarray(found["r"], dtype=np.int64)


def holdout_groups(n_groups: int, test_size: float, seed: int) -> Any:
    """The group codes held out: the same groups as ``GroupShuffleSplit(1, test_size, seed)`` on codes
    ``0 .. n_groups-1`` (``np.unique`` order)."""
    import numpy as np

    n_test = math.ceil(test_size * n_groups)
    return np.random.RandomState(seed).permutation(n_groups)[:n_test]


def load_groups(store: Store, dataset: DatasetInfo, part: Literal["dev", "test"] = "dev") -> pd.Series:
    """The group (as text) of each row of one part, indexed by file row like ``load_split``'s ``X``."""
    import numpy as np
    import pandas as pd

    if dataset.group is None:
        raise InputError(f"dataset {dataset.name!r} has no group column (import it with --task ranking --group COL)")
    try:
        with store.read() as con:
            layout = data_layout(con, dataset)
            storage = next(c.storage for c in layout.columns if c.name == dataset.group)
            data = con.execute(
                f"SELECT __row, CAST({quote_ident(storage)} AS VARCHAR) AS g FROM {layout.relation} "
                "WHERE __part = ? ORDER BY __row",
                [part],
            ).fetchnumpy()
    except duckdb.Error as e:
        raise StoreError(f"cannot load the groups of {dataset.name!r}: {first_line(e)}") from e
    index = pd.Index(np.asarray(data["__row"], dtype=np.int64), name="row")
    return pd.Series(np.asarray(data["g"], dtype=object), index=index, name=dataset.group, dtype=object)


def dataset_groups(store: Store, dataset: DatasetInfo, part: Literal["dev", "test"] = "dev") -> pd.Series | None:
    """:func:`load_groups` for a ranking dataset, ``None`` for any other: what ``make_splitter`` and
    ``scoring`` (:mod:`core.modeling.evaluation`) take."""
    return load_groups(store, dataset, part) if dataset.task == "ranking" else None
