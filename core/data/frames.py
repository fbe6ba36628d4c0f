"""A dataset's stored rows: model-ready as NumPy arrays (:func:`load_arrays`) or pandas for fitting
(:func:`load_split`, which wraps them), as stored for showing (:func:`read_rows`).

All select from the dataset's rows as :func:`data_layout` describes them (its ``relation``,
whichever table holds them) in one query on one read connection, ordered by the row's position in
the file, so a row keeps its file row number from import to model to screen.
NumPy and pandas are imported when called: the app's first frame must not pay for them, and
:func:`load_arrays` never imports pandas (``mlloop errors`` answers without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from core.data.column_types import class_label_sql, model_input_sql
from core.data.memory import apply_limit, sample_read_memory, spill_folder
from core.data.sampling import sample_rows_sql
from core.errors import InputError, StoreError
from core.store import Store
from core.store.datasets import DataLayout, data_layout, feature_storage
from core.store.sql import quote_ident
from core.text import first_line
from core.types import CLASSIFICATION_TASKS, DatasetInfo, RunSample

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray


@dataclass(frozen=True)
class SplitArrays:
    """One part's rows as NumPy arrays: what :func:`load_split` wraps in pandas."""

    rows: NDArray[np.int64]  # the 0-based row numbers in the file, ascending
    features: dict[str, NDArray[Any]]  # feature name -> column, in file order (load_split's X)
    y: NDArray[Any]  # object strings (classification) or float64 (regression)


