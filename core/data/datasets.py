"""Datasets: import a CSV or Parquet file into the store, profile it, lock its hold-out split.

An import COPIES the file into a table of the store, so a later edit of the file cannot
change what past runs were evaluated on; the file's sha256 is kept to tell. Data columns are
stored under positional names (``c0``, ``c1`` ...) next to ``__row`` (the 0-based row in the
file) and ``__part`` (``'dev'``, ``'test'`` or ``'unlabeled'``); the original names live in
``dataset_columns``. That is what lets any header work: spaces, quotes, unicode, SQL keywords,
names differing only in case, markup-looking text.

The file is read by DuckDB's parallel CSV/Parquet readers, never row by row in Python. Python
only scans the bytes once (NUL bytes, UTF-8 validity, Latin-1 detection, line count) while
another thread hashes them, and looks at the first megabyte to pick the delimiter. The reader
runs strictly: a ragged row or a bad quote is an ``InputError`` naming the line, and a value
that does not fit the type guessed from DuckDB's sample makes us re-read with types detected
over the whole file. No row is ever dropped silently: rows without a target are kept as
``'unlabeled'`` and counted in ``notes``. The rows land in a temporary table first, where they
are counted, profiled and split; the stored table is then written from it in one parallel
pass, split included, and never updated (see ``_import_into``).

Everything an import writes happens in one ``Store.write()`` transaction, so a failed import
leaves the store exactly as it was.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import hashlib
import io
import json
import math
import re
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import duckdb

from core.errors import InputError, NotFoundError, StoreError
from core.store import Store
from core.types import CLASSIFICATION_TASKS, ColumnKind, ColumnProfile, DatasetInfo, Task

if TYPE_CHECKING:  # pandas is imported lazily: the app's first frame must not pay for it
    import pandas as pd

__all__ = ["import_dataset", "list_datasets", "get_dataset", "load_split", "read_rows"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
GZIP_SUFFIX = ".gz"
PARQUET_SUFFIXES = (".parquet", ".pq")
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")

# Cells read as missing, as pandas.read_csv does by default (minus its exotic '-1.#IND' forms).
NULL_STRINGS = ("", "NA", "N/A", "n/a", "#N/A", "#NA", "<NA>", "NaN", "-NaN", "nan", "-nan", "NULL", "null", "None")
DELIMITERS = (",", "\t", ";", "|")
MIN_LABELED_ROWS = 10
MAX_TEST_SIZE = 0.9
MAX_CLASSES_FOR_INFERENCE = 20  # integer targets with at most this many values are classes
TOP_K = 5

_SCAN_CHUNK = 1 << 20  # bytes per read while scanning the file
_HEAD_BYTES = 1 << 20  # bytes looked at to choose the delimiter and read the header
_HEAD_RECORDS = 200
_SMALL_TABLE_ROWS = 50_000  # profile through UNPIVOT (exact, fast for wide tables) below this
_EXACT_DISTINCT_ROWS = 200_000  # above this, distinct counts are HyperLogLog estimates
_WIDE_CHUNK = 100  # columns per aggregate query (wide-form profile)
_UNPIVOT_CHUNK = 500  # columns per UNPIVOT query
_TOP_CHUNK = 20  # columns per top-values query (wide-form profile)
_STAGE = "_mlloop_stage"  # the temporary table an import reads the file into

_INT_TYPES = frozenset(
    "TINYINT SMALLINT INTEGER BIGINT HUGEINT UTINYINT USMALLINT UINTEGER UBIGINT UHUGEINT".split()
)
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
_DATETIME_TYPES = frozenset(
    {"DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx file?)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (an Excel .xls file?)"),
    (b"\x1f\x8b", "gzip-compressed data (name it .csv.gz)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program"),
)
# One valid UTF-8 sequence of two to four bytes (RFC 3629: no overlongs, no surrogates).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_C1_BYTES = re.compile(rb"[\x80-\x9f]")  # printable in cp1252, control codes in Latin-1
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")

_DATASET_FIELDS = (
    "id, name, source, format, encoding, file_hash, n_rows, n_cols, target, task, classes, test_size, "
    "split_seed, n_dev, n_test, n_unlabeled, created_at, notes"
)


# --------------------------------------------------------------------------- public API


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
) -> DatasetInfo:
    """Copy a CSV/Parquet file into the store, profile it and lock its hold-out split.

    ``task`` overrides the inferred task (validated against the target); ``encoding`` and
    ``delimiter`` override detection. Bad input raises ``InputError`` with one line and leaves
    the store unchanged: everything is written in one transaction.
    """
    _check_options(target, task, test_size, seed)
    src = _resolve_file(path)
    fmt, compressed = _format_of(src)
    ds_name = _dataset_name(name, src)
    # hashlib releases the GIL: the file is hashed on the other core while we scan and sniff it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(_sha256, src)
        with _prepared_source(src, fmt, compressed, encoding, delimiter) as source:
            notes = list(source.notes)
            names, name_notes = _unique_names(source.raw_names)
            notes += name_notes
            if len(names) < 2:
                raise InputError(
                    f"{src.name}: found only one column ({_short(names[0])!r}); a dataset needs a target and at least "
                    "one feature column (if the file uses another delimiter, pass --delimiter)"
                )
            target_pos = _find_target(target, names, src.name)
            if fmt == "csv" and len(source.sniffed) == len(names) and source.sniffed[target_pos][1] == "BOOLEAN":
                # DuckDB reads yes/no and t/f as booleans; a label keeps the file's spelling.
                source.as_text = [source.sniffed[target_pos][0]]
            file_hash = hashing.result()
            # A value that does not fit the type guessed from DuckDB's sample aborts the transaction,
            # so the re-read with types detected over the whole file happens in a fresh one.
            for sample_size in (None, -1):
                try:
                    with store.write() as con:
                        return _import_into(
                            con, source, sample_size, names, target_pos, notes,
                            name=ds_name, src=src, fmt=fmt, file_hash=file_hash,
                            task=task, test_size=test_size, seed=seed,
                        )  # fmt: skip
                except _RetryWithFullSample:
                    continue
            raise AssertionError("unreachable")


def list_datasets(store: Store) -> list[DatasetInfo]:
    """All datasets, oldest first, without column profiles (a fast listing for screens)."""
    try:
        with store.read() as con:
            rows = con.execute(f"SELECT {_DATASET_FIELDS} FROM datasets ORDER BY id").fetchall()
    except duckdb.Error as e:
        raise StoreError(f"cannot list datasets: {_first_line(e)}") from e
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
                "SELECT position, name, sql_type, kind, n_missing, n_distinct, min, max, mean, std, top_values "
                "FROM dataset_columns WHERE dataset_id = ? ORDER BY position",
                [row[0]],
            ).fetchall()
    except duckdb.Error as e:
        raise StoreError(f"cannot read dataset {str(ref)!r}: {_first_line(e)}") from e
    profiles = tuple(
        ColumnProfile(
            position=c[0], name=c[1], sql_type=c[2], kind=c[3], n_missing=c[4], n_distinct=c[5],
            min=c[6], max=c[7], mean=c[8], std=c[9],
            top_values=tuple((str(v), int(n)) for v, n in json.loads(c[10])),
        )  # fmt: skip
        for c in cols
    )
    return _dataset_from_row(row, profiles)


def load_split(
    store: Store, dataset: DatasetInfo, part: Literal["dev", "test"] = "dev"
) -> tuple[pd.DataFrame, pd.Series]:
    """The rows of one part, in file order, as model-ready ``X`` and ``y``.

    ``X`` has the original column names (all but the target, in file order): numeric and
    boolean columns as float64 (NaN missing), dates as float64 seconds since the epoch,
    categorical/text as object dtype with ``np.nan`` for missing (so scikit-learn's imputers
    work on it). ``y`` is object dtype strings equal to ``dataset.classes`` for classification,
    float64 for regression. The index is the 0-based row number in the file (named ``row``).
    """
    if part not in ("dev", "test"):
        raise InputError(f"unknown part {part!r}; use 'dev' or 'test'")
    import numpy as np
    import pandas as pd

    try:
        with store.read() as con:
            meta = con.execute(
                "SELECT data_table, target_storage, task FROM datasets WHERE id = ?", [dataset.id]
            ).fetchone()
            if meta is None:
                raise NotFoundError(f"dataset {dataset.name!r} (id {dataset.id}) no longer exists")
            table, target_storage, task = meta
            cols = con.execute(
                "SELECT name, storage, sql_type, kind FROM dataset_columns WHERE dataset_id = ? ORDER BY position",
                [dataset.id],
            ).fetchall()
            target_type = next(c[2] for c in cols if c[1] == target_storage)
            features = [c for c in cols if c[1] != target_storage]
            exprs = [_model_expr(storage, sql_type, kind) for _, storage, sql_type, kind in features]
            y_expr = (
                _class_expr(target_storage, target_type)
                if task in CLASSIFICATION_TASKS
                else f"CAST({_ident(target_storage)} AS DOUBLE)"
            )
            select = ", ".join(["__row", *(f"{e} AS f{i}" for i, e in enumerate(exprs)), f"{y_expr} AS y"])
            data = con.execute(
                f"SELECT {select} FROM {_ident(table)} WHERE __part = ? ORDER BY __row", [part]
            ).fetchnumpy()
    except duckdb.Error as e:
        raise StoreError(f"cannot load dataset {dataset.name!r}: {_first_line(e)}") from e

    index = pd.Index(np.asarray(data["__row"], dtype=np.int64), name="row")
    columns: dict[str, pd.Series] = {}
    for i, (col_name, _, _, kind) in enumerate(features):
        values = data[f"f{i}"]
        if kind in ("categorical", "text"):
            columns[col_name] = pd.Series(_as_object(values), index=index, dtype=object, copy=False)
        else:
            columns[col_name] = pd.Series(_as_float(values), index=index, dtype=np.float64, copy=False)
    X = pd.DataFrame(columns, index=index)
    if task in CLASSIFICATION_TASKS:
        y = pd.Series(_as_object(data["y"]), index=index, dtype=object, name=dataset.target, copy=False)
    else:
        y = pd.Series(_as_float(data["y"]), index=index, dtype=np.float64, name=dataset.target, copy=False)
    return X, y


def read_rows(
    store: Store, dataset: DatasetInfo, rows: Sequence[int] | None = None, limit: int = 50
) -> tuple[tuple[str, ...], list[tuple]]:
    """Rows as stored, to look at: (column names, ``(row, part, *values)`` per row).

    ``rows`` are file row numbers (what :func:`load_split`'s index and data-quality findings
    hold), shown in that order; ``None`` means the first ``limit`` rows of the file. Values are
    the stored ones (text as text, dates as dates), not the model-ready encoding, so a person
    sees what the file said. The names are every column in file order, the target included.
    """
    try:
        with store.read() as con:
            meta = con.execute("SELECT data_table FROM datasets WHERE id = ?", [dataset.id]).fetchone()
            if meta is None:
                raise NotFoundError(f"dataset {dataset.name!r} (id {dataset.id}) no longer exists")
            cols = con.execute(
                "SELECT name, storage FROM dataset_columns WHERE dataset_id = ? ORDER BY position", [dataset.id]
            ).fetchall()
            select = ", ".join(["__row", "__part", *(_ident(storage) for _, storage in cols)])
            if rows is None:
                found = con.execute(
                    f"SELECT {select} FROM {_ident(meta[0])} ORDER BY __row LIMIT ?", [int(limit)]
                ).fetchall()
            else:
                wanted = [int(r) for r in rows]
                found = con.execute(
                    f"SELECT {select} FROM {_ident(meta[0])} WHERE list_contains(?, __row)", [wanted]
                ).fetchall()
                by_row = {r[0]: r for r in found}
                found = [by_row[r] for r in dict.fromkeys(wanted) if r in by_row]
    except duckdb.Error as e:
        raise StoreError(f"cannot read rows of {dataset.name!r}: {_first_line(e)}") from e
    return tuple(name for name, _ in cols), [tuple(r) for r in found]


# --------------------------------------------------------------------------- option and file checks


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def _resolve_file(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"file not found: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a file")
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except PermissionError as e:
        raise InputError(f"cannot read {p}: permission denied") from e
    except OSError as e:
        raise InputError(f"cannot read {p}: {e.strerror or e}") from e
    if p.stat().st_size == 0:
        raise InputError(f"{p.name} is empty (0 bytes)")
    return p.resolve()


def _format_of(p: Path) -> tuple[Literal["csv", "parquet"], bool]:
    """The format from the extension, and whether the CSV is gzip-compressed."""
    suffixes = [s.lower() for s in p.suffixes]
    last = suffixes[-1] if suffixes else ""
    if last in PARQUET_SUFFIXES:
        return "parquet", False
    if last in CSV_SUFFIXES:
        return "csv", False
    if last == GZIP_SUFFIX and len(suffixes) >= 2 and suffixes[-2] in CSV_SUFFIXES:
        return "csv", True
    shown = "".join(p.suffixes[-2:]) if last == GZIP_SUFFIX else (p.suffix or "(none)")
    raise InputError(
        f"unsupported file type {shown!r} for {p.name}; use CSV (.csv .tsv .txt .csv.gz) or Parquet (.parquet .pq)"
    )


def _dataset_name(name: str | None, p: Path) -> str:
    if name is not None:
        cleaned = name.strip()
        if not cleaned:
            raise InputError("dataset name is empty")
        return cleaned
    base = p.name
    for suffix in (GZIP_SUFFIX, *CSV_SUFFIXES, *PARQUET_SUFFIXES):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base or p.name


def _unique_names(raw: list[str | None]) -> tuple[list[str], list[str]]:
    """Header cells as usable names: empty ones become ``column_<n>``, exact duplicates ``a (2)``."""
    notes: list[str] = []
    names: list[str] = []
    taken = {r for r in raw if r is not None and r.strip()}
    seen: set[str] = set()
    for i, cell in enumerate(raw):
        n = i + 1
        if cell is None or not cell.strip():
            new = f"column_{n}"
            k = 2
            while new in taken or new in seen:
                new, k = f"column_{n} ({k})", k + 1
            notes.append(f"column {n} has an empty header; named it {new!r}")
        elif cell in seen:
            k = 2
            while f"{cell} ({k})" in taken or f"{cell} ({k})" in seen:
                k += 1
            new = f"{cell} ({k})"
            notes.append(f"duplicate column name {_short(cell)!r}: column {n} renamed to {_short(new)!r}")
        else:
            new = cell
        seen.add(new)
        names.append(new)
    return names, notes


def _find_target(target: str, names: list[str], file_name: str) -> int:
    if target in names:
        return names.index(target)
    folded = [n for n in names if n.casefold().strip() == target.casefold().strip()]
    close = folded + [n for n in difflib.get_close_matches(target, names, n=3, cutoff=0.6) if n not in folded]
    if close:
        hint = f"; did you mean {', '.join(repr(_short(c)) for c in close[:3])}?"
    else:
        shown = ", ".join(repr(_short(n)) for n in names[:8])
        hint = f"; columns are {shown}" + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    raise InputError(f"no column {_short(target)!r} in {file_name}{hint}")


# --------------------------------------------------------------------------- reading the file


@dataclass
class _Source:
    """How DuckDB reads one file: the table-function call, plus what detection learned."""

    display: str
    fmt: Literal["csv", "parquet"]
    raw_names: list[str | None]
    notes: list[str]
    encoding: str | None = None
    # CSV only
    read_path: Path | None = None
    py_encoding: str = "utf-8"
    duck_encoding: str = "utf-8"
    compression: str = "none"
    delimiter: str = ","
    data_lines: int | None = None  # data records the file must yield, when countable from bytes
    sniffed: list[tuple[str, str]] = field(default_factory=list)  # DuckDB's (name, type) per column
    as_text: list[str] = field(default_factory=list)  # DuckDB names of columns to read as VARCHAR
    # Parquet only
    parquet_types: list[str] = field(default_factory=list)

    def table_function(self, sample_size: int | None = None) -> str:
        if self.fmt == "parquet":
            return f"read_parquet({_sql_str(str(self.read_path))})"
        return f"read_csv({_sql_str(str(self.read_path))}, header = true, {self.csv_options(sample_size)})"

    def csv_options(self, sample_size: int | None = None) -> str:
        nulls = ", ".join(_sql_str(s) for s in NULL_STRINGS)
        opts = (
            f"delim = {_sql_str(self.delimiter)}, quote = '\"', escape = '\"', comment = '', skip = 0, "
            f"strict_mode = true, null_padding = false, ignore_errors = false, nullstr = [{nulls}], "
            f"encoding = {_sql_str(self.duck_encoding)}, compression = {_sql_str(self.compression)}"
        )
        if sample_size is not None:
            opts += f", sample_size = {int(sample_size)}"
        if self.as_text:
            opts += ", types = {" + ", ".join(f"{_sql_str(n)}: 'VARCHAR'" for n in self.as_text) + "}"
        return opts

    def open_text(self) -> IO[str]:
        """The file as text, for diagnosing a failed read (never on the fast path)."""
        assert self.read_path is not None
        raw: IO[bytes] = open(self.read_path, "rb")
        if self.compression == "gzip":
            raw = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        return io.TextIOWrapper(raw, encoding=self.py_encoding, errors="replace", newline="")


@contextmanager
def _prepared_source(
    src: Path, fmt: str, compressed: bool, encoding: str | None, delimiter: str | None
) -> Iterator[_Source]:
    if fmt == "parquet":
        if encoding is not None:
            raise InputError("--encoding applies to CSV files only; Parquet files carry their own")
        yield _parquet_source(src)
        return
    temp: list[Path] = []
    try:
        yield _csv_source(src, compressed, encoding, delimiter, temp)
    finally:
        for t in temp:
            t.unlink(missing_ok=True)


def _parquet_source(src: Path) -> _Source:
    with open(src, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(src.stat().st_size - 4, 0))
        tail = fh.read(4)
    if src.stat().st_size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise InputError(f"{src.name} is not a Parquet file (no PAR1 signature)")
    source = _Source(display=src.name, fmt="parquet", raw_names=[], notes=[], read_path=src)
    try:
        with duckdb.connect() as mem:
            described = mem.execute(f"DESCRIBE SELECT * FROM {source.table_function()}").fetchall()
    except duckdb.Error as e:
        raise InputError(f"cannot read {src.name} as Parquet: {_clean(e)}") from e
    source.parquet_types = [str(r[1]) for r in described]
    names: list[str | None] = [str(r[0]) for r in described]
    try:  # DuckDB renames duplicates ('A' next to 'a' becomes 'A_1'); the schema has the originals
        import pyarrow.parquet as pq

        original = pq.read_schema(src).names
        if len(original) == len(names):
            names = list(original)
    except Exception:  # noqa: BLE001 - DuckDB's names are a fine fallback
        pass
    source.raw_names = names
    return source


def _csv_source(
    src: Path, compressed: bool, encoding: str | None, delimiter: str | None, temp: list[Path]
) -> _Source:
    source = _Source(display=src.name, fmt="csv", raw_names=[], notes=[], read_path=src)
    source.compression = "gzip" if compressed else "none"
    with _open_bytes(src, compressed) as fh:
        head = _read_gz(fh.read, 64 * 1024, src.name)
    if not head.strip():
        raise InputError(f"{src.name} has no header row (the file is blank)")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputError(f"{src.name} is a binary file, not CSV text: it looks like {what}")

    codec, transcode = _choose_encoding(src, compressed, head, encoding, source)
    if transcode:
        source.read_path = _transcode(src, compressed, codec, temp)
        source.compression, source.py_encoding, source.duck_encoding = "none", "utf-8", "utf-8"
    else:
        source.py_encoding = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}[source.duck_encoding]

    records, complete = _head_records(source, src)
    source.delimiter = _normalise_delimiter(delimiter) if delimiter is not None else _detect_delimiter(records, src)
    header = _parse_records(records, source.delimiter)
    if not complete:
        header = header[:-1]  # the last record may be cut off by the end of the sample
    elif not header:
        raise InputError(f"{src.name} has no header row")

    try:
        with duckdb.connect() as mem:
            sniffed = mem.execute(
                f"SELECT HasHeader, Columns FROM sniff_csv({_sql_str(str(source.read_path))}, "
                f"{source.csv_options()})"
            ).fetchone()
            has_header = bool(sniffed[0])
            source.sniffed = [(str(c["name"]), str(c["type"])) for c in sniffed[1]]
            n_columns = len(source.sniffed)
            if not header or len(header[0]) != n_columns:
                # A header longer than our sample, or one our parse disagrees on: ask DuckDB.
                raw = mem.execute(
                    f"SELECT * FROM read_csv({_sql_str(str(source.read_path))}, header = false, all_varchar = true, "
                    f"{source.csv_options()}) LIMIT 1"
                ).fetchone()
                header = [list(raw)] if raw else header
    except duckdb.Error as e:
        raise _csv_failure(e, source) from e
    if not header:
        raise InputError(f"{src.name} has no header row")
    if not has_header:
        first = source.delimiter.join(str(c) for c in header[0])
        raise InputError(
            f"{src.name} has no header row (the first line looks like data: {_short(first, 60)!r}); "
            "add a first line with the column names"
        )
    source.raw_names = [c.lstrip("\ufeff") if c else None for c in header[0]]
    return source


def _choose_encoding(src: Path, compressed: bool, head: bytes, encoding: str | None, source: _Source) -> tuple[str, bool]:
    """Pick the codec; return it and whether the file must be transcoded to UTF-8 for DuckDB."""
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}") from None
        source.encoding = codec
        if codec.startswith(("utf-16", "utf-32")):
            if codec == "utf-16" and head.startswith(codecs.BOM_UTF16_LE):
                source.duck_encoding = "utf-16"
                return codec, False
            return codec, True
        scan = _scan_bytes(src, compressed, detect=False)
        source.data_lines = scan.data_lines
        if codec in ("utf-8", "utf-8-sig", "ascii"):
            return codec, False
        if codec == "latin-1" or codec == "iso8859-1":
            source.duck_encoding = "latin-1"
            return codec, False
        return codec, True

    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        source.encoding = "utf-32"
        return "utf-32", True
    if head.startswith(codecs.BOM_UTF16_LE):
        source.encoding, source.duck_encoding = "utf-16", "utf-16"
        return "utf-16", False
    if head.startswith(codecs.BOM_UTF16_BE):
        source.encoding = "utf-16"
        return "utf-16", True
    scan = _scan_bytes(src, compressed, detect=True)
    source.data_lines = scan.data_lines
    if scan.encoding == "utf-8":
        source.encoding = "utf-8"
        return "utf-8", False
    where = f"first non-UTF-8 byte on line {scan.bad_line}"
    if scan.encoding == "cp1252":
        source.encoding = "cp1252"
        source.notes.append(f"read as Windows-1252 (cp1252): the file is not valid UTF-8 ({where})")
        return "cp1252", True
    source.encoding, source.duck_encoding = "latin-1", "latin-1"
    source.notes.append(f"read as Latin-1: the file is not valid UTF-8 ({where})")
    return "latin-1", False


@dataclass
class _ByteScan:
    encoding: str  # 'utf-8' | 'latin-1' | 'cp1252'
    bad_line: int | None
    data_lines: int | None


def _scan_bytes(src: Path, compressed: bool, *, detect: bool) -> _ByteScan:
    """One pass over the bytes: NUL bytes, UTF-8 validity, Latin-1 evidence, line count.

    Blocks are cut after a newline, so no multi-byte sequence or CRLF straddles two blocks.
    The line count gives the number of data records when it is unambiguous (no quote
    character, no bare CR), to check DuckDB kept every row; blank lines are only looked for
    when the counts disagree (searching for them costs more than the rest of the scan).
    """
    name = src.name
    lines = 0
    carry = b""
    has_quote = bare_cr = False
    last_byte = b""
    bad_line: int | None = None
    seen_multibyte = False
    c1 = False
    cp1252_ok = True
    with _open_bytes(src, compressed) as fh:
        while True:
            chunk = _read_gz(fh.read, _SCAN_CHUNK, name)
            if chunk:
                block = carry + chunk
                cut = block.rfind(b"\n") + 1
                if cut == 0:
                    carry = block
                    continue
                block, carry = block[:cut], block[cut:]
            else:
                block, carry = carry, b""
                if not block:
                    break
            nul = block.find(b"\x00")
            if nul >= 0:
                line = lines + block.count(b"\n", 0, nul) + 1
                raise InputError(
                    f"{name} is a binary file, not CSV text (NUL byte on line {line}); "
                    "if it is UTF-16 without a byte-order mark, pass --encoding utf-16"
                )
            has_quote = has_quote or b'"' in block
            bare_cr = bare_cr or (b"\r" in block and _has_bare_cr(block))
            if detect and not block.isascii():
                if bad_line is None:
                    try:
                        block.decode("utf-8")
                        seen_multibyte = True
                    except UnicodeDecodeError as e:
                        bad_line = lines + block.count(b"\n", 0, e.start) + 1
                        bad_byte = block[e.start]
                        rest = block[e.start :]
                        if seen_multibyte or not block[: e.start].isascii() or _UTF8_MULTIBYTE.search(rest):
                            raise _corrupt_utf8(name, bad_line, bad_byte) from None
                        c1 = c1 or bool(_C1_BYTES.search(rest))
                        cp1252_ok = cp1252_ok and not _CP1252_UNDEFINED.search(rest)
                else:
                    if _UTF8_MULTIBYTE.search(block):
                        raise _corrupt_utf8(name, bad_line, None)
                    c1 = c1 or bool(_C1_BYTES.search(block))
                    cp1252_ok = cp1252_ok and not _CP1252_UNDEFINED.search(block)
            lines += _count_newlines(block)
            last_byte = block[-1:]
            if not chunk:
                break
    total_lines = lines + (1 if last_byte and last_byte != b"\n" else 0)
    data_lines = None if (has_quote or bare_cr) else max(total_lines - 1, 0)
    encoding = "utf-8" if bad_line is None else ("cp1252" if c1 and cp1252_ok else "latin-1")
    return _ByteScan(encoding=encoding, bad_line=bad_line, data_lines=data_lines)


def _count_newlines(block: bytes) -> int:
    """``block.count(b"\\n")``, in NumPy: several times faster, and it dominated the scan."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A))


