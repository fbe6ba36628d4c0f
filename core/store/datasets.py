"""Dataset records: the ``datasets`` and ``dataset_columns`` rows an import writes, read back.

A dataset's columns are stored under positional names (``c0``, ``c1`` ...), with the file's names
kept in ``dataset_columns``. A small dataset's rows share one table, ``dataset_rows`` (keyed by
``dataset_id``, every value as its text), a larger one's have a table of their own (``ds_<id>``,
typed): a table per dataset costs a 256 KB block at each checkpoint and makes every open and
checkpoint of the store slower, which thousands of small imports made gigabytes and seconds.
:func:`data_layout` is the one description of where and how a dataset's rows are stored (table,
row filter, each column's SQL expression); every reader selects from its :attr:`DataLayout.relation`.
Importing, profiling and reading the data tables themselves is :mod:`core.data`'s work; this module
holds the statements about the records, so no other module spells those tables' columns.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from core.errors import NotFoundError, StoreError
from core.store import Store
from core.store.sql import one_row, quote_ident
from core.text import first_line
from core.types import ColumnProfile, DatasetInfo

_DATASET_FIELDS = (
    "id, name, source, format, encoding, file_hash, n_rows, n_cols, target, task, classes, test_size, "
    "split_seed, n_dev, n_test, n_unlabeled, created_at, notes, group_column, parent_id, recipe, memory_limit"
)
EDITS_TABLE = "dataset_edits"  # a version's dropped and relabeled rows, keyed by (dataset_id, __row) (migration step 9)

SHARED_TABLE = "dataset_rows"  # small datasets' rows, keyed by dataset_id (migration step 7)
SHARED_SLOTS = 64  # its value columns c0 ... c63, VARCHAR: a dataset with more columns gets its own table
SHARED_MAX_VALUES = 100_000  # rows x columns above which a dataset gets its own (typed, compressed) table
# Types whose text reads back to the same value (checked again on the values at import); others are
# stored typed in a table of their own. TIMESTAMP WITH TIME ZONE is left out: its text depends on a setting.
SHARED_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
    | {"UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN", "VARCHAR", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S"}
    | {"TIMESTAMP_MS", "TIMESTAMP_NS"}
)


def list_datasets(store: Store) -> list[DatasetInfo]:
    """All datasets, oldest first, without column profiles (a fast listing for screens)."""
    try:
        with store.read() as con:
            return read_datasets(con)
    except duckdb.Error as e:
        raise StoreError(f"cannot list datasets: {first_line(e)}") from e


def read_datasets(con: duckdb.DuckDBPyConnection) -> list[DatasetInfo]:
    """:func:`list_datasets` on a connection the caller holds (a migration's, say)."""
    rows = con.execute(f"SELECT {_DATASET_FIELDS} FROM datasets ORDER BY id").fetchall()
    return [_dataset_from_row(r) for r in rows]


def get_dataset(store: Store, ref: str | int) -> DatasetInfo:
    """One dataset by name or id, with its column profiles; ``NotFoundError`` otherwise."""
    try:
        with store.read() as con:
            row = _find_dataset_row(con, ref)
            if row is None:
                names = [r[0] for r in con.execute("SELECT name FROM datasets").fetchall()]
                close = difflib.get_close_matches(str(ref), names, n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise NotFoundError(f"no dataset {str(ref)!r}{hint}")
            cols = con.execute(
                "SELECT position, name, sql_type, kind, n_missing, n_distinct, min, max, mean, std, top_values, role "
                "FROM dataset_columns WHERE dataset_id = ? ORDER BY position",
                [row[0]],
            ).fetchall()
    except duckdb.Error as e:
        raise StoreError(f"cannot read dataset {str(ref)!r}: {first_line(e)}") from e
    profiles = tuple(
        ColumnProfile(
            position=c[0],
            name=c[1],
            sql_type=c[2],
            kind=c[3],
            n_missing=c[4],
            n_distinct=c[5],
            min=c[6],
            max=c[7],
            mean=c[8],
            std=c[9],
            top_values=tuple((str(v), int(n)) for v, n in json.loads(c[10])),
            role=c[11],
        )
        for c in cols
    )
    return _dataset_from_row(row, profiles)


@dataclass(frozen=True)
class StoredColumn:
    """One column of a dataset: its name in the file, its column in ``table``, the SQL expression over
    ``table`` that gives its value typed ``sql_type``, and its kind."""

    name: str
    storage: str
    sql_type: str
    kind: str
    expr: str


@dataclass(frozen=True)
class DataLayout:
    """Where a dataset's rows are: the table, the filter that picks its rows there (besides ``__row``,
    the row in the file, and ``__part``), its target's storage name, and every column in file order."""

    table: str
    row_filter: str
    target_storage: str
    task: str
    columns: tuple[StoredColumn, ...]
    parent: DataLayout | None = None  # a version's: its rows are the parent's, joined to its edits
    version_id: int = 0

    @property
    def relation(self) -> str:
        """A FROM item of this dataset's rows only: ``__row``, ``__part`` and each column, typed, under
        its storage name (so a reader selects ``c0`` ... whichever table holds them)."""
        return self.only([c.storage for c in self.columns])

    def only(self, storages: Sequence[str]) -> str:
        """:attr:`relation` with only the columns ``storages``: a query about one column of 500 then
        binds one expression, not 500 (~20 ms), and so does a version's parent relation under it."""
        wanted = set(storages)
        exprs = "".join(f", {c.expr} AS {quote_ident(c.storage)}" for c in self.columns if c.storage in wanted)
        return f"(SELECT __row, __part{exprs} FROM {self._source(wanted)} WHERE {self.row_filter})"

    def _source(self, wanted: set[str]) -> str:
        """The FROM item: the table, or a version's parent relation (only ``wanted``) joined to its relabels."""
        if self.parent is None:
            return quote_ident(self.table)
        vid = int(self.version_id)
        return (
            f"{self.parent.only(sorted(wanted))} AS __p LEFT JOIN (SELECT __row AS __edit_row, label AS __label "
            f"FROM {EDITS_TABLE} WHERE dataset_id = {vid} AND op = 'relabel') AS __e ON __p.__row = __e.__edit_row"
        )


def data_layout(con: duckdb.DuckDBPyConnection, dataset: DatasetInfo) -> DataLayout:
    """The layout of ``dataset``'s rows, read on ``con``; ``NotFoundError`` if it was deleted.

    A version's rows are its parent's (recursively), less the rows it drops, with the labels it
    changes, and only the columns it keeps: SQL over the parent's relation, no copy."""
    meta = con.execute(
        "SELECT data_table, target_storage, task, parent_id FROM datasets WHERE id = ?", [dataset.id]
    ).fetchone()
    if meta is None:
        raise NotFoundError(f"dataset {dataset.name!r} (id {dataset.id}) no longer exists")
    cols = con.execute(
        "SELECT name, storage, sql_type, kind FROM dataset_columns WHERE dataset_id = ? ORDER BY position",
        [dataset.id],
    ).fetchall()
    if meta[3] is not None:
        return _version_layout(con, dataset.id, int(meta[3]), meta[1], meta[2], cols)
    shared = meta[0] == SHARED_TABLE
    columns = tuple(
        StoredColumn(
            name, storage, sql_type, kind, shared_value_sql(storage, sql_type) if shared else quote_ident(storage)
        )
        for name, storage, sql_type, kind in cols
    )
    return DataLayout(meta[0], shared_row_filter(dataset.id) if shared else "TRUE", meta[1], meta[2], columns)


def _version_layout(
    con: duckdb.DuckDBPyConnection, dataset_id: int, parent_id: int, target: str, task: str, cols: list[Any]
) -> DataLayout:
    base = data_layout(con, read_dataset_by_id(con, parent_id))
    vid = int(dataset_id)
    row_filter = f"__p.__row NOT IN (SELECT __row FROM {EDITS_TABLE} WHERE dataset_id = {vid} AND op = 'drop')"
    columns = tuple(
        StoredColumn(
            name,
            storage,
            sql_type,
            kind,
            f"COALESCE(CAST(__label AS {sql_type}), __p.{quote_ident(storage)})"
            if storage == target
            else f"__p.{quote_ident(storage)}",
        )
        for name, storage, sql_type, kind in cols
    )
    return DataLayout(base.table, row_filter, target, task, columns, parent=base, version_id=vid)


def read_dataset_by_id(con: duckdb.DuckDBPyConnection, dataset_id: int) -> DatasetInfo:
    """A dataset's record (without column profiles) on a connection the caller holds."""
    row = con.execute(f"SELECT {_DATASET_FIELDS} FROM datasets WHERE id = ?", [dataset_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no dataset with id {dataset_id}")
    return _dataset_from_row(row)


def feature_storage(con: duckdb.DuckDBPyConnection, dataset_id: int) -> set[str]:
    """The storage names of a dataset's feature columns (role ``'feature'``: not the target, not ignored)."""
    rows = con.execute(
        "SELECT storage FROM dataset_columns WHERE dataset_id = ? AND role = 'feature'", [int(dataset_id)]
    ).fetchall()
    return {str(r[0]) for r in rows}


def shared_row_filter(dataset_id: int) -> str:
    """The filter that picks one dataset's rows in :data:`SHARED_TABLE`."""
    return f"dataset_id = {int(dataset_id)}"


def shared_value_sql(storage: str, sql_type: str) -> str:
    """A value of :data:`SHARED_TABLE` read back as ``sql_type`` (one of :data:`SHARED_TYPES`).

    TRY_CAST, not CAST: a filter on the value may be evaluated before the one on ``dataset_id``,
    on another dataset's text; on the dataset's own rows the import checked that it gives every
    value back exactly.
    """
    if sql_type not in SHARED_TYPES:
        raise StoreError(f"a {sql_type} column cannot be stored in {SHARED_TABLE}")
    return f"TRY_CAST({quote_ident(storage)} AS {sql_type})"


def dataset_name_taken(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT 1 FROM datasets WHERE name = ?", [name]).fetchone() is not None


def next_dataset_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(one_row(con.execute("SELECT nextval('dataset_ids')"))[0])


def insert_dataset(
    con: duckdb.DuckDBPyConnection, info: DatasetInfo, *, data_table: str, storage: list[str], target_storage: str
) -> None:
    """Record an imported dataset and its column profiles (``storage[i]`` holds column ``i``)."""
    con.execute(
        "INSERT INTO datasets (id, name, source, format, encoding, file_hash, n_rows, n_cols, target, target_storage, "
        "task, classes, test_size, split_seed, n_dev, n_test, n_unlabeled, data_table, notes, created_at, "
        "group_column, memory_limit) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            info.id,
            info.name,
            info.source,
            info.format,
            info.encoding,
            info.file_hash,
            info.n_rows,
            info.n_cols,
            info.target,
            target_storage,
            info.task,
            json.dumps(list(info.classes)),
            info.test_size,
            info.split_seed,
            info.n_dev,
            info.n_test,
            info.n_unlabeled,
            data_table,
            json.dumps(list(info.notes)),
            info.created_at,
            info.group,
            info.memory,
        ],
    )
    _insert_columns(con, info.id, info.columns, storage)


def _insert_columns(
    con: duckdb.DuckDBPyConnection, dataset_id: int, profiles: tuple[ColumnProfile, ...], storage: list[str]
) -> None:
    """All column profiles in one INSERT from NumPy arrays (row-by-row inserts are slow in DuckDB)."""
    import numpy as np

    def obj(values: list[Any]) -> Any:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    data = {
        "position": np.array([p.position for p in profiles], dtype=np.int64),
        "name": obj([p.name for p in profiles]),
        "storage": obj([storage[p.position] for p in profiles]),
        "sql_type": obj([p.sql_type for p in profiles]),
        "kind": obj([p.kind for p in profiles]),
        "n_missing": np.array([p.n_missing for p in profiles], dtype=np.int64),
        "n_distinct": np.array([p.n_distinct for p in profiles], dtype=np.int64),
        "min": obj([p.min for p in profiles]),
        "max": obj([p.max for p in profiles]),
        "mean": obj([p.mean for p in profiles]),
        "std": obj([p.std for p in profiles]),
        "top_values": obj([json.dumps([list(tv) for tv in p.top_values]) for p in profiles]),
        "role": obj([p.role for p in profiles]),
    }
    con.register("_mlloop_columns", data)
    try:
        con.execute(
            "INSERT INTO dataset_columns (dataset_id, position, name, storage, sql_type, kind, n_missing, n_distinct, "
            "min, max, mean, std, top_values, role) SELECT ?, position, CAST(name AS VARCHAR), "
            "CAST(storage AS VARCHAR), CAST(sql_type AS VARCHAR), CAST(kind AS VARCHAR), n_missing, n_distinct, "
            "CAST(min AS VARCHAR), CAST(max AS VARCHAR), CAST(mean AS DOUBLE), CAST(std AS DOUBLE), "
            "CAST(top_values AS JSON), CAST(role AS VARCHAR) FROM _mlloop_columns ORDER BY position",
            [dataset_id],
        )
    finally:
        con.unregister("_mlloop_columns")


def _find_dataset_row(con: duckdb.DuckDBPyConnection, ref: str | int) -> tuple[Any, ...] | None:
    fields = _DATASET_FIELDS
    if isinstance(ref, int) and not isinstance(ref, bool):
        return con.execute(f"SELECT {fields} FROM datasets WHERE id = ?", [ref]).fetchone()
    ref = str(ref)
    row = con.execute(f"SELECT {fields} FROM datasets WHERE name = ?", [ref]).fetchone()
    if row is None and ref.strip().isdigit():
        row = con.execute(f"SELECT {fields} FROM datasets WHERE id = ?", [int(ref.strip())]).fetchone()
    return row


def _dataset_from_row(row: tuple[Any, ...], columns: tuple[ColumnProfile, ...] = ()) -> DatasetInfo:
    (
        id_,
        name,
        source,
        fmt,
        encoding,
        file_hash,
        n_rows,
        n_cols,
        target,
        task,
        classes,
        test_size,
        split_seed,
        n_dev,
        n_test,
        n_unlabeled,
        created_at,
        notes,
        group,
        parent_id,
        recipe,
        memory,
    ) = row
    return DatasetInfo(
        id=int(id_),
        name=name,
        source=source,
        format=fmt,
        encoding=encoding,
        file_hash=file_hash,
        n_rows=int(n_rows),
        n_cols=int(n_cols),
        target=target,
        task=task,
        classes=tuple(str(c) for c in json.loads(classes)),
        test_size=float(test_size),
        split_seed=int(split_seed),
        n_dev=int(n_dev),
        n_test=int(n_test),
        n_unlabeled=int(n_unlabeled),
        created_at=float(created_at),
        notes=tuple(json.loads(notes)),
        columns=columns,
        group=group,
        parent_id=None if parent_id is None else int(parent_id),
        recipe=recipe,
        memory=None if memory is None else int(memory),
    )
