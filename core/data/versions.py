"""Dataset versions: ``mlloop edit`` makes ``NAME@N`` from a dataset and a few edits.

A version is a dataset of its own (own id and runs) whose rows are its parent's, read through the
parent's layout with the edits applied in SQL (:func:`core.store.datasets.data_layout`): rows
dropped, labels changed, columns dropped or kept. The parent is never modified. Rows keep their
ids, and a locked test row stays a test row; test rows are only edited with ``include_test``,
which the recipe records. Every check runs before anything is written, inside one transaction:
bad input leaves the store as it was.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from core.data.messages import listed
from core.data.profile import profile_columns
from core.errors import InputError, StoreError
from core.store import Store
from core.store.datasets import data_layout, dataset_name_taken, get_dataset, next_dataset_id
from core.store.sql import one_row, quote_ident
from core.store.versions import (
    duplicate_rows,
    insert_edits,
    insert_version,
    set_counts,
    update_profiles,
    version_names,
)
from core.store.views import create_rows_view
from core.text import first_line
from core.types import CLASSIFICATION_TASKS, DatasetInfo

MIN_CLASS_ROWS = 5  # a class needs a row in each of the default 5 folds


@dataclass(frozen=True)
class Edit:
    """What ``mlloop edit`` asks for; empty fields change nothing."""

    drop_columns: tuple[str, ...] = ()
    keep_columns: tuple[str, ...] = ()
    drop_rows: tuple[int, ...] = ()
    drop_duplicates: bool = False
    relabel: tuple[tuple[int, str], ...] = ()
    include_test: bool = False
    name: str | None = None
    note: str | None = None
    min_class_rows: int = MIN_CLASS_ROWS
    review: dict[str, Any] | None = None  # a label review's decisions (core.analysis.review), kept in the recipe


def base_name(name: str) -> str:
    """``penguins@3`` -> ``penguins``: the name versions are numbered under."""
    return re.sub(r"@\d+$", "", name)


def create_version(store: Store, dataset_ref: str | int, edit: Edit) -> DatasetInfo:
    """Make the version ``edit`` describes of ``dataset_ref``; its record. ``InputError`` on bad input."""
    parent = get_dataset(store, dataset_ref)
    try:
        with store.write() as con:
            version_id = _create(con, parent, edit)
    except duckdb.Error as e:
        raise StoreError(f"cannot create a version of {parent.name!r}: {first_line(e)}") from e
    return get_dataset(store, version_id)


def write_version(con: duckdb.DuckDBPyConnection, parent: DatasetInfo, edit: Edit) -> int:
    """:func:`create_version` on the caller's write transaction (a label review closes its queue in the
    same one); the version's id."""
    return _create(con, parent, edit)


def recipe_of(dataset: DatasetInfo) -> dict[str, Any] | None:
    """A version's recipe (None for an imported dataset)."""
    return None if dataset.recipe is None else dict(json.loads(dataset.recipe))


@dataclass(frozen=True)
class Plan:
    """What an edit will change, checked and not yet written: what the confirmation before it lists."""

    name: str
    kept_columns: tuple[str, ...]
    dropped_columns: tuple[str, ...]
    dropped_rows: tuple[int, ...]  # every row dropped: listed, and duplicates found
    relabels: tuple[tuple[int, str], ...]
    recipe: dict[str, Any]


def preview_version(store: Store, dataset_ref: str | int, edit: Edit) -> Plan:
    """The version ``edit`` would make of ``dataset_ref``, checked (``InputError`` as :func:`create_version`)
    but not written."""
    parent = get_dataset(store, dataset_ref)
    try:
        with store.read() as con:
            return _plan(con, parent, edit)
    except duckdb.Error as e:
        raise StoreError(f"cannot read {parent.name!r}: {first_line(e)}") from e