def _has_bare_cr(block: bytes) -> bool:
    """Whether some CR is not followed by LF (old Mac line ends): then lines are not records."""
    import numpy as np

    data = np.frombuffer(block, dtype=np.uint8)
    cr = np.flatnonzero(data[:-1] == 0x0D)
    return bool(data[-1] == 0x0D or (data[cr + 1] != 0x0A).any())


def _corrupt_utf8(name: str, line: int | None, byte: int | None) -> InputError:
    what = f"byte 0x{byte:02x}" if byte is not None else "bytes"
    return InputError(
        f"{name} line {line}: invalid UTF-8 ({what}) in a file that also holds valid UTF-8 text; "
        "fix the file, or pass --encoding if it is not UTF-8"
    )


@contextmanager
def _open_bytes(src: Path, compressed: bool) -> Iterator[IO[bytes]]:
    with open(src, "rb") as raw:
        if compressed:
            with gzip.GzipFile(fileobj=raw) as gz:
                yield gz  # type: ignore[misc]
        else:
            yield raw


def _read_gz(read: Any, n: int, name: str) -> bytes:
    try:
        return read(n)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise InputError(f"{name} is not a valid gzip file: {e}") from e


def _transcode(src: Path, compressed: bool, codec: str, temp: list[Path]) -> Path:
    """Write a UTF-8 copy for DuckDB, whose reader knows only UTF-8, UTF-16-LE and Latin-1."""
    fd, tmp_name = tempfile.mkstemp(prefix="mlloop-import-", suffix=".csv")
    tmp = Path(tmp_name)
    temp.append(tmp)
    lines = 0
    try:
        with _open_bytes(src, compressed) as raw, open(fd, "w", encoding="utf-8", newline="") as out:
            reader = codecs.getreader(codec)(raw, errors="strict")
            while True:
                text = reader.read(_SCAN_CHUNK)
                if not text:
                    break
                if lines == 0:
                    text = text.lstrip("\ufeff")
                out.write(text)
                lines += text.count("\n")
    except UnicodeDecodeError as e:
        raise InputError(f"{src.name} near line {lines + 1}: not valid {codec} text ({e.reason})") from e
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise InputError(f"{src.name} is not a valid gzip file: {e}") from e
    return tmp


