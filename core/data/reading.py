"""Reading a user's CSV or Parquet file: which file, which format, its delimiter, its header, its failures.

:func:`prepared_source` turns a path into a :class:`Source`: the DuckDB table-function call that
reads the file strictly, with what detection learned on the way (encoding, delimiter, the
header's cells, DuckDB's guessed types, notes for the user). Import reads the rows through it;
:func:`peek_columns` uses the same steps on the head of the file only, so the import dialog can
suggest the exact column names an import will store, at once, even for a file of many gigabytes.

The delimiter and the header are found in Python on the first megabyte (DuckDB's sniffer settles
silently for a one-column reading when a ragged row falls in its sample). When DuckDB's strict
reader fails, :func:`~core.data.csv_failures.csv_failure` turns its dump into one line naming the file's line.
Missing values: see :mod:`core.data.missing` (a quoted value is data, never missing).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, Literal

import duckdb

from core.data.csv_failures import csv_failure
from core.data.decimal_comma import decimal_comma_columns
from core.data.encodings import Encoding, choose_encoding, read_start, transcode
from core.data.formatted_numbers import formatted_columns
from core.data.messages import listed, shorten
from core.data.missing import NULL_STRINGS
from core.errors import InputError
from core.store.sql import error_reason, one_row, sql_string

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
GZIP_SUFFIX = ".gz"
PARQUET_SUFFIXES = (".parquet", ".pq")
DATA_SUFFIXES = (*CSV_SUFFIXES, *(s + GZIP_SUFFIX for s in CSV_SUFFIXES), *PARQUET_SUFFIXES)  # what import reads

DELIMITERS = (",", "\t", ";", "|")

_HEAD_BYTES = 1 << 20  # bytes looked at to choose the delimiter and read the header
_HEAD_RECORDS = 200
_MAGIC_BYTES = 64 * 1024  # bytes looked at for a binary file's signature and a byte-order mark
_READ_BUFFER = 8 << 20  # DuckDB's per-thread CSV buffer (default 32 MB): 4x its longest line; fits a small --memory
_MAX_LINE = 2_000_000  # DuckDB's default line limit, said: with a buffer_size set, DuckDB drops it

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


# --------------------------------------------------------------------------- public API


def peek_columns(path: str | Path, *, delimiter: str | None = None, encoding: str | None = None) -> list[str]:
    """The file's column names as :func:`~core.data.importing.import_dataset` would name them.

    The same encoding, delimiter and header rules and the same renaming of empty and duplicate
    names, applied to the first megabyte only (of a Parquet file, its schema only), so it is quick
    on any file. It does not ask DuckDB whether the first line is a header, nor check the rows:
    the import does. Raises ``InputError`` with one line when the file cannot give its names.
    """
    src = resolve_file(path)
    fmt, compressed = format_of(src)
    if fmt == "parquet":
        raw = _parquet_source(src, encoding).raw_names
    else:
        raw = _csv_head_names(src, compressed, encoding, delimiter)
    return unique_names(raw)[0]


@dataclass
class Source:
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
    decimal_separator: str = "."  # ',' for a file whose numbers have a decimal comma (core.data.decimal_comma)
    formatted: list[int] = field(default_factory=list)  # columns of "$1,234.50" numbers (core.data.formatted_numbers)
    data_lines: int | None = None  # data records the file must yield, when countable from bytes
    lf_ends_lines: bool = False  # scanned whole, no bare CR: a record ends at each LF outside quotes
    sniffed: list[tuple[str, str]] = field(default_factory=list)  # DuckDB's (name, type) per column
    new_line: str = ""  # the record end DuckDB's sniffer found ('\\n' or '\\r\\n', escaped as read_csv takes it)
    as_text: list[str] = field(default_factory=list)  # DuckDB names of columns to read as VARCHAR
    null_strings: tuple[str, ...] = NULL_STRINGS  # unquoted cells read as missing
    # Parquet only
    parquet_types: list[str] = field(default_factory=list)
    parts: list[Source] = field(default_factory=list)  # the files read as one table (core.data.inputs)

    @property
    def unquoted(self) -> bool:
        """Whether no field of the file is quoted: it was scanned whole and holds no quote character
        (the scan counts its data lines only then)."""
        return self.data_lines is not None

    def table_function(self, sample_size: int | None = None) -> str:
        paths = [sql_string(str(p.read_path)) for p in self.parts] or [sql_string(str(self.read_path))]
        files = paths[0] if len(paths) == 1 else f"[{', '.join(paths)}], union_by_name = false"
        if self.fmt == "parquet":
            return f"read_parquet({files})"
        return f"read_csv({files}, header = true, {self.csv_options(sample_size)})"

    def csv_options(self, sample_size: int | None = None, detect: bool = True) -> str:
        nulls = ", ".join(sql_string(s) for s in self.null_strings)
        opts = (
            f"delim = {sql_string(self.delimiter)}, quote = '\"', escape = '\"', comment = '', skip = 0, "
            f"strict_mode = true, null_padding = false, ignore_errors = false, nullstr = [{nulls}], "
            "allow_quoted_nulls = false, "
            f"encoding = {sql_string(self.duck_encoding)}, compression = {sql_string(self.compression)}, "
            f"buffer_size = {_READ_BUFFER}, max_line_size = {_MAX_LINE}"
        )
        if self.decimal_separator != ".":
            opts += f", decimal_separator = {sql_string(self.decimal_separator)}"
        if sample_size is not None:
            opts += f", sample_size = {int(sample_size)}"
        if self.as_text and detect:  # else the reader's columns give every type
            opts += ", types = {" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in self.as_text) + "}"
        return opts

    def open_text(self) -> IO[str]:
        """The file as text, for diagnosing a failed read (never on the fast path)."""
        assert self.read_path is not None
        raw: BinaryIO | gzip.GzipFile = open(self.read_path, "rb")
        if self.compression == "gzip":
            raw = gzip.GzipFile(fileobj=raw)
        return io.TextIOWrapper(raw, encoding=self.py_encoding, errors="replace", newline="")


@contextmanager
def prepared_source(
    src: Path,
    fmt: str,
    compressed: bool,
    encoding: str | None,
    delimiter: str | None,
    null_strings: tuple[str, ...] = NULL_STRINGS,
) -> Iterator[Source]:
    """The file described for DuckDB; a transcoded UTF-8 copy, if one is needed, is deleted on exit.
    ``null_strings``: the unquoted cells that are missing (``--na``), known to the detection of types."""
    if fmt == "parquet":
        yield _parquet_source(src, encoding)
        return
    temp: list[Path] = []
    try:
        yield _csv_source(src, compressed, encoding, delimiter, temp, null_strings)
    finally:
        for t in temp:
            t.unlink(missing_ok=True)


def resolve_file(path: str | Path) -> Path:
    """The absolute path of a readable, non-empty file; ``InputError`` saying why not otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"file not found: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a file")
    if not p.is_file():  # before reading: opening a FIFO would wait for a writer
        raise InputError(
            f"{p} is not a regular file (a pipe, a device or standard input): import reads the file more than "
            "once (to detect, check and hash it); save it to a file first"
        )
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


