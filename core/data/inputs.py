"""What one import reads: a file, a directory of files, or a glob, read by DuckDB as one table.

``mlloop import 'logs/2026-*.csv'`` (or ``logs/``) reads every matching file, in sorted order of
their paths, as the rows of one dataset: DuckDB's readers take the list of files
(``read_csv([...])``, ``read_parquet([...])``, columns matched by position, never by name). So the
files must agree: one format, and the same columns in the same order. That is checked first,
on each file's header (its first megabyte) or Parquet schema, so a mismatch is one line naming the
file before anything is read in full. Each CSV file is then prepared as it would be alone (its
encoding, delimiter and line count; :func:`core.data.reading.prepared_source`), and the prepared
files become one :class:`~core.data.reading.Source` whose ``parts`` they are. The hash is SHA-256
over the files' bytes in that same order, read in chunks: one file's hash is its own sha256.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from core.data.csv_failures import csv_failure
from core.data.messages import shorten
from core.data.missing import NULL_STRINGS
from core.data.reading import (
    CSV_SUFFIXES,
    DATA_SUFFIXES,
    GZIP_SUFFIX,
    PARQUET_SUFFIXES,
    Source,
    format_of,
    peek_columns,
    prepared_source,
    resolve_file,
)
from core.errors import InputError
from core.store.sql import error_reason

_GLOB_CHARS = frozenset("*?[")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Inputs:
    """The files of one import, in the order their rows are read (sorted by path)."""

    given: str  # what the user named: a file, a directory or a pattern
    files: tuple[Path, ...]
    fmt: Literal["csv", "parquet"]
    compressed: bool

    @property
    def many(self) -> bool:
        given = Path(self.given).expanduser()
        return len(self.files) > 1 or given.is_dir() or (_is_pattern(self.given) and not given.exists())

    @property
    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    def source_text(self) -> str:
        """What the dataset records as its source: the file, or the directory or pattern and its file count."""
        if not self.many:
            return str(self.files[0])
        given = Path(self.given).expanduser()
        shown = str(given.resolve()) if given.is_dir() else str(given.absolute())
        return f"{shown} ({len(self.files)} file{'s' if len(self.files) > 1 else ''})"

    def shown(self, f: Path) -> str:
        """How messages name one of the files: its path under the directory or the pattern's folder."""
        base = Path(self.given).expanduser()
        base = base if base.is_dir() else _fixed_folder(base)
        try:
            return str(f.relative_to(base.resolve()))
        except ValueError:
            return f.name

    def default_name(self) -> str:
        """The file name without its extension; a directory's name; a pattern's folder's name."""
        if not self.many:
            base = self.files[0].name
            for suffix in (GZIP_SUFFIX, *CSV_SUFFIXES, *PARQUET_SUFFIXES):
                if base.lower().endswith(suffix):
                    base = base[: -len(suffix)]
            return base or self.files[0].name
        given = Path(self.given).expanduser()
        folder = given if given.is_dir() else _fixed_folder(given)
        return folder.resolve().name or "data"


def resolve_inputs(path: str | Path) -> Inputs:
    """The files ``path`` names: itself, a directory's data files, or a glob's matches (``**`` recurses).

    ``InputError`` with one line for a pattern matching nothing, a directory without data files,
    files of different formats, or a file that cannot be read (named).
    """
    given = str(path)
    p = Path(given).expanduser()
    if p.is_dir():
        found = sorted(f for f in p.iterdir() if f.name.lower().endswith(DATA_SUFFIXES) and not f.name.startswith("."))
        if not found:
            raise InputError(
                f"{p} is a directory with no CSV or Parquet file (.csv .tsv .txt, optionally .gz, .parquet .pq)"
            )
    elif _is_pattern(given) and not p.exists():
        found = sorted(Path(m) for m in glob.glob(str(p), recursive=True) if Path(m).is_file())
        if not found:  # a name with brackets but no wildcard is more likely a missing file than a pattern
            raise InputError(f"no file matches {given!r}" if set(given) & {"*", "?"} else f"file not found: {p}")
    else:
        found = [p]
    files = tuple(resolve_file(f) for f in found)
    kinds = [format_of(f) for f in files]
    for f, kind in zip(files[1:], kinds[1:]):
        if kind != kinds[0]:
            raise InputError(
                f"{f.name} is {_kind_word(kind)} but {files[0].name} is {_kind_word(kinds[0])}; "
                "the files of one import must be of one kind"
            )
    fmt, compressed = kinds[0]
    return Inputs(given=given, files=files, fmt=fmt, compressed=compressed)


def check_same_columns(inputs: Inputs, encoding: str | None, delimiter: str | None) -> None:
    """Refuse, naming the file, a file whose header (or Parquet schema) differs from the first file's.

    Cheap: the first megabyte of a CSV file, the schema of a Parquet file.
    """
    if len(inputs.files) < 2:
        return
    first = inputs.files[0]
    expected = peek_columns(first, delimiter=delimiter, encoding=encoding)
    for f in inputs.files[1:]:
        names = peek_columns(f, delimiter=delimiter, encoding=encoding)
        if names != expected:
            raise InputError(
                f"{inputs.shown(f)}: {_difference(names, expected, inputs.shown(first))}; "
                "every file must have the same columns"
            )