def edit_from_args(args: Sequence[str], note: str | None = None) -> Edit:
    """The :class:`Edit` of the ``mlloop edit`` arguments a quality finding gives (``Finding.edit``):
    ``--drop-columns A,B``, ``--drop-rows R1,R2``, ``--drop-duplicates`` and ``--relabel ROW=LABEL ...``."""
    fields: dict[str, Any] = {"note": note}
    rest = list(args)
    while rest:
        option = rest.pop(0)
        if option == "--drop-duplicates":
            fields["drop_duplicates"] = True
        elif option == "--relabel" and rest:
            pairs = []
            while rest and not rest[0].startswith("--"):
                row, _, label = rest.pop(0).partition("=")
                pairs.append((int(row), label))
            fields["relabel"] = tuple(pairs)
        elif option in ("--drop-columns", "--drop-rows") and rest:
            values = tuple(v for v in rest.pop(0).split(",") if v)
            if option == "--drop-columns":
                fields["drop_columns"] = values
            else:
                fields["drop_rows"] = tuple(int(v) for v in values)
        else:
            raise InputError(f"not an edit argument: {option!r}")
    return Edit(**fields)


def _create(con: duckdb.DuckDBPyConnection, parent: DatasetInfo, edit: Edit) -> int:
    plan = _plan(con, parent, edit)
    version_id = next_dataset_id(con)
    insert_version(
        con,
        parent_id=parent.id,
        version_id=version_id,
        name=plan.name,
        columns=list(plan.kept_columns),
        recipe=plan.recipe,
        created_at=plan.recipe["created_at"],
    )
    insert_edits(con, version_id, list(plan.dropped_rows), dict(plan.relabels))
    version = _record(con, version_id)
    relation = data_layout(con, version).relation
    set_counts(con, version_id, relation)
    if plan.dropped_rows or plan.relabels:
        _profile(con, version_id, relation)
    create_rows_view(con, version)
    return version_id


_PROFILED = "_mlloop_version_rows"


def _profile(con: duckdb.DuckDBPyConnection, version_id: int, relation: str) -> None:
    """The version's column statistics over its own rows (its parent's no longer describe them); the
    columns' kinds stay the parent's, so models see the same columns the same way."""
    storage = [
        r[0]
        for r in con.execute(
            "SELECT storage FROM dataset_columns WHERE dataset_id = ? ORDER BY position", [version_id]
        ).fetchall()
    ]
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall())
    (n_rows,) = one_row(con.execute("SELECT n_rows FROM datasets WHERE id = ?", [version_id]))
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_PROFILED} AS SELECT * FROM {relation}")
    try:  # profiles read a named table
        stats = profile_columns(con, _PROFILED, storage, [str(types[s]) for s in storage], int(n_rows))
    finally:
        con.execute(f"DROP VIEW IF EXISTS {_PROFILED}")
    update_profiles(
        con,
        version_id,
        [(s, n_rows - st.n_present, st.n_distinct, st.min, st.max, st.mean, st.std, st.top) for s, st in stats.items()],
    )