def format_of(p: Path) -> tuple[Literal["csv", "parquet"], bool]:
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


def unique_names(raw: list[str | None]) -> tuple[list[str], list[str]]:
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
            notes.append(f"duplicate column name {shorten(cell)!r}: column {n} renamed to {shorten(new)!r}")
        else:
            new = cell
        seen.add(new)
        names.append(new)
    return names, notes


# --------------------------------------------------------------------------- Parquet


def _parquet_source(src: Path, encoding: str | None) -> Source:
    if encoding is not None:
        raise InputError("--encoding applies to CSV files only; Parquet files carry their own")
    with open(src, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(src.stat().st_size - 4, 0))
        tail = fh.read(4)
    if src.stat().st_size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise InputError(f"{src.name} is not a Parquet file (no PAR1 signature)")
    source = Source(display=src.name, fmt="parquet", raw_names=[], notes=[], read_path=src)
    try:
        with duckdb.connect() as mem:
            described = mem.execute(f"DESCRIBE SELECT * FROM {source.table_function()}").fetchall()
    except duckdb.Error as e:
        raise InputError(f"cannot read {src.name} as Parquet: {error_reason(e)}") from e
    source.parquet_types = [str(r[1]) for r in described]
    names: list[str | None] = [str(r[0]) for r in described]
    try:  # DuckDB renames duplicates ('A' next to 'a' becomes 'A_1'); the schema has the originals
        import pyarrow.parquet as pq

        original = pq.read_schema(src).names
        if len(original) == len(names):
            names = list(original)
    except Exception:
        pass
    source.raw_names = names
    return source


# --------------------------------------------------------------------------- CSV