def _head_records(source: _Source, src: Path) -> tuple[str, bool]:
    """The first megabyte as text, and whether it is the whole file."""
    assert source.read_path is not None
    with _open_bytes(source.read_path, source.compression == "gzip") as fh:
        data = _read_gz(fh.read, _HEAD_BYTES + 1, src.name)
    complete = len(data) <= _HEAD_BYTES
    data = data[:_HEAD_BYTES]
    if not complete:
        cut = data.rfind(b"\n")
        data = data[: cut + 1] if cut >= 0 else data
    text = data.decode(source.py_encoding, errors="replace").lstrip("\ufeff")
    return text, complete


def _parse_records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    out: list[list[str]] = []
    try:
        for row in reader:
            if row:
                out.append(row)
            if len(out) >= _HEAD_RECORDS:
                break
    except csv.Error:
        pass
    return out


def _detect_delimiter(text: str, src: Path) -> str:
    """The candidate that splits the header into most fields consistently with the next rows.

    DuckDB's sniffer is not used for this: when a ragged row falls in its sample it silently
    settles for a one-column reading of the file.
    """
    order = list(DELIMITERS)
    if src.name.lower().endswith((".tsv", ".tsv.gz")):
        order.remove("\t")
        order.insert(0, "\t")
    best: tuple[float, int, int] | None = None
    choice = order[0]
    for rank, d in enumerate(order):
        rows = _parse_records(text, d)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        consistency = sum(len(r) == width for r in body) / len(body) if body else 1.0
        score = (consistency, width, -rank)
        if best is None or score > best:
            best, choice = score, d
    return choice


