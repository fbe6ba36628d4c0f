"""Import: copy a CSV or Parquet file into the store, profile it and lock its hold-out split.

An import COPIES the file into the store, so a later edit of the file cannot change what
past runs were evaluated on; the file's sha256 is kept to tell. Data columns are stored under
positional names (``c0``, ``c1`` ...) next to ``__row`` (the 0-based row in the file) and
``__part`` (``'dev'``, ``'test'`` or ``'unlabeled'``); the original names live in
``dataset_columns``. That is what lets any header work: spaces, quotes, unicode, SQL keywords,
names differing only in case, markup-looking text. A small dataset's rows go to the table small
datasets share, a larger one's to a table of its own (:mod:`core.store.datasets` says why).

The file is read by DuckDB's parallel CSV/Parquet readers, never row by row in Python
(:mod:`core.data.reading` describes it; Python only scans its bytes once, while another thread
hashes them). The reader runs strictly: a ragged row or a bad quote is an ``InputError`` naming
the line, and a value that does not fit the type guessed from DuckDB's sample makes us re-read
with types detected over the whole file. No row is ever dropped silently: rows without a target
are kept as ``'unlabeled'`` and counted in ``notes``. The rows are staged first (a large CSV file
read as byte ranges at once, :mod:`core.data.staging`), where they are counted and split; the
stored table is then written from them in one parallel pass, split included, and never updated,
and they are profiled while the disk takes the table in (see ``_import_into``).

A directory or a glob of files with the same columns is read as one table, in sorted order
(:mod:`core.data.inputs`). DuckDB works within ``--memory`` and spills the rest next to the store
(:mod:`core.data.memory`), so nothing here holds the rows in Python: they are counted, profiled,
checked and stored by SQL, and the split fetches only each labeled row's class code.

Everything an import writes happens in one ``Store.write()`` transaction, so a failed import
leaves the store exactly as it was.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from core.data.column_types import parquet_column_sql
from core.data.inputs import (
    Inputs,
    check_same_columns,
    count_blank_lines,
    prepared_sources,
    resolve_inputs,
    sha256_files,
)
from core.data.memory import MemoryTooSmall, apply_limit, memory_bytes, memory_limits, ran_out_note, spilling
from core.data.messages import listed, shorten
from core.data.missing import NULL_STRINGS, missing_markers
from core.data.profile import column_kind, infer_task, profile_columns
from core.data.progress import Report, Ticker, query_probe
from core.data.ranking import check_ranking, pick_test_groups
from core.data.reading import Source, unique_names
from core.data.roles import MIN_PRESENT, assign_roles, check_role_options, identifier_positions, parse_columns
from core.data.split import pick_test_rows
from core.data.staging import STAGE, RetryWithFullSample, drop_stage, stage_rows
from core.errors import InputError, StoreError
from core.store import Store
from core.store.datasets import (
    SHARED_MAX_VALUES,
    SHARED_SLOTS,
    SHARED_TABLE,
    SHARED_TYPES,
    dataset_name_taken,
    insert_dataset,
    next_dataset_id,
    shared_row_filter,
    shared_value_sql,
)
from core.store.flushing import flushed_meanwhile
from core.store.sql import one_row, quote_ident
from core.store.views import create_rows_view
from core.types import ColumnProfile, DatasetInfo, Task

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression", "ranking")
MIN_LABELED_ROWS = 10
MAX_TEST_SIZE = 0.9


def import_dataset(
    store: Store,
    path: str | Path,
    target: str,
    *,
    name: str | None = None,
    task: Task | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    encoding: str | None = None,
    delimiter: str | None = None,
    group: str | None = None,
    na: str | Sequence[str] | None = None,
    ignore: str | Sequence[str] | None = None,
    use: str | Sequence[str] | None = None,
    memory: str | int | None = None,
    progress: Report | None = None,
) -> DatasetInfo:
    """Copy a CSV/Parquet file (or a directory or glob of them) into the store, profile it and lock its split.

    ``path`` may name a directory or a glob of files with the same columns, read as one table in
    sorted order (:mod:`core.data.inputs`). ``memory`` (``"2GB"``, bytes; default 224 MB, doubled while
    DuckDB runs out, up to a fraction of RAM) bounds DuckDB's memory, which spills beyond it to a
    folder next to the store (:mod:`core.data.memory`); ``progress`` is called with an
    :class:`~core.data.progress.ImportStep` a few times a second, from another thread. ``task``
    overrides the inferred task (validated against the target); ``encoding`` and ``delimiter``
    override detection. ``task="ranking"`` needs ``group``, the column whose rows
    form one query (:mod:`core.data.ranking`). ``na`` replaces the unquoted markers of a missing
    CSV value (:func:`core.data.reading.missing_markers`). ``ignore`` and ``use`` (comma-separated
    names, or lists) set column roles (:mod:`core.data.roles`): by default an identifier column is
    ignored. Bad input raises ``InputError`` with one line and leaves the store unchanged: everything
    is written in one transaction.
    """
    _check_options(target, task, test_size, seed)
    if (task == "ranking") != (group is not None):
        raise InputError("--task ranking needs --group COLUMN" if group is None else "--group is for --task ranking")
    limits = memory_limits(memory)
    inputs = resolve_inputs(path)
    fmt, label = inputs.fmt, (inputs.given if inputs.many else inputs.files[0].name)
    ds_name = _dataset_name(name, inputs)
    markers = None if na is None else missing_markers(na)
    if markers is not None and fmt == "parquet":
        raise InputError("--na applies to CSV files only; Parquet files mark their missing values")
    check_same_columns(inputs, encoding, delimiter)
    hashed = [0]
    # hashlib releases the GIL: the files are hashed on the other core while we scan and sniff them.
    with Ticker(progress, inputs.total_bytes) as ticker, ThreadPoolExecutor(max_workers=1) as pool:
        ticker.stage("scanning", lambda: hashed[0] / max(inputs.total_bytes, 1))
        hashing = pool.submit(sha256_files, inputs.files, lambda n: hashed.__setitem__(0, hashed[0] + n))
        with prepared_sources(inputs, encoding, delimiter, markers or NULL_STRINGS) as source:
            notes = list(source.notes)
            names, name_notes = unique_names(source.raw_names)
            notes += name_notes
            if len(names) < 2:
                raise InputError(
                    f"{label}: found only one column ({shorten(names[0])!r}); a dataset needs a target and at "
                    "least one feature column (if the file uses another delimiter, pass --delimiter)"
                )
            target_pos = _find_target(target, names, label)
            group_pos = None if group is None else _find_target(group, names, label)
            if group_pos == target_pos:
                raise InputError("the group column cannot be the target")
            ignored, used = parse_columns(ignore, names, "--ignore"), parse_columns(use, names, "--use")
            check_role_options(names, target_pos, group_pos, ignored, used)
            if fmt == "csv" and len(source.sniffed) == len(names) and source.sniffed[target_pos][1] == "BOOLEAN":
                # DuckDB reads yes/no and t/f as booleans; a label keeps the file's spelling.
                source.as_text = [source.sniffed[target_pos][0]]
            file_hash = hashing.result()
            import_into = partial(
                _import_into,
                memory=None if memory is None else memory_bytes(memory),
                source=source,
                names=names,
                target_pos=target_pos,
                name=ds_name,
                inputs=inputs,
                label=label,
                file_hash=file_hash,
                task=task,
                test_size=test_size,
                seed=seed,
                group_pos=group_pos,
                ignored=ignored,
                used=used,
                ticker=ticker,
            )
            # A read that ran out of memory aborts the transaction: it starts again with the next limit.
            for limit in limits:
                noted = notes if limit == limits[0] else [*notes, ran_out_note(limits[0], limit)]
                try:
                    return _stored_within(store, limit, partial(import_into, notes=noted))
                except MemoryTooSmall:
                    if limit == limits[-1]:
                        raise
            raise AssertionError("unreachable")


def _stored_within(store: Store, limit: int, import_into: Callable[..., DatasetInfo]) -> DatasetInfo:
    """The import in one transaction whose DuckDB works within ``limit`` bytes. A value that does not
    fit the type guessed from DuckDB's sample aborts the transaction, so the re-read with types
    detected over the whole file happens in a fresh one."""
    with spilling(store.path, limit) as folder:
        for sample_size in (None, -1):
            try:
                with store.write(own_instance=True) as con:  # its limits must not reach other connections
                    apply_limit(con, limit, folder)
                    return import_into(con, sample_size=sample_size, store_path=store.path)
            except RetryWithFullSample:
                continue
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- options, names and the target


def _check_options(target: str, task: str | None, test_size: float, seed: int) -> None:
    if not isinstance(target, str) or not target:
        raise InputError("no target column given")
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    try:
        ts = float(test_size)
    except (TypeError, ValueError):
        raise InputError(f"test size must be a number, not {test_size!r}") from None
    if not 0 < ts <= MAX_TEST_SIZE:
        raise InputError(f"test size must be in (0, {MAX_TEST_SIZE}], got {test_size}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**31 - 1:
        raise InputError(f"seed must be an integer in [0, {2**31 - 1}], got {seed!r}")


def _dataset_name(name: str | None, inputs: Inputs) -> str:
    if name is not None:
        cleaned = name.strip()
        if not cleaned:
            raise InputError("dataset name is empty")
        return cleaned
    return inputs.default_name()


def _find_target(target: str, names: list[str], file_name: str) -> int:
    if target in names:
        return names.index(target)
    folded = [n for n in names if n.casefold().strip() == target.casefold().strip()]
    close = folded + [n for n in difflib.get_close_matches(target, names, n=3, cutoff=0.6) if n not in folded]
    if close:
        hint = f"; did you mean {', '.join(repr(shorten(c)) for c in close[:3])}?"
    else:
        shown = ", ".join(repr(shorten(n)) for n in names[:8])
        hint = f"; columns are {shown}" + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    raise InputError(f"no column {shorten(target)!r} in {file_name}{hint}")


# --------------------------------------------------------------------------- the import transaction


def _import_into(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    sample_size: int | None,
    names: list[str],
    target_pos: int,
    notes: list[str],
    *,
    name: str,
    inputs: Inputs,
    label: str,
    file_hash: str,
    task: Task | None,
    test_size: float,
    seed: int,
    group_pos: int | None = None,
    ignored: Sequence[int] = (),
    used: Sequence[int] = (),
    ticker: Ticker,
    store_path: Path,
    memory: int | None = None,
) -> DatasetInfo:
    """Stage the file, check and split it there, store it, then profile the staged rows.

    The file is parsed once, in parallel, and the stored (compressed) table is written once, its
    split included: an UPDATE of it would cost as much again at commit. The profile comes after
    the write so that the disk takes the table in meanwhile (:mod:`core.store.flushing`).
    """
    notes = list(notes)
    if dataset_name_taken(con, name):
        raise InputError(f"a dataset named {name!r} already exists; choose another name with --name")
    dataset_id = next_dataset_id(con)
    storage = [f"c{i}" for i in range(len(names))]
    target_col = storage[target_pos]
    fmt = inputs.fmt
    probe = query_probe(con)  # also keeps DuckDB from drawing its own progress bar on stdout

    if fmt == "parquet":
        exprs = [parquet_column_sql(s, t) for s, t in zip(storage, source.parquet_types)]
    else:
        exprs = [quote_ident(s) for s in storage]
    select = ", ".join(f"{e} AS {quote_ident(s)}" for e, s in zip(exprs, storage))
    staged = stage_rows(con, source, sample_size, storage, select, ticker, probe, label)
    if sample_size == -1:
        notes.append("column types were detected over the whole file (a value far down did not fit the first guess)")
    if staged.formatted:
        shown = listed([repr(shorten(names[storage.index(s)])) for s in staged.formatted], 5)
        notes.append(f"numbers written as a spreadsheet shows them ($1,234.50, 12%) read as numbers: {shown}")

    n_rows = staged.n_rows
    if n_rows == 0:
        raise InputError(f"{label} has a header but no data rows")
    if source.data_lines is not None and n_rows != source.data_lines:
        expected = source.data_lines - count_blank_lines(source)  # DuckDB skips blank lines, as pandas does
        if n_rows != expected:
            raise InputError(
                f"{label}: read {n_rows} rows but {'the files have' if source.parts else 'the file has'} "
                f"{expected} data lines; refusing a partial import"
            )
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {STAGE})").fetchall())
    col_types = [str(types[s]) for s in storage]

    target_name = names[target_pos]
    n_labeled = int(one_row(con.execute(f"SELECT count({quote_ident(target_col)}) FROM {STAGE}"))[0])
    n_unlabeled = n_rows - n_labeled
    if n_labeled == 0:
        raise InputError(f"target {shorten(target_name)!r} is missing in all {n_rows} rows")
    target_notes = []
    if n_unlabeled:
        target_notes.append(
            f"{n_unlabeled} of {n_rows} rows have no value in target {shorten(target_name)!r}; they are kept as "
            "'unlabeled' and left out of dev and test"
        )
    if n_labeled < MIN_LABELED_ROWS:
        raise InputError(
            f"only {n_labeled} rows have a target value; at least {MIN_LABELED_ROWS} are needed to hold out a test set"
        )
    ticker.stage("splitting", probe, n_labeled)
    if group_pos is not None:  # ranking: whole groups are held out, nothing is stratified
        group_col = storage[group_pos]
        check_ranking(con, STAGE, target_col, target_name, col_types[target_pos], group_col, names[group_pos])
        final_task: Task = "ranking"
        classes: tuple[str, ...] = ()
        test_rows, split_note = pick_test_groups(con, STAGE, target_col, group_col, test_size, seed), None
    else:
        final_task, classes = infer_task(con, STAGE, target_col, col_types[target_pos], target_name, task, n_labeled)
        test_rows, split_note = pick_test_rows(con, STAGE, target_col, col_types[target_pos], classes, test_size, seed)
    target_notes += [split_note] if split_note else []
    ticker.stage("storing", probe, n_rows)
    table, counts = _write_rows(con, dataset_id, storage, target_col, col_types, n_rows, test_rows)
    n_dev, n_test = int(counts.get("dev", 0)), int(counts.get("test", 0))
    if (n_dev, n_test) != (n_labeled - len(test_rows), len(test_rows)):
        raise StoreError(f"cannot import {label}: the stored split does not match the one computed")

    # The stored table is written: the disk takes it in while the staged rows are profiled.
    ticker.stage("profiling", probe, n_rows)
    with flushed_meanwhile(store_path):
        profiles, role_notes = _profiles(con, names, storage, col_types, n_rows, target_pos, group_pos, ignored, used)
        drop_stage(con, staged)
    notes += role_notes + target_notes

    info = DatasetInfo(
        id=dataset_id,
        name=name,
        source=inputs.source_text(),
        format=fmt,
        encoding=source.encoding,
        file_hash=file_hash,
        n_rows=n_rows,
        n_cols=len(names),
        target=target_name,
        task=final_task,
        classes=classes,
        test_size=float(test_size),
        split_seed=seed,
        n_dev=n_dev,
        n_test=n_test,
        n_unlabeled=n_unlabeled,
        created_at=time.time(),
        notes=tuple(notes),
        columns=tuple(profiles),
        group=None if group_pos is None else names[group_pos],
        memory=memory,
    )
    insert_dataset(con, info, data_table=table, storage=storage, target_storage=target_col)
    create_rows_view(con, info)  # rows_<id>_v: the rows under the file's names, for SQL users
    return info


def _profiles(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    storage: list[str],
    col_types: list[str],
    n_rows: int,
    target_pos: int,
    group_pos: int | None,
    ignored: Sequence[int],
    used: Sequence[int],
) -> tuple[list[ColumnProfile], list[str]]:
    """Each column's profile from the staged rows, its role included, and the notes on roles."""
    stats = profile_columns(con, STAGE, storage, col_types, n_rows)
    # Identifier candidates: nearly unique per the profile (its distinct counts may be estimates),
    # checked exactly by identifier_positions.
    others = [
        p
        for p in range(len(names))
        if p not in (target_pos, group_pos, *ignored, *used)
        and stats[storage[p]].n_present >= MIN_PRESENT * n_rows
        and stats[storage[p]].n_distinct >= 0.9 * stats[storage[p]].n_present
    ]
    roles, role_notes = assign_roles(
        names,
        target_pos,
        group_pos,
        identifier_positions(con, STAGE, storage, col_types, others),
        list(ignored),
        list(used),
    )
    profiles = [
        ColumnProfile(
            position=pos,
            name=col_name,
            sql_type=t,
            kind=column_kind(t, stats[s].n_present, stats[s].n_distinct),
            n_missing=n_rows - stats[s].n_present,
            n_distinct=stats[s].n_distinct,
            min=stats[s].min,
            max=stats[s].max,
            mean=stats[s].mean,
            std=stats[s].std,
            top_values=stats[s].top,
            role=roles[pos],
        )
        for pos, (col_name, s, t) in enumerate(zip(names, storage, col_types))
    ]
    return profiles, role_notes