def _csv_source(
    src: Path,
    compressed: bool,
    encoding: str | None,
    delimiter: str | None,
    temp: list[Path],
    null_strings: tuple[str, ...] = NULL_STRINGS,
) -> Source:
    source = Source(display=src.name, fmt="csv", raw_names=[], notes=[], read_path=src, null_strings=null_strings)
    source.compression = "gzip" if compressed else "none"
    head = read_start(src, compressed, _MAGIC_BYTES, src.name)
    _check_is_text(head, src)

    enc = choose_encoding(src, compressed, head, encoding)
    _use_encoding(source, enc)
    if enc.duckdb is None:
        source.read_path = transcode(src, compressed, enc.codec, temp)
        source.compression, source.py_encoding, source.duck_encoding = "none", "utf-8", "utf-8"

    assert source.read_path is not None
    data = read_start(source.read_path, source.compression == "gzip", _HEAD_BYTES + 1, src.name)
    records, complete = _head_text(data, source.py_encoding)
    source.delimiter = _normalise_delimiter(delimiter) if delimiter is not None else _detect_delimiter(records, src)
    header = _header_records(records, complete, source.delimiter, src)
    comma_numbers = decimal_comma_columns(header, source.delimiter, source.null_strings)
    if comma_numbers:
        source.decimal_separator = ","
        shown = listed([repr(shorten(header[0][j].lstrip("\ufeff"))) for j in comma_numbers], 5)
        source.notes.append(f"numbers with a decimal comma (12,5) read as numbers: {shown}")
    source.formatted = formatted_columns(header, source.delimiter, source.null_strings)

    try:
        with duckdb.connect() as mem:
            sniffed = one_row(
                mem.execute(
                    f"SELECT HasHeader, Columns, NewLineDelimiter FROM sniff_csv({sql_string(str(source.read_path))}, "
                    f"{source.csv_options()})"
                )
            )
            has_header = bool(sniffed[0])
            source.sniffed = [(str(c["name"]), str(c["type"])) for c in sniffed[1]]
            source.new_line = str(sniffed[2] or "")
            n_columns = len(source.sniffed)
            if not header or len(header[0]) != n_columns:
                # A header longer than our sample, or one our parse disagrees on: ask DuckDB.
                raw = mem.execute(
                    f"SELECT * FROM read_csv({sql_string(str(source.read_path))}, header = false, all_varchar = true, "
                    f"{source.csv_options()}) LIMIT 1"
                ).fetchone()
                header = [list(raw)] if raw else header
    except duckdb.Error as e:
        raise csv_failure(e, source) from e
    if not header:
        raise InputError(f"{src.name} has no header row")
    if not has_header:
        first = source.delimiter.join(str(c) for c in header[0])
        raise InputError(
            f"{src.name} has no header row (the first line looks like data: {shorten(first, 60)!r}); "
            "add a first line with the column names"
        )
    source.raw_names = _header_cells(header[0])
    return source


def _csv_head_names(src: Path, compressed: bool, encoding: str | None, delimiter: str | None) -> list[str | None]:
    """:func:`_csv_source`'s header cells, found in the first megabyte alone (nothing transcoded)."""
    data = read_start(src, compressed, _HEAD_BYTES + 1, src.name)
    _check_is_text(data[:_MAGIC_BYTES], src)
    complete = len(data) <= _HEAD_BYTES
    if not complete:
        cut = data.rfind(b"\n", 0, _HEAD_BYTES)
        if cut < 0:
            raise InputError(f"{src.name}: no line ends in its first megabyte; its header row is too long to peek at")
        data = data[: cut + 1]  # whole lines only: no character cut in two
    enc = choose_encoding(src, compressed, data, encoding, head_only=True)
    records, _ = _head_text(data, enc.python_codec)
    chosen = _normalise_delimiter(delimiter) if delimiter is not None else _detect_delimiter(records, src)
    header = _header_records(records, complete, chosen, src)
    if not header:
        raise InputError(f"{src.name}: no complete header row in its first megabyte")
    return _header_cells(header[0])


def _check_is_text(head: bytes, src: Path) -> None:
    if not head.strip():
        raise InputError(f"{src.name} has no header row (the file is blank)")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputError(f"{src.name} is a binary file, not CSV text: it looks like {what}")


def _use_encoding(source: Source, enc: Encoding) -> None:
    source.encoding = enc.name
    source.data_lines, source.lf_ends_lines = enc.data_lines, enc.lf_ends_lines
    source.notes += [enc.note] if enc.note else []
    if enc.duckdb is not None:
        source.duck_encoding = enc.duckdb
        source.py_encoding = enc.python_codec


def _head_text(data: bytes, codec: str) -> tuple[str, bool]:
    """The file's first megabyte (``data``: one byte more, if the file has it) as text, and whether
    that is the whole file; cut after its last newline when it is not."""
    complete = len(data) <= _HEAD_BYTES
    data = data[:_HEAD_BYTES]
    if not complete:
        cut = data.rfind(b"\n")
        data = data[: cut + 1] if cut >= 0 else data
    return data.decode(codec, errors="replace").lstrip("\ufeff"), complete


def _header_records(text: str, complete: bool, delimiter: str, src: Path) -> list[list[str]]:
    """The first records of ``text``; the last one dropped when the text may have cut it off."""
    header = _parse_records(text, delimiter)
    if not complete:
        return header[:-1]  # the last record may be cut off by the end of the sample
    if not header:
        raise InputError(f"{src.name} has no header row")
    return header


def _header_cells(record: Sequence[str | None]) -> list[str | None]:
    return [c.lstrip("\ufeff") if c else None for c in record]


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
    if len(d) != 1 or d in '"\r\n':
        raise InputError(f"delimiter must be one character such as , ; | or tab, got {delimiter!r}")
    return d