def sha256_files(files: tuple[Path, ...], on_bytes: Callable[[int], None] | None = None) -> str:
    """SHA-256 over the files' bytes in order, read 1 MB at a time; ``on_bytes`` gets each chunk's size."""
    digest = hashlib.sha256()
    buffer = bytearray(_HASH_CHUNK)
    view = memoryview(buffer)
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while n := fh.readinto(buffer):
                digest.update(view[:n])
                if on_bytes is not None:
                    on_bytes(n)
    return digest.hexdigest()


@contextmanager
def prepared_sources(
    inputs: Inputs, encoding: str | None, delimiter: str | None, null_strings: tuple[str, ...] = NULL_STRINGS
) -> Iterator[Source]:
    """The files as one :class:`Source` (a single file's own); temporary UTF-8 copies are deleted on exit.
    ``null_strings``: ``--na``'s missing markers."""
    with ExitStack() as stack:
        parts = [
            stack.enter_context(prepared_source(f, inputs.fmt, inputs.compressed, encoding, delimiter, null_strings))
            for f in inputs.files
        ]
        if len(parts) == 1:
            yield parts[0]
            return
        for f, part in zip(inputs.files, parts):
            part.display = inputs.shown(f)
        yield _combined(parts)


def read_failure(e: duckdb.Error, source: Source, sample_size: int | None) -> InputError:
    """One line for a failed read of the files: each file is read alone to find and name the one at fault."""
    if not source.parts:
        if source.fmt == "csv":
            return csv_failure(e, source)
        return InputError(f"cannot read {source.display} as Parquet: {error_reason(e)}")
    for part in source.parts:
        part.null_strings, part.as_text = source.null_strings, source.as_text
        try:
            with duckdb.connect() as mem:
                mem.execute(f"SELECT count(*) FROM {part.table_function(sample_size)}").fetchall()
        except duckdb.Error as alone:
            return read_failure(alone, part, sample_size)
    return InputError(
        f"cannot read the {len(source.parts)} files as one table (each reads alone; do their values' types "
        f"differ?): {error_reason(e)}"
    )


def count_blank_lines(source: Source) -> int:
    """Empty lines after each file's header (only when the row count needs explaining)."""
    total = 0
    for part in source.parts or [source]:
        with part.open_text() as fh:
            next(fh, None)
            total += sum(1 for line in fh if not line.strip("\r\n"))
    return total


def _combined(parts: list[Source]) -> Source:
    """One Source reading every part: they must agree on what DuckDB is told about all of them."""
    first = parts[0]
    for part in parts[1:]:
        if part.raw_names != first.raw_names:
            raise InputError(
                f"{part.display}: {_difference(part.raw_names, first.raw_names, first.display)}; "
                "every file must have the same columns"
            )
        if first.fmt == "parquet" and part.parquet_types != first.parquet_types:
            pos = next(i for i, (a, b) in enumerate(zip(part.parquet_types, first.parquet_types)) if a != b)
            raise InputError(
                f"{part.display}: column {shorten(str(first.raw_names[pos]))!r} is {part.parquet_types[pos]} where "
                f"{first.display} has {first.parquet_types[pos]}; every file must have the same column types"
            )
        for what, mine, theirs in (
            ("delimiter", part.delimiter, first.delimiter),
            ("encoding", part.duck_encoding, first.duck_encoding),
        ):
            if mine != theirs:
                raise InputError(
                    f"{part.display}: its {what} is {mine!r} where {first.display}'s is {theirs!r}; "
                    "the files of one import must be written alike"
                )
    lines = [p.data_lines for p in parts]
    notes = [f"read {len(parts)} files as one table, in this order: " + ", ".join(p.display for p in parts[:5])]
    notes[0] += f" and {len(parts) - 5} more" if len(parts) > 5 else ""
    notes += [f"{p.display}: {note}" for p in parts for note in p.notes]
    return Source(
        display=f"{len(parts)} files",
        fmt=first.fmt,
        raw_names=first.raw_names,
        notes=notes,
        encoding=first.encoding,
        read_path=first.read_path,
        py_encoding=first.py_encoding,
        duck_encoding=first.duck_encoding,
        compression=first.compression,
        delimiter=first.delimiter,
        decimal_separator=first.decimal_separator,
        null_strings=first.null_strings,
        formatted=first.formatted,
        data_lines=None if None in lines else sum(n for n in lines if n is not None),
        sniffed=first.sniffed,
        parquet_types=first.parquet_types,
        parts=parts,
    )


def _difference(names: list[str] | list[str | None], expected: list[str] | list[str | None], other: str) -> str:
    if len(names) != len(expected):
        return f"it has {len(names)} columns where {other} has {len(expected)}"
    pos = next(i for i, (a, b) in enumerate(zip(names, expected)) if a != b)
    return f"column {pos + 1} is {shorten(str(names[pos]))!r} where {other} has {shorten(str(expected[pos]))!r}"


def _is_pattern(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


def _fixed_folder(pattern: Path) -> Path:
    """The deepest folder of a pattern without a wildcard in it (``logs`` for ``logs/2026-*.csv``)."""
    folder = pattern.parent
    while _is_pattern(str(folder)):
        folder = folder.parent
    return folder


def _kind_word(kind: tuple[str, bool]) -> str:
    fmt, compressed = kind
    return "Parquet" if fmt == "parquet" else ("gzip-compressed CSV" if compressed else "CSV")