def _normalise_delimiter(delimiter: str) -> str:
    d = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(delimiter.lower(), delimiter)
    if len(d) != 1 or d in "\"\r\n":
        raise InputError(f"delimiter must be one character such as , ; | or tab, got {delimiter!r}")
    return d


def _csv_failure(e: duckdb.Error, source: _Source) -> InputError:
    """Turn a failed strict read into one line naming the file line, without DuckDB's dump."""
    text = str(e)
    name = source.display
    if "unicode" in text.lower():
        line = re.search(r"Line: (\d+)", text)
        where = f" line {line.group(1)}" if line else ""
        return InputError(f"{name}{where}: not valid {source.encoding or 'UTF-8'} text; pass --encoding")
    ragged = _find_ragged(source)
    if ragged:
        return InputError(f"{name} {ragged}")
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line:
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        convert = re.search(r'converting column "(.*)"\. Could not convert string "(.*)" to \'(\w+)\'', text)
        if counts:
            reason = f"expected {counts.group(1)} fields, found {counts.group(2)}"
        elif convert:
            reason = f"value {_short(convert.group(2))!r} does not fit column {_short(convert.group(1))!r} ({convert.group(3)})"
        elif "unterminated quote" in text.lower():
            reason = "a quoted value is never closed"
        elif "quote" in text.lower():
            reason = "a quote character in an unquoted value (quote the value and double inner quotes)"
        elif "maximum line size" in text.lower():
            reason = "the line is too long"
        else:
            reason = f"cannot parse this line as CSV with delimiter {source.delimiter!r}"
        return InputError(f"{name} line {line.group(1)}: {reason}")
    if "sniff" in text.lower() or "dialect" in text.lower():
        return InputError(
            f"{name}: cannot read as CSV with delimiter {source.delimiter!r} (rows of different lengths or "
            "stray quotes); pass --delimiter if it is wrong"
        )
    return InputError(f"cannot read {name} as CSV: {_clean(e)}")