def _write_rows(
    con: duckdb.DuckDBPyConnection,
    dataset_id: int,
    storage: list[str],
    target_col: str,
    col_types: list[str],
    n_rows: int,
    test_rows: Any,
) -> tuple[str, dict[str, int]]:
    """Write the stored rows from the staged ones in one pass.

    Returns the table they went to and the number of rows per part. The stage's ``__r`` is the
    0-based row in the file (:mod:`core.data.staging`); ``test_rows`` are the test rows' ``__r``.
    The writers store rows in the order they finish, so readers order by ``__row``; an
    order-preserving write would leave a partial row group per 8 MB of CSV, which the checkpoint
    at close then rewrites (+0.3 s per million rows).
    """
    part = (
        f"CASE WHEN {quote_ident(target_col)} IS NULL THEN 'unlabeled' "
        "WHEN __r IN (SELECT r FROM _mlloop_test_rows) THEN 'test' ELSE 'dev' END"
    )
    row = "__r"
    con.register("_mlloop_test_rows", {"r": test_rows})
    try:
        if _fits_shared(con, storage, col_types, n_rows):
            table, where = SHARED_TABLE, f"WHERE {shared_row_filter(dataset_id)}"
            texts = ", ".join(f"CAST({quote_ident(s)} AS VARCHAR)" for s in storage)
            con.execute(
                f"INSERT INTO {SHARED_TABLE} (dataset_id, __row, __part, {', '.join(storage)}) "
                f"SELECT {int(dataset_id)}, {row}, {part}, {texts} FROM {STAGE}"
            )
        else:
            table, where = f"ds_{dataset_id}", ""
            cols = ", ".join(quote_ident(s) for s in storage)
            con.execute(
                f"CREATE TABLE {quote_ident(table)} AS SELECT {cols}, {row} AS __row, {part} AS __part FROM {STAGE}"
            )
    finally:
        con.unregister("_mlloop_test_rows")
    counts = con.execute(f"SELECT __part, count(*) FROM {quote_ident(table)} {where} GROUP BY __part").fetchall()
    return table, {str(p): int(n) for p, n in counts}


def _fits_shared(con: duckdb.DuckDBPyConnection, storage: list[str], col_types: list[str], n_rows: int) -> bool:
    """Whether the staged rows go to the table small datasets share: few enough columns and values, of
    types whose text reads back exactly, and every value checked to read back as it is, by the very
    expression readers will use."""
    if len(storage) > SHARED_SLOTS or n_rows * len(storage) > SHARED_MAX_VALUES:
        return False
    if any(t not in SHARED_TYPES for t in col_types):
        return False
    as_stored = ", ".join(f"CAST({quote_ident(s)} AS VARCHAR) AS {quote_ident(s)}" for s in storage)
    originals = ", ".join(f"{quote_ident(s)} AS __o{i}" for i, s in enumerate(storage))
    same = " AND ".join(
        f"{shared_value_sql(s, t)} IS NOT DISTINCT FROM __o{i}" for i, (s, t) in enumerate(zip(storage, col_types))
    )
    differ = f"SELECT count(*) FROM (SELECT {as_stored}, {originals} FROM {STAGE}) WHERE NOT ({same})"
    return not one_row(con.execute(differ))[0]