def _plan(con: duckdb.DuckDBPyConnection, parent: DatasetInfo, edit: Edit) -> Plan:
    layout = data_layout(con, parent)
    names = [c.name for c in layout.columns]
    by_name = {c.name: c for c in layout.columns}
    target = next(c.name for c in layout.columns if c.storage == layout.target_storage)
    for col in (*edit.drop_columns, *edit.keep_columns):
        if col not in by_name:
            raise InputError(f"no column {col!r} in {parent.name!r} (columns: {', '.join(names)})")
    if target in edit.drop_columns:
        raise InputError(f"cannot drop the target column {target!r}")
    fixed = {target, *([parent.group] if parent.group else [])}
    kept = [n for n in names if n not in edit.drop_columns]
    if edit.keep_columns:
        kept = [n for n in kept if n in edit.keep_columns or n in fixed]
    if not [n for n in kept if n not in fixed]:
        raise InputError(f"this edit drops every feature of {parent.name!r}")

    drops = list(dict.fromkeys(int(r) for r in edit.drop_rows))
    relabels = {int(r): label for r, label in edit.relabel}
    parts = _parts(con, layout.relation, [*drops, *relabels])
    for row in (*drops, *relabels):
        if row not in parts:
            raise InputError(f"no row {row} in {parent.name!r}")
        if parts[row] == "test" and not edit.include_test:
            raise InputError(f"row {row} is a test row: test rows are edited only with --include-test")
    both = sorted(set(drops) & set(relabels))
    if both:
        raise InputError(f"row {both[0]} is both dropped and relabeled")
    for row, label in relabels.items():
        _check_label(parent, row, label)
    duplicates: list[int] = []
    if edit.drop_duplicates:
        duplicates = [
            r
            for r in duplicate_rows(con, layout.relation, [by_name[n].storage for n in kept], edit.include_test)
            if r not in relabels and r not in set(drops)
        ]
    all_drops = sorted({*drops, *duplicates})
    parts.update(_parts(con, layout.relation, duplicates))
    if parent.is_classification:
        _check_classes(con, parent, layout.relation, layout.target_storage, all_drops, relabels, edit)

    name = edit.name or f"{base_name(parent.name)}@{_next_number(con, parent.name)}"
    if dataset_name_taken(con, name):
        raise InputError(f"a dataset named {name!r} already exists")
    now = time.time()
    operations: list[dict[str, Any]] = []
    dropped_cols = [n for n in names if n not in kept]
    if dropped_cols:
        operations.append({"op": "drop_columns", "columns": dropped_cols})
    if drops:
        operations.append({"op": "drop_rows", "rows": sorted(drops)})
    if duplicates:
        operations.append({"op": "drop_duplicates", "rows": duplicates})
    if relabels:
        operations.append({"op": "relabel", "rows": {str(r): relabels[r] for r in sorted(relabels)}})
    if not operations:
        raise InputError(
            "nothing to change: give --drop-columns, --keep-columns, --drop-rows, --drop-duplicates or --relabel"
        )
    recipe = {
        "parent": parent.name,
        "parent_id": parent.id,
        "operations": operations,
        "include_test": edit.include_test,
        "test_rows_edited": sorted(r for r in (*all_drops, *relabels) if parts[r] == "test"),
        "note": edit.note,
        "created_at": now,
    }
    if edit.review is not None:
        recipe["review"] = edit.review
    return Plan(name, tuple(kept), tuple(dropped_cols), tuple(all_drops), tuple(sorted(relabels.items())), recipe)


def _record(con: duckdb.DuckDBPyConnection, dataset_id: int) -> DatasetInfo:
    from core.store.datasets import read_dataset_by_id

    return read_dataset_by_id(con, dataset_id)


def _parts(con: duckdb.DuckDBPyConnection, relation: str, rows: list[int]) -> dict[int, str]:
    """The part (dev, test, unlabeled) of each of ``rows`` that exists."""
    found = con.execute(
        f"SELECT __row, __part FROM {relation} WHERE __row IN (SELECT unnest(CAST(? AS BIGINT[])))", [rows]
    ).fetchall()
    return {int(r): str(p) for r, p in found}


def _next_number(con: duckdb.DuckDBPyConnection, name: str) -> int:
    base = base_name(name)
    numbers = [int(m.group(1)) for n in version_names(con, base) if (m := re.fullmatch(r".*@(\d+)", n))]
    return max([1, *numbers]) + 1


def _check_label(parent: DatasetInfo, row: int, label: str) -> None:
    if parent.task in CLASSIFICATION_TASKS:
        if label not in parent.classes:
            raise InputError(
                f"cannot relabel row {row} to {label!r}: {parent.name!r} has no such class "
                f"(classes: {', '.join(parent.classes)})"
            )
        return
    try:
        float(label)
    except ValueError:
        raise InputError(f"cannot relabel row {row} to {label!r}: the target of {parent.name!r} is a number") from None