def _count_blank_lines(source: _Source) -> int:
    """Empty lines after the header (only when the row count needs explaining)."""
    with source.open_text() as fh:
        next(fh, None)
        return sum(1 for line in fh if not line.strip("\r\n"))


def _find_ragged(source: _Source) -> str | None:
    """The first record with the wrong number of fields, as 'line N: ...' (error path only)."""
    csv.field_size_limit(2**31 - 1)
    try:
        with source.open_text() as fh:
            reader = csv.reader(fh, delimiter=source.delimiter, quotechar='"', doublequote=True, strict=True)
            width: int | None = None
            for row in reader:
                if not row:
                    continue
                if width is None:
                    width = len(row)
                elif len(row) != width:
                    return f"line {reader.line_num}: expected {width} fields, found {len(row)}"
    except csv.Error as err:
        return f"line {reader.line_num}: cannot parse as CSV ({err})"
    except (OSError, EOFError, zlib.error, UnicodeError):
        return None
    return None


# --------------------------------------------------------------------------- the import transaction


class _RetryWithFullSample(Exception):
    """A value did not fit the type guessed from the sample; re-read sniffing the whole file."""


def _import_into(
    con: duckdb.DuckDBPyConnection,
    source: _Source,
    sample_size: int | None,
    names: list[str],
    target_pos: int,
    notes: list[str],
    *,
    name: str,
    src: Path,
    fmt: str,
    file_hash: str,
    task: Task | None,
    test_size: float,
    seed: int,
) -> DatasetInfo:
    """Stage the file in a temporary table, check, profile and split it there, then store it.

    The file is parsed once, in parallel, and the stored (compressed) table is written once, its
    split included: an UPDATE of it would cost as much again at commit.
    """
    notes = list(notes)
    if con.execute("SELECT 1 FROM datasets WHERE name = ?", [name]).fetchone():
        raise InputError(f"a dataset named {name!r} already exists; choose another name with --name")
    dataset_id = int(con.execute("SELECT nextval('dataset_ids')").fetchone()[0])
    table = f"ds_{dataset_id}"
    storage = [f"c{i}" for i in range(len(names))]
    target_col = storage[target_pos]

    if fmt == "parquet":
        exprs = [_parquet_expr(s, t) for s, t in zip(storage, source.parquet_types)]
    else:
        exprs = [_ident(s) for s in storage]
    inner = ", ".join(f"{e} AS {_ident(s)}" for e, s in zip(exprs, storage))
    aliases = ", ".join(_ident(s) for s in storage)
    try:
        con.execute(
            f"CREATE TEMP TABLE {_STAGE} AS SELECT {inner} FROM {source.table_function(sample_size)} AS src({aliases})"
        )
    except duckdb.ConversionException as e:
        if fmt == "csv" and sample_size is None:
            raise _RetryWithFullSample from e
        raise _csv_failure(e, source) if fmt == "csv" else InputError(f"cannot read {src.name}: {_clean(e)}") from e
    except duckdb.Error as e:
        if fmt == "csv":
            raise _csv_failure(e, source) from e
        raise InputError(f"cannot read {src.name} as Parquet: {_clean(e)}") from e
    if sample_size == -1:
        notes.append("column types were detected over the whole file (a value far down did not fit the first guess)")

    n_rows, first_rowid, last_rowid = con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {_STAGE}").fetchone()
    if n_rows == 0:
        raise InputError(f"{src.name} has a header but no data rows")
    if source.data_lines is not None and n_rows != source.data_lines:
        expected = source.data_lines - _count_blank_lines(source)  # DuckDB skips blank lines, as pandas does
        if n_rows != expected:
            raise InputError(
                f"{src.name}: read {n_rows} rows but the file has {expected} data lines; refusing a partial import"
            )
    if last_rowid - first_rowid + 1 != n_rows:  # the file order is read off the staged rowids
        raise StoreError(f"cannot import {src.name}: DuckDB numbered the staged rows with gaps")
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {_STAGE})").fetchall())
    col_types = [str(types[s]) for s in storage]
    _nan_to_null(con, _STAGE, [s for s, t in zip(storage, col_types) if _family(t) == "float"])

    stats = _profile(con, _STAGE, storage, col_types, n_rows)
    profiles: list[ColumnProfile] = []
    for pos, (col_name, s, t) in enumerate(zip(names, storage, col_types)):
        st = stats[s]
        profiles.append(
            ColumnProfile(
                position=pos, name=col_name, sql_type=t, kind=_kind(t, st.n_present, st.n_distinct),
                n_missing=n_rows - st.n_present, n_distinct=st.n_distinct, min=st.min, max=st.max,
                mean=st.mean, std=st.std, top_values=st.top,
            )  # fmt: skip
        )

    target_name = names[target_pos]
    n_labeled = stats[target_col].n_present
    n_unlabeled = n_rows - n_labeled
    if n_labeled == 0:
        raise InputError(f"target {_short(target_name)!r} is missing in all {n_rows} rows")
    if n_unlabeled:
        notes.append(
            f"{n_unlabeled} of {n_rows} rows have no value in target {_short(target_name)!r}; they are kept as "
            "'unlabeled' and left out of dev and test"
        )
    if n_labeled < MIN_LABELED_ROWS:
        raise InputError(
            f"only {n_labeled} rows have a target value; at least {MIN_LABELED_ROWS} are needed to hold out a test set"
        )
    final_task, classes = _infer_task(con, _STAGE, target_col, col_types[target_pos], target_name, task, n_labeled)

    test_rowids, split_note = _split(con, _STAGE, target_col, col_types[target_pos], classes, test_size, seed)
    notes += [split_note] if split_note else []
    _write_table(con, table, storage, target_col, first_rowid, test_rowids)
    counts = dict(con.execute(f"SELECT __part, count(*) FROM {_ident(table)} GROUP BY __part").fetchall())
    n_dev, n_test = int(counts.get("dev", 0)), int(counts.get("test", 0))
    if (n_dev, n_test) != (n_labeled - len(test_rowids), len(test_rowids)):
        raise StoreError(f"cannot import {src.name}: the stored split does not match the one computed")

    created = time.time()
    con.execute(
        "INSERT INTO datasets (id, name, source, format, encoding, file_hash, n_rows, n_cols, target, target_storage, "
        "task, classes, test_size, split_seed, n_dev, n_test, n_unlabeled, data_table, notes, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            dataset_id, name, str(src), fmt, source.encoding, file_hash, n_rows, len(names), target_name,
            target_col, final_task, json.dumps(list(classes)), float(test_size), seed, n_dev, n_test,
            n_unlabeled, table, json.dumps(notes), created,
        ],
    )  # fmt: skip
    _insert_columns(con, dataset_id, profiles, storage)
    return DatasetInfo(
        id=dataset_id, name=name, source=str(src), format=fmt, encoding=source.encoding, file_hash=file_hash,
        n_rows=n_rows, n_cols=len(names), target=target_name, task=final_task, classes=classes,
        test_size=float(test_size), split_seed=seed, n_dev=n_dev, n_test=n_test, n_unlabeled=n_unlabeled,
        created_at=created, notes=tuple(notes), columns=tuple(profiles),
    )  # fmt: skip


