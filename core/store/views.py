"""The store's public query interface: stable views for ``mlloop sql``, ``mlloop export-table`` and any
DuckDB client (README: "Use the store from other tools").

The fixed views (``runs_v``, ``folds_v``, ``fold_scores_v``, ``run_metrics_v``, ``datasets_v``,
``curves_v``, ``test_evaluations_v``) are made by a migration step; their columns are only ever added
to. A dataset's rows get a view of their own, ``rows_<id>_v``, with the file's column names: SQL cannot
rename columns from a lookup table, so the view is written here from :func:`data_layout` (the one
description of where a dataset's rows live) when the dataset is imported, and again for every dataset
after a migration (so an older store gets them, and a step that moves rows gets views that follow).
Named by id rather than by dataset name: DuckDB's identifiers ignore case, and two datasets may be
named ``Iris`` and ``iris``.
"""

from __future__ import annotations

from typing import Any

import duckdb

from core.errors import StoreError
from core.store.connection import Store
from core.store.datasets import data_layout, read_datasets
from core.store.sql import error_reason, quote_ident
from core.types import DatasetInfo

# `mlloop export-table NAME`: the views a user can export, by the name they give
TABLE_VIEWS: dict[str, str] = {
    "runs": "runs_v",
    "run_metrics": "run_metrics_v",
    "folds": "folds_v",
    "fold_scores": "fold_scores_v",
    "curves": "curves_v",
    "datasets": "datasets_v",
    "test_evaluations": "test_evaluations_v",
}
ROW_COLUMN, PART_COLUMN = "__row", "__part"  # a rows view's first columns: row in the file, dev/test/unlabeled


def rows_view_name(dataset_id: int) -> str:
    """``rows_<id>_v``: the view of a dataset's rows (``datasets_v.rows_view`` names it too)."""
    return f"rows_{int(dataset_id)}_v"


def rows_view_columns(names: list[str]) -> list[str]:
    """The view's column names: ``__row``, ``__part``, then the file's names; a name equal to an earlier
    one but for case (DuckDB's identifiers ignore case) gets ``_1``, ``_2`` ... as DuckDB itself would."""
    out: list[str] = []
    seen: set[str] = set()
    for name in [ROW_COLUMN, PART_COLUMN, *names]:
        unique, k = name, 0
        while unique.lower() in seen:
            k += 1
            unique = f"{name}_{k}"
        seen.add(unique.lower())
        out.append(unique)
    return out


def create_rows_view(con: duckdb.DuckDBPyConnection, dataset: DatasetInfo) -> str:
    """(Re)create the view of ``dataset``'s rows on ``con`` (inside the caller's transaction); its name."""
    layout = data_layout(con, dataset)
    names = rows_view_columns([c.name for c in layout.columns])
    sources = [ROW_COLUMN, PART_COLUMN, *(c.storage for c in layout.columns)]
    select = ", ".join(f"{quote_ident(s)} AS {quote_ident(n)}" for s, n in zip(sources, names))
    view = rows_view_name(dataset.id)
    con.execute(f"CREATE OR REPLACE VIEW {quote_ident(view)} AS SELECT {select} FROM {layout.relation}")
    return view


def drop_rows_view(con: duckdb.DuckDBPyConnection, dataset_id: int) -> None:
    """Drop a dataset's rows view: whoever deletes a dataset calls this in the same transaction."""
    con.execute(f"DROP VIEW IF EXISTS {quote_ident(rows_view_name(dataset_id))}")


def create_rows_views(con: duckdb.DuckDBPyConnection) -> None:
    """A rows view for every dataset: run by the store after it has applied migration steps."""
    for dataset in read_datasets(con):
        create_rows_view(con, dataset)


def read_view(store: Store, view: str) -> Any:
    """Every row of one of :data:`TABLE_VIEWS`' views as a ``pyarrow.Table``: fetched, then the store let go."""
    if view not in TABLE_VIEWS.values():
        raise ValueError(f"not a public view: {view!r}")
    try:
        with store.read() as con:
            return con.sql(f"SELECT * FROM {quote_ident(view)}").to_arrow_table()
    except duckdb.Error as e:
        raise StoreError(f"cannot read {view}: {error_reason(e)}") from e