def load_split(
    store: Store,
    dataset: DatasetInfo,
    part: Literal["dev", "test"] = "dev",
    sample: RunSample | None = None,
    *,
    positions: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """The rows of one part, in file order, as model-ready ``X`` and ``y``; of the development rows, only
    those of ``sample`` when given (a run's, drawn in DuckDB by :mod:`core.data.sampling`); only the rows
    at ``positions`` (0-based, among the part's rows in file order) when given, and only they are read.

    ``X`` has the original names of the feature columns (role ``'feature'``: not the target, not a ranking
    group, not an ignored column such as an identifier; in file order): numeric and
    boolean columns as float64 (NaN missing), dates as float64 seconds since the epoch,
    categorical/text as object dtype with ``np.nan`` for missing (so scikit-learn's imputers
    work on it). ``y`` is object dtype strings equal to ``dataset.classes`` for classification,
    float64 for regression. The index is the 0-based row number in the file (named ``row``).
    """
    import numpy as np
    import pandas as pd

    data = load_arrays(store, dataset, part, sample, positions=positions)
    index = pd.Index(data.rows, name="row")
    X = pd.DataFrame(
        {
            name: pd.Series(values, index=index, dtype=object if values.dtype == object else np.float64, copy=False)
            for name, values in data.features.items()
        },
        index=index,
    )
    y = pd.Series(data.y, index=index, dtype=data.y.dtype, name=dataset.target, copy=False)
    return X, y


def load_targets(store: Store, dataset: DatasetInfo, part: Literal["dev", "test"] = "dev") -> pd.Series:
    """:func:`load_split`'s ``y`` alone (its index the row ids), no feature read: what a splitter needs
    to cut another dataset's rows into folds."""
    import pandas as pd

    try:
        with store.read() as con:
            rows = model_rows(con, dataset)
            data = con.execute(
                f"SELECT __row, y FROM {rows.only([])} WHERE __part = ? ORDER BY __row", [part]
            ).fetchnumpy()
    except duckdb.Error as e:
        raise StoreError(f"cannot load dataset {dataset.name!r}: {first_line(e)}") from e
    y = _as_object(data["y"]) if rows.classification else _as_float(data["y"])
    index = pd.Index(data["__row"].astype("int64"), name="row")
    targets: pd.Series = pd.Series(y, index=index, dtype=y.dtype, name=dataset.target, copy=False)
    return targets


def feature_frame(store: Store, dataset: DatasetInfo) -> pd.DataFrame:
    """``X`` with one development row: its columns and their types, what resolving a model spec needs,
    without reading the rows (a dataset may be larger than memory)."""
    return load_split(store, dataset, "dev", positions=[0])[0]


def load_arrays(
    store: Store,
    dataset: DatasetInfo,
    part: Literal["dev", "test"] = "dev",
    sample: RunSample | None = None,
    *,
    positions: Sequence[int] | None = None,
) -> SplitArrays:
    """:func:`load_split`'s rows, columns and values as NumPy arrays, without pandas."""
    if part not in ("dev", "test"):
        raise InputError(f"unknown part {part!r}; use 'dev' or 'test'")
    if sample is not None and part != "dev":
        raise InputError("a sample is drawn from the development rows only")
    import numpy as np

    try:
        rows, data = _read_rows(store, dataset, part, sample, positions)
    except duckdb.Error as e:
        raise StoreError(f"cannot load dataset {dataset.name!r}: {first_line(e)}") from e

    return SplitArrays(
        rows=np.asarray(data["__row"], dtype=np.int64),
        features={
            name: _as_float(data[alias]) if numeric else _as_object(data[alias])
            for name, alias, numeric in zip(rows.names, rows.aliases, rows.numeric)
        },
        y=_as_float(data["y"]) if not rows.classification else _as_object(data["y"]),
    )


def _read_rows(
    store: Store,
    dataset: DatasetInfo,
    part: Literal["dev", "test"],
    sample: RunSample | None,
    positions: Sequence[int] | None,
) -> tuple[ModelRows, dict[str, Any]]:
    """:func:`load_arrays`'s query and its result. A sample's rows are drawn on a DuckDB instance of
    their own, limited to what the read needs (:func:`~core.data.memory.sample_read_memory`): the draw
    reads every development row, and DuckDB would otherwise keep what it read, up to its default limit of
    most of the RAM (a 100,000-row sample of 3,051,924 rows took the process to 584 MB). Should that
    limit be too small after all, the rows are read again without it."""
    if sample is None:
        with store.read() as con:
            return _query_rows(con, dataset, part, None, positions)
    try:
        with spill_folder() as folder, store.read(own_instance=True) as con:  # closed before its folder goes
            apply_limit(con, sample_read_memory(len(dataset.feature_names) + 1, sample.rows), folder)
            return _query_rows(con, dataset, part, sample, positions)
    except duckdb.OutOfMemoryException:
        with store.read() as con:
            return _query_rows(con, dataset, part, sample, positions)


def _query_rows(
    con: duckdb.DuckDBPyConnection,
    dataset: DatasetInfo,
    part: Literal["dev", "test"],
    sample: RunSample | None,
    positions: Sequence[int] | None,
) -> tuple[ModelRows, dict[str, Any]]:
    layout = data_layout(con, dataset)
    rows = model_rows(con, dataset, layout)
    select = ", ".join(["__row", *rows.aliases, "y"])

    def fetch(prefilter: bool) -> dict[str, Any]:
        where = "__part = ?"
        args: list[Any] = [part]
        if sample is not None:
            rows_sql, rows_args = sample_rows_sql(layout, dataset, sample, prefilter=prefilter)
            where, args = f"{where} AND __row IN (SELECT __row FROM ({rows_sql}))", [part, *rows_args]
        if positions is not None:
            numbered = f"SELECT __row, row_number() OVER (ORDER BY __row) - 1 AS pos FROM {rows.relation} WHERE {where}"
            if isinstance(positions, range) and positions.step == 1:  # a batch: no list of every position to pass
                picked = f"SELECT __row FROM ({numbered}) WHERE pos >= ? AND pos < ?"
                wanted: list[Any] = [positions.start, positions.stop]
            else:
                picked = f"SELECT __row FROM ({numbered}) WHERE pos IN (SELECT unnest(?::BIGINT[]))"
                wanted = [[int(p) for p in positions]]
            where = f"__part = ? AND __row IN ({picked})"
            args = [part, *args, *wanted]
        sql = f"SELECT {select} FROM {rows.relation} WHERE {where} ORDER BY __row"
        return con.execute(sql, args).fetchnumpy()

    exact = sample is None or positions is not None
    data = fetch(prefilter=not exact)
    if sample is not None and not exact and len(data["__row"]) < sample.rows:
        data = fetch(prefilter=False)  # a class kept fewer rows than its quota (sample_rows_sql)
    return rows, data


TEXT_KINDS = ("categorical", "text")  # model input as text (object dtype); every other kind as float64


@dataclass(frozen=True)
class ModelRows:
    """A dataset's rows as models see them, as a FROM item: ``__row``, ``__part``, each feature as
    ``f0``, ``f1`` ... (:func:`load_split`'s value, missing as NULL) and the target as ``y``."""

    layout: DataLayout  # where the stored rows are
    storages: tuple[str, ...]  # per feature, its stored column
    inputs: tuple[str, ...]  # per feature, its model-input expression over that column
    target: str  # the target's expression over its stored column
    names: tuple[str, ...]  # the features' names, in file order (load_split's columns)
    numeric: tuple[bool, ...]  # per feature: float64 in load_split, else text
    classification: bool
    where: str = "TRUE"  # which of the rows

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(f"f{i}" for i in range(len(self.names)))

    @property
    def relation(self) -> str:
        """The rows with every feature."""
        return self.only(self.aliases)

    def only(self, aliases: Sequence[str]) -> str:
        """The rows with only the features ``aliases`` (``f3``...; ``y`` is always there): DuckDB takes
        ~50 ms to bind the expressions of 500 features, which a query about one column should not pay."""
        positions = [int(a[1:]) for a in aliases if a != "y"]
        exprs = [f"{self.inputs[i]} AS f{i}" for i in positions]
        select = ", ".join(["__row", "__part", *exprs, f"{self.target} AS y"])
        stored = self.layout.only([*(self.storages[i] for i in positions), self.layout.target_storage])
        return f"(SELECT {select} FROM {stored} WHERE {self.where})"


def model_rows(con: duckdb.DuckDBPyConnection, dataset: DatasetInfo, layout: DataLayout | None = None) -> ModelRows:
    """The dataset's rows (every part) with its model inputs, over whichever relation holds them (a
    version's too): the one query :func:`load_split` and SQL checks over many rows
    (:mod:`core.analysis.structure`) share, so both see the same values. Only feature columns: not an
    ignored one (:mod:`core.data.roles`), nor a ranking group (:mod:`core.data.ranking`). ``layout``:
    the dataset's :func:`~core.store.datasets.data_layout`, when the caller has read it already."""
    layout = layout or data_layout(con, dataset)
    target_type = next(c.sql_type for c in layout.columns if c.storage == layout.target_storage)
    use = feature_storage(con, dataset.id)
    features = [
        c for c in layout.columns if c.storage in use and c.storage != layout.target_storage and c.name != dataset.group
    ]
    classification = layout.task in CLASSIFICATION_TASKS
    y = (
        class_label_sql(layout.target_storage, target_type)
        if classification
        else f"CAST({quote_ident(layout.target_storage)} AS DOUBLE)"
    )
    return ModelRows(
        layout,
        tuple(c.storage for c in features),
        tuple(model_input_sql(c.storage, c.kind) for c in features),
        y,
        tuple(c.name for c in features),
        tuple(c.kind not in TEXT_KINDS for c in features),
        classification,
    )


def read_rows(
    store: Store, dataset: DatasetInfo, rows: Sequence[int] | None = None, limit: int = 50
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Rows as stored, to look at: (column names, ``(row, part, *values)`` per row).

    ``rows`` are file row numbers (what :func:`load_split`'s index and data-quality findings
    hold), shown in that order; ``None`` means the first ``limit`` rows of the file. Values are
    the stored ones (text as text, dates as dates), not the model-ready encoding, so a person
    sees what the file said. The names are every column in file order, the target included.
    """
    try:
        with store.read() as con:
            layout = data_layout(con, dataset)
            table = layout.relation
            select = ", ".join(["__row", "__part", *(quote_ident(c.storage) for c in layout.columns)])
            if rows is None:
                found = con.execute(f"SELECT {select} FROM {table} ORDER BY __row LIMIT ?", [int(limit)]).fetchall()
            else:
                wanted = [int(r) for r in rows]
                found = con.execute(f"SELECT {select} FROM {table} WHERE list_contains(?, __row)", [wanted]).fetchall()
                by_row = {r[0]: r for r in found}
                found = [by_row[r] for r in dict.fromkeys(wanted) if r in by_row]
    except duckdb.Error as e:
        raise StoreError(f"cannot read rows of {dataset.name!r}: {first_line(e)}") from e
    return tuple(c.name for c in layout.columns), [tuple(r) for r in found]


def _as_float(values: Any) -> Any:
    """float64 with NaN for missing (DuckDB's fetchnumpy masks NULLs)."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        return np.ma.filled(values.astype(np.float64), np.nan)
    return np.asarray(values, dtype=np.float64)


def _as_object(values: Any) -> Any:
    """object dtype with np.nan for missing: what scikit-learn's imputers and encoders expect."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        out = np.array(values.data, dtype=object)
        out[np.ma.getmaskarray(values)] = np.nan
        return out
    return np.asarray(values, dtype=object)