def _nan_to_null(con: duckdb.DuckDBPyConnection, table: str, float_cols: list[str]) -> None:
    """NaN is a missing value (Parquet floats, 'NAN' in a CSV), as pandas and scikit-learn see it.

    Done on the staged table, not while reading: reading Parquet, DuckDB's statistics (which
    leave NaN out) let the optimizer fold ``isnan()`` to false. Being done before the split, a
    NaN target makes its row 'unlabeled'.
    """
    t = _ident(table)
    for start in range(0, len(float_cols), _WIDE_CHUNK):
        chunk = float_cols[start : start + _WIDE_CHUNK]
        counts = con.execute(
            "SELECT " + ", ".join(f"count(*) FILTER (WHERE isnan({_ident(c)}))" for c in chunk) + f" FROM {t}"
        ).fetchone()
        for col, n in zip(chunk, counts):
            if n:
                con.execute(f"UPDATE {t} SET {_ident(col)} = NULL WHERE isnan({_ident(col)})")


def _write_table(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], target_col: str, first_rowid: int, test_rowids: Any
) -> None:
    """Write the stored table from the staged one in one parallel pass, then drop the stage.

    The staged rowids count the file's records in order (DuckDB preserves insertion order), so
    ``rowid - first_rowid`` is the 0-based row in the file (inside the transaction they start at
    a large offset, not 0); ``row_number() OVER ()`` gives the same numbers on one thread only.
    The writers store rows in the order they finish, so readers order by ``__row``; an
    order-preserving write would leave a partial row group per 8 MB of CSV, which the
    checkpoint at close then rewrites (+0.3 s per million rows).
    """
    cols = ", ".join(_ident(s) for s in storage)
    con.register("_mlloop_test_rows", {"r": test_rowids})
    try:
        con.execute(
            f"CREATE TABLE {_ident(table)} AS SELECT {cols}, rowid - {int(first_rowid)} AS __row, "
            f"CASE WHEN {_ident(target_col)} IS NULL THEN 'unlabeled' "
            "WHEN rowid IN (SELECT r FROM _mlloop_test_rows) THEN 'test' ELSE 'dev' END AS __part "
            f"FROM {_STAGE}"
        )
    finally:
        con.unregister("_mlloop_test_rows")
    con.execute(f"DROP TABLE {_STAGE}")


def _insert_columns(
    con: duckdb.DuckDBPyConnection, dataset_id: int, profiles: list[ColumnProfile], storage: list[str]
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
    }
    con.register("_mlloop_columns", data)
    try:
        con.execute(
            "INSERT INTO dataset_columns (dataset_id, position, name, storage, sql_type, kind, n_missing, n_distinct, "
            "min, max, mean, std, top_values) SELECT ?, position, CAST(name AS VARCHAR), CAST(storage AS VARCHAR), "
            "CAST(sql_type AS VARCHAR), CAST(kind AS VARCHAR), n_missing, n_distinct, CAST(min AS VARCHAR), "
            "CAST(max AS VARCHAR), CAST(mean AS DOUBLE), CAST(std AS DOUBLE), CAST(top_values AS JSON) "
            "FROM _mlloop_columns ORDER BY position",
            [dataset_id],
        )
    finally:
        con.unregister("_mlloop_columns")