def _check_classes(
    con: duckdb.DuckDBPyConnection,
    parent: DatasetInfo,
    relation: str,
    target_storage: str,
    drops: list[int],
    relabels: dict[int, str],
    edit: Edit,
) -> None:
    """Every class keeps at least ``min_class_rows`` development rows (one per fold)."""
    from core.data.column_types import class_label_sql

    type_row = con.execute(f"SELECT typeof({quote_ident(target_storage)}) FROM {relation} LIMIT 1").fetchone()
    label = class_label_sql(target_storage, str(type_row[0]) if type_row else "VARCHAR")
    rows = sorted(relabels)
    dev = f"(SELECT __row, {label} AS y FROM {relation} WHERE __part = 'dev')"
    before = dict(con.execute(f"SELECT y, count(*) FROM {dev} GROUP BY y").fetchall())
    counts = dict(
        con.execute(
            f"SELECT coalesce(e.label, r.y), count(*) FROM {dev} AS r LEFT JOIN (SELECT "
            "unnest(CAST(? AS BIGINT[])) AS row, unnest(CAST(? AS VARCHAR[])) AS label) AS e ON r.__row = e.row "
            "WHERE r.__row NOT IN (SELECT unnest(CAST(? AS BIGINT[]))) GROUP BY 1",
            [rows, [relabels[r] for r in rows], drops],
        ).fetchall()
    )
    for cls in parent.classes:
        if counts.get(cls, 0) < min(edit.min_class_rows, before.get(cls, 0) + 1):
            raise InputError(
                f"this edit leaves class {cls!r} with {counts.get(cls, 0)} development rows, fewer than the "
                f"{edit.min_class_rows} folds"
            )


def describe_recipe(dataset: DatasetInfo) -> str:
    """One line of what a version changed from its parent, e.g. ``penguins@2 (from penguins): dropped
    columns year; dropped 3 rows (0, 1, 2); relabeled 1 row; note: ids``."""
    recipe = recipe_of(dataset)
    if recipe is None:
        return f"{dataset.name}: imported"
    parts = []
    for op in recipe["operations"]:
        rows = op.get("rows", [])
        if op["op"] == "drop_columns":
            parts.append(f"dropped columns {', '.join(op['columns'])}")
        elif op["op"] == "relabel":
            parts.append(f"relabeled {_count(len(rows))} ({listed(list(rows))})")
        else:
            what = "duplicate " if op["op"] == "drop_duplicates" else ""
            parts.append(f"dropped {what}{_count(len(rows))} ({listed(list(rows))})")
    if recipe.get("test_rows_edited"):
        parts.append(f"edited {_count(len(recipe['test_rows_edited']))} of the test set (--include-test)")
    if recipe.get("note"):
        parts.append(f"note: {recipe['note']}")
    return f"{dataset.name} (from {recipe['parent']}): {'; '.join(parts)}"


def _count(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def version_fields(store: Store, dataset: DatasetInfo) -> dict[str, Any]:
    """What ``datasets NAME --json`` adds for lineage: ``parent`` (a name or null), ``recipe`` (null for an
    imported dataset), ``versions`` (names of the versions made from it) and ``features``."""
    from core.store.versions import children

    try:
        with store.read() as con:
            parent = None if dataset.parent_id is None else _record(con, dataset.parent_id).name
            versions = children(con, dataset.id)
    except duckdb.Error as e:
        raise StoreError(f"cannot read the lineage of {dataset.name!r}: {first_line(e)}") from e
    return {
        "parent": parent,
        "recipe": recipe_of(dataset),
        "versions": versions,
        "features": list(dataset.feature_names),
    }


def test_edit_warning(store: Store, dataset: DatasetInfo) -> str | None:
    """The warning every test evaluation of a version carries when it, or a version it was made from,
    edited locked test rows (``--include-test``): its test score is not the original test set's."""
    edited = 0
    while dataset.parent_id is not None:
        edited += len((recipe_of(dataset) or {}).get("test_rows_edited", []))
        dataset = get_dataset(store, dataset.parent_id)
    if not edited:
        return None
    return (
        f"{_count(edited)} of the locked test set edited by --include-test in this dataset's versions: "
        "this test score is not comparable with scores on the original test set"
    )