# --------------------------------------------------------------------------- profiling


@dataclass
class _Stats:
    n_present: int = 0
    n_distinct: int = 0
    min: str | None = None
    max: str | None = None
    mean: float | None = None
    std: float | None = None
    top: tuple[tuple[str, int], ...] = ()


def _family(sql_type: str) -> str:
    t = sql_type.upper()
    if t in _INT_TYPES:
        return "int"
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return "float"
    if t == "BOOLEAN":
        return "boolean"
    if t in _DATETIME_TYPES:
        return "datetime"
    return "string"  # VARCHAR and anything exotic, handled as its text


def _kind(sql_type: str, n_present: int, n_distinct: int) -> ColumnKind:
    fam = _family(sql_type)
    if fam in ("int", "float"):
        return "numeric"
    if fam == "boolean":
        return "boolean"
    if fam == "datetime":
        return "datetime"
    if n_distinct > MAX_CLASSES_FOR_INFERENCE and n_distinct >= 0.5 * n_present:
        return "text"
    return "categorical"


def _profile(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str], n_rows: int
) -> dict[str, _Stats]:
    """Per-column statistics in a few aggregate queries, chunked so thousands of columns work."""
    if n_rows <= _SMALL_TABLE_ROWS:
        return _profile_unpivot(con, table, storage, types)
    return _profile_wide(con, table, storage, types, exact=n_rows <= _EXACT_DISTINCT_ROWS)


def _profile_unpivot(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str]
) -> dict[str, _Stats]:
    """Exact statistics for short tables: one long (column, value) relation per chunk of columns.

    Fast for wide tables (500 x 5,000), where one aggregate expression per column is not.
    """
    stats = {s: _Stats() for s in storage}
    fams = {s: _family(t) for s, t in zip(storage, types)}
    groups = {
        "HUGEINT": [s for s in storage if fams[s] == "int"],
        "DOUBLE": [s for s in storage if fams[s] == "float"],
        "VARCHAR": [s for s in storage if fams[s] not in ("int", "float")],
    }
    t = _ident(table)
    for cast, cols in groups.items():
        for start in range(0, len(cols), _UNPIVOT_CHUNK):
            chunk = cols[start : start + _UNPIVOT_CHUNK]
            select = ", ".join(f"CAST({_ident(c)} AS {cast}) AS {_ident(c)}" for c in chunk)
            long = f"(UNPIVOT (SELECT {select} FROM {t}) ON COLUMNS(*) INTO NAME col VALUE val)"
            if cast != "VARCHAR":
                rows = con.execute(
                    f"SELECT col, count(val), count(DISTINCT val), CAST(min(val) AS VARCHAR), "
                    f"CAST(max(val) AS VARCHAR), avg(val), stddev_samp(val) FROM {long} GROUP BY col"
                ).fetchall()
                for col, n, nd, lo, hi, mean, std in rows:
                    stats[col] = _Stats(int(n), int(nd), lo, hi, _float_or_none(mean), _float_or_none(std))
                continue
            rows = con.execute(
                f"WITH g AS (SELECT col, val, count(*) AS n FROM {long} GROUP BY col, val) "
                "SELECT col, val, n, sum(n) OVER w, count(*) OVER w, min(val) OVER w, max(val) OVER w "
                "FROM g WINDOW w AS (PARTITION BY col) "
                f"QUALIFY row_number() OVER (PARTITION BY col ORDER BY n DESC, val) <= {TOP_K} "
                "ORDER BY col, n DESC, val"
            ).fetchall()
            tops: dict[str, list[tuple[str, int]]] = {}
            for col, val, n, present, nd, lo, hi in rows:
                tops.setdefault(col, []).append((val, int(n)))
                stats[col] = _Stats(int(present), int(nd), lo, hi)
            for col, top in tops.items():
                stats[col].top = tuple(top)
    return stats


def _profile_wide(
    con: duckdb.DuckDBPyConnection, table: str, storage: list[str], types: list[str], *, exact: bool
) -> dict[str, _Stats]:
    """Statistics for long tables: one row of aggregates per chunk of columns, top values per column."""
    stats = {s: _Stats() for s in storage}
    t = _ident(table)
    distinct = "count(DISTINCT {c})" if exact else "approx_count_distinct({c})"
    numeric = {s for s, ty in zip(storage, types) if _family(ty) in ("int", "float")}
    for start in range(0, len(storage), _WIDE_CHUNK):
        chunk = storage[start : start + _WIDE_CHUNK]
        parts: list[str] = []
        for s in chunk:
            c = _ident(s)
            parts += [f"count({c})", distinct.format(c=c), f"CAST(min({c}) AS VARCHAR)", f"CAST(max({c}) AS VARCHAR)"]
            if s in numeric:
                parts += [f"avg({c})", f"stddev_samp({c})"]
        row = con.execute(f"SELECT {', '.join(parts)} FROM {t}").fetchone()
        i = 0
        for s in chunk:
            n, nd, lo, hi = row[i : i + 4]
            i += 4
            st = _Stats(int(n), int(nd), lo, hi)
            if s in numeric:
                st.mean, st.std = _float_or_none(row[i]), _float_or_none(row[i + 1])
                i += 2
            stats[s] = st
    others = [s for s in storage if s not in numeric]
    for start in range(0, len(others), _TOP_CHUNK):
        chunk = others[start : start + _TOP_CHUNK]
        union = " UNION ALL ".join(
            f"(SELECT {_sql_str(s)} AS col, CAST(v AS VARCHAR) AS val, n FROM (SELECT {_ident(s)} AS v, count(*) AS n "
            f"FROM {t} WHERE {_ident(s)} IS NOT NULL GROUP BY v) ORDER BY n DESC, val LIMIT {TOP_K})"
            for s in chunk
        )
        for col, val, n in con.execute(f"SELECT col, val, n FROM ({union}) ORDER BY col, n DESC, val").fetchall():
            stats[col].top += ((val, int(n)),)
    return stats


# --------------------------------------------------------------------------- task and split


def _infer_task(
    con: duckdb.DuckDBPyConnection,
    table: str,
    col: str,
    sql_type: str,
    target: str,
    task: Task | None,
    n_labeled: int,
) -> tuple[Task, tuple[str, ...]]:
    """The task from the target's type and values (``task`` overrides but is checked)."""
    fam = _family(sql_type)
    c, t = _ident(col), _ident(table)
    shown = _short(target)
    if fam == "datetime":
        raise InputError(f"target {shown!r} holds dates/times ({sql_type}); choose a label or a number as target")
    integral = True
    if fam == "float":
        n_distinct, integral, n_inf = con.execute(
            f"SELECT count(DISTINCT {c}), coalesce(bool_and({c} = trunc({c})), false), "
            f"count(*) FILTER (WHERE NOT isfinite({c})) FROM {t} WHERE {c} IS NOT NULL"
        ).fetchone()
        if n_inf:
            raise InputError(f"target {shown!r} has {n_inf} infinite values")
    else:
        n_distinct = con.execute(f"SELECT count(DISTINCT {c}) FROM {t} WHERE {c} IS NOT NULL").fetchone()[0]
    numeric = fam in ("int", "float")

    if task is None:
        if not numeric or (integral and n_distinct <= MAX_CLASSES_FOR_INFERENCE):
            task = "binary" if n_distinct <= 2 else "multiclass"
        else:
            task = "regression"
    if task == "regression":
        if not numeric:
            raise InputError(f"regression needs a numeric target; {shown!r} is {_kind_word(fam)}")
        if n_distinct < 2:
            raise InputError(f"target {shown!r} is constant; there is nothing to predict")
        return "regression", ()

    if n_distinct < 2:
        only = con.execute(f"SELECT {_class_expr(col, sql_type)} FROM {t} WHERE {c} IS NOT NULL LIMIT 1").fetchone()
        raise InputError(f"target {shown!r} has a single class ({_short(str(only[0]))!r}); nothing to classify")
    if task == "binary" and n_distinct != 2:
        raise InputError(f"binary classification needs 2 classes; target {shown!r} has {n_distinct}")
    if fam == "string" and n_distinct == n_labeled and n_labeled >= 2 * MAX_CLASSES_FOR_INFERENCE:
        raise InputError(
            f"every labeled row has a different value of target {shown!r}; it looks like an identifier, not a label"
        )
    values = con.execute(f"SELECT DISTINCT {_class_expr(col, sql_type)} FROM {t} WHERE {c} IS NOT NULL").fetchall()
    return task, tuple(sorted(str(v[0]) for v in values))


def _split(
    con: duckdb.DuckDBPyConnection,
    table: str,
    col: str,
    sql_type: str,
    classes: tuple[str, ...],
    test_size: float,
    seed: int,
) -> tuple[Any, str | None]:
    """The rowids of the test rows, and a note if the split could not be stratified by class.

    The split depends on the order of the labeled rows, so they are put in file (rowid) order,
    by NumPy: they arrive in that order already, which its timsort checks in one pass, where an
    ORDER BY would cost DuckDB a full sort.
    """
    import numpy as np

    code = f", list_position(?::VARCHAR[], {_class_expr(col, sql_type)}) - 1 AS code" if classes else ""
    query = f"SELECT rowid AS r{code} FROM {_ident(table)} WHERE {_ident(col)} IS NOT NULL"
    data = con.execute(query, [list(classes)] if classes else []).fetchnumpy()
    order = np.argsort(data["r"], kind="stable")
    rowids = np.asarray(data["r"], dtype=np.int64)[order]
    codes = np.asarray(data["code"])[order] if classes else None
    test, note = _holdout(len(rowids), test_size, seed, codes, classes)
    return rowids[test], note


def _holdout(
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
            reason = f"class {_short(classes[int(counts.argmin())])!r} has a single labeled row"
        elif min(n_train, n_test) < len(counts):
            reason = f"{min(n_train, n_test)} rows cannot hold one row of each of the {len(counts)} classes"
        else:
            rng = np.random.RandomState(seed)
            by_class = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
            n_i = _approximate_mode(counts, n_train, rng)
            t_i = _approximate_mode(counts - n_i, n_test, rng)
            test = [rows[rng.permutation(len(rows))[k : k + m]] for rows, k, m in zip(by_class, n_i, t_i)]
            return np.concatenate(test), None
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


# --------------------------------------------------------------------------- SQL helpers


def _class_expr(col: str, sql_type: str) -> str:
    """A class label as text: integer-valued floats as '1', not '1.0', so labels read naturally."""
    c = _ident(col)
    if _family(sql_type) == "float":
        return (
            f"CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({c} AS VARCHAR) END"
        )
    return f"CAST({c} AS VARCHAR)"


def _model_expr(storage: str, sql_type: str, kind: str) -> str:
    c = _ident(storage)
    if kind in ("numeric", "boolean"):
        return f"CAST({c} AS DOUBLE)"
    if kind == "datetime":
        return f"CAST(epoch({c}) AS DOUBLE)"
    return f"CAST({c} AS VARCHAR)"


def _parquet_expr(storage: str, sql_type: str) -> str:
    """Normalise Parquet types: floats and decimals are doubles, exotic types are text."""
    c = _ident(storage)
    fam = _family(sql_type)
    if fam == "float":
        return f"CAST({c} AS DOUBLE)"
    if fam in ("int", "boolean", "datetime") or sql_type.upper() == "VARCHAR":
        return c
    return f"CAST({c} AS VARCHAR)"


def _kind_word(fam: str) -> str:
    return {"boolean": "boolean (true/false)", "string": "text", "datetime": "a date/time"}.get(fam, fam)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _float_or_none(v: Any) -> float | None:
    return None if v is None else float(v)


def _as_float(values: Any) -> Any:
    """float64 with NaN for missing (DuckDB's fetchnumpy masks NULLs)."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        return values.astype(np.float64).filled(np.nan)
    return np.asarray(values, dtype=np.float64)


def _as_object(values: Any) -> Any:
    """object dtype with np.nan for missing: what scikit-learn's imputers and encoders expect."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        out = np.array(values.data, dtype=object)
        out[np.ma.getmaskarray(values)] = np.nan
        return out
    return np.asarray(values, dtype=object)


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _clean(exc: BaseException) -> str:
    """DuckDB's first line without its 'Invalid Input Error:' style prefix."""
    return re.sub(r"^[A-Za-z ]*Error: ", "", _first_line(exc))


def _find_dataset_row(con: duckdb.DuckDBPyConnection, ref: str | int) -> tuple | None:
    fields = _DATASET_FIELDS
    if isinstance(ref, int) and not isinstance(ref, bool):
        return con.execute(f"SELECT {fields} FROM datasets WHERE id = ?", [ref]).fetchone()
    ref = str(ref)
    row = con.execute(f"SELECT {fields} FROM datasets WHERE name = ?", [ref]).fetchone()
    if row is None and ref.strip().isdigit():
        row = con.execute(f"SELECT {fields} FROM datasets WHERE id = ?", [int(ref.strip())]).fetchone()
    return row


def _dataset_from_row(row: tuple, columns: tuple[ColumnProfile, ...] = ()) -> DatasetInfo:
    (id_, name, source, fmt, encoding, file_hash, n_rows, n_cols, target, task, classes, test_size, split_seed,
     n_dev, n_test, n_unlabeled, created_at, notes) = row  # fmt: skip
    return DatasetInfo(
        id=int(id_), name=name, source=source, format=fmt, encoding=encoding, file_hash=file_hash,
        n_rows=int(n_rows), n_cols=int(n_cols), target=target, task=task,
        classes=tuple(str(c) for c in json.loads(classes)), test_size=float(test_size), split_seed=int(split_seed),
        n_dev=int(n_dev), n_test=int(n_test), n_unlabeled=int(n_unlabeled), created_at=float(created_at),
        notes=tuple(json.loads(notes)), columns=columns,
    )  # fmt: skip
