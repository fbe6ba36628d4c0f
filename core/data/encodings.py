"""A CSV file's bytes: is it text, which encoding is it in, and a UTF-8 copy when DuckDB needs one.

Users' files come as UTF-8 (with or without a byte-order mark), UTF-16/32, Latin-1 or
Windows-1252, and nobody says which. A byte-order mark decides; otherwise one pass over the bytes
(:func:`scan_bytes`) checks UTF-8 validity and tells Latin-1 from cp1252, refuses binary data
(NUL bytes) and counts lines, so the import can later check DuckDB kept every row. DuckDB reads
UTF-8, UTF-16-LE and Latin-1 itself; any other encoding is transcoded to a temporary UTF-8 copy.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError

_SCAN_CHUNK = 1 << 20  # bytes per read while scanning the file

# One valid UTF-8 sequence of two to four bytes (RFC 3629: no overlongs, no surrogates).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_C1_BYTES = re.compile(rb"[\x80-\x9f]")  # printable in cp1252, control codes in Latin-1
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_PYTHON_CODEC = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}  # by DuckDB's name


@dataclass(frozen=True)
class Encoding:
    """What the file's bytes are, and how DuckDB can read them."""

    codec: str  # the Python codec of the file's bytes
    name: str  # the encoding the dataset records
    duckdb: str | None  # DuckDB's name for it; None: DuckDB cannot read it, transcode to UTF-8 first
    data_lines: int | None = None  # data records the file must yield, when countable from its bytes
    note: str | None = None  # why the file was not read as UTF-8
    lf_ends_lines: bool = False  # the whole file was scanned and has no bare CR: every line ends at an LF

    @property
    def python_codec(self) -> str:
        """The codec that decodes the file's own bytes the way DuckDB reads them (a UTF-8 BOM skipped)."""
        return self.codec if self.duckdb is None else _PYTHON_CODEC[self.duckdb]


@dataclass
class ByteScan:
    encoding: str  # 'utf-8' | 'latin-1' | 'cp1252'
    bad_line: int | None  # the first line with a byte that is not UTF-8
    data_lines: int | None
    lf_ends_lines: bool  # the whole file was scanned and has no bare CR


def choose_encoding(
    src: Path, compressed: bool, head: bytes, encoding: str | None, *, head_only: bool = False
) -> Encoding:
    """The file's encoding: ``encoding`` if given, else from a byte-order mark, else from a byte scan.

    The scan covers the whole file, or with ``head_only`` only ``head`` (the file's first bytes,
    cut after a newline: enough for its header, and quick on a huge file).
    """

    def scan(detect: bool) -> ByteScan:
        if head_only:
            return scan_head(head, src.name, detect=detect)
        return scan_bytes(src, compressed, detect=detect)

    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}") from None
        if codec.startswith(("utf-16", "utf-32")):
            if codec == "utf-16" and head.startswith(codecs.BOM_UTF16_LE):
                return Encoding(codec, codec, "utf-16")
            return Encoding(codec, codec, None)
        given = scan(False)
        if codec in ("utf-8", "utf-8-sig", "ascii"):
            duck: str | None = "utf-8"
        elif codec == "latin-1" or codec == "iso8859-1":
            duck = "latin-1"
        else:
            duck = None
        return Encoding(codec, codec, duck, given.data_lines, lf_ends_lines=given.lf_ends_lines)

    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return Encoding("utf-32", "utf-32", None)
    if head.startswith(codecs.BOM_UTF16_LE):
        return Encoding("utf-16", "utf-16", "utf-16")
    if head.startswith(codecs.BOM_UTF16_BE):
        return Encoding("utf-16", "utf-16", None)
    found = scan(True)
    if found.encoding == "utf-8":
        return Encoding("utf-8", "utf-8", "utf-8", found.data_lines, lf_ends_lines=found.lf_ends_lines)
    where = f"first non-UTF-8 byte on line {found.bad_line}"
    if found.encoding == "cp1252":
        note = f"read as Windows-1252 (cp1252): the file is not valid UTF-8 ({where})"
        return Encoding("cp1252", "cp1252", None, found.data_lines, note, found.lf_ends_lines)
    note = f"read as Latin-1: the file is not valid UTF-8 ({where})"
    return Encoding("latin-1", "latin-1", "latin-1", found.data_lines, note, found.lf_ends_lines)


def scan_bytes(src: Path, compressed: bool, *, detect: bool) -> ByteScan:
    """One pass over the bytes: NUL bytes, UTF-8 validity, Latin-1 evidence, line count.

    Blocks are cut after a newline, so no multi-byte sequence or CRLF straddles two blocks.
    The line count gives the number of data records when it is unambiguous (no quote
    character, no bare CR), to check DuckDB kept every row; blank lines are only looked for
    when the counts disagree (searching for them costs more than the rest of the scan).
    """
    scanner = _ByteScanner(src.name, detect)
    if compressed:
        _scan_stream(src, scanner)
        return scanner.result()
    # A plain file is read a chunk at a time and scanned up to its last newline, in place; the line
    # cut there is read again with the next chunk. Cutting copies of each chunk took half the scan.
    with open(src, "rb", buffering=0) as fh:
        while chunk := fh.read(_SCAN_CHUNK):
            end = chunk.rfind(b"\n") + 1
            while not end:  # a line longer than a chunk: read on to its end
                more = fh.read(_SCAN_CHUNK)
                if not more:
                    end = len(chunk)
                    break
                chunk += more
                end = chunk.rfind(b"\n") + 1
            if end < len(chunk):
                fh.seek(end - len(chunk), os.SEEK_CUR)
            scanner.feed(chunk, end)
    return scanner.result()


def _scan_stream(src: Path, scanner: _ByteScanner) -> None:
    """:func:`scan_bytes` on a gzip file, which cannot seek back cheaply: each block's cut line is carried."""
    carry = b""
    with _open_bytes(src, True) as fh:
        while True:
            chunk = _read_gz(fh.read, _SCAN_CHUNK, src.name)
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
            scanner.feed(block)
            if not chunk:
                break


def scan_head(head: bytes, name: str, *, detect: bool) -> ByteScan:
    """:func:`scan_bytes`'s verdict on ``head`` alone, without a line count or line ends.

    ``head`` is the file's first bytes cut after a newline (or the whole file), so no character
    is cut in two.
    """
    scanner = _ByteScanner(name, detect)
    scanner.feed(head)
    scan = scanner.result()
    scan.data_lines, scan.lf_ends_lines = None, False
    return scan


class _ByteScanner:
    """The state of one scan, fed block by block (each block ends after a newline, or the file does)."""

    def __init__(self, name: str, detect: bool) -> None:
        self.name, self.detect = name, detect
        self.lines = 0
        self.has_quote = self.bare_cr = False
        self.last_byte = b""
        self.bad_line: int | None = None
        self.seen_multibyte = False
        self.c1 = False
        self.cp1252_ok = True

    def feed(self, block: bytes, end: int | None = None) -> None:
        """Scan ``block[:end]`` (all of it by default), which ends after a newline or the file does."""
        end = len(block) if end is None else end
        nul = block.find(b"\x00", 0, end)
        if nul >= 0:
            line = self.lines + block.count(b"\n", 0, nul) + 1
            raise InputError(
                f"{self.name} is a binary file, not CSV text (NUL byte on line {line}); "
                "if it is UTF-16 without a byte-order mark, pass --encoding utf-16"
            )
        self.has_quote = self.has_quote or block.find(b'"', 0, end) >= 0
        self.bare_cr = self.bare_cr or (block.find(b"\r", 0, end) >= 0 and _has_bare_cr(memoryview(block)[:end]))
        if self.detect and not block.isascii():  # the whole block: ASCII then, ASCII up to end too
            text = block if end == len(block) else block[:end]
            if not text.isascii():
                self._check_text(text)
        self.lines += _count_newlines(memoryview(block)[:end])
        self.last_byte = block[end - 1 : end]

    def _check_text(self, block: bytes) -> None:
        """UTF-8 validity and Latin-1 evidence of a block that is not all ASCII."""
        if self.bad_line is None:
            try:
                block.decode("utf-8")
                self.seen_multibyte = True
            except UnicodeDecodeError as e:
                self.bad_line = self.lines + block.count(b"\n", 0, e.start) + 1
                bad_byte = block[e.start]
                rest = block[e.start :]
                if self.seen_multibyte or not block[: e.start].isascii() or _UTF8_MULTIBYTE.search(rest):
                    raise _corrupt_utf8(self.name, self.bad_line, bad_byte) from None
                self.c1 = self.c1 or bool(_C1_BYTES.search(rest))
                self.cp1252_ok = self.cp1252_ok and not _CP1252_UNDEFINED.search(rest)
        else:
            if _UTF8_MULTIBYTE.search(block):
                raise _corrupt_utf8(self.name, self.bad_line, None)
            self.c1 = self.c1 or bool(_C1_BYTES.search(block))
            self.cp1252_ok = self.cp1252_ok and not _CP1252_UNDEFINED.search(block)

    def result(self) -> ByteScan:
        total_lines = self.lines + (1 if self.last_byte and self.last_byte != b"\n" else 0)
        data_lines = None if (self.has_quote or self.bare_cr) else max(total_lines - 1, 0)
        if self.bad_line is None:
            encoding = "utf-8"
        else:
            encoding = "cp1252" if self.c1 and self.cp1252_ok else "latin-1"
        return ByteScan(encoding, self.bad_line, data_lines, lf_ends_lines=not self.bare_cr)


def _count_newlines(block: bytes | memoryview) -> int:
    """``block.count(b"\\n")``, in NumPy: several times faster, and it dominated the scan."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A))


def _has_bare_cr(block: bytes | memoryview) -> bool:
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


def read_start(path: Path, compressed: bool, n: int, name: str) -> bytes:
    """The first ``n`` bytes of the file (of its decompressed content for gzip)."""
    with _open_bytes(path, compressed) as fh:
        return _read_gz(fh.read, n, name)


@contextmanager
def _open_bytes(src: Path, compressed: bool) -> Iterator[io.BufferedIOBase]:
    with open(src, "rb") as raw:
        if compressed:
            with gzip.GzipFile(fileobj=raw) as gz:
                yield gz
        else:
            yield raw


def _read_gz(read: Callable[[int], bytes], n: int, name: str) -> bytes:
    try:
        return read(n)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise InputError(f"{name} is not a valid gzip file: {e}") from e


def transcode(src: Path, compressed: bool, codec: str, temp: list[Path]) -> Path:
    """Write a UTF-8 copy for DuckDB, whose reader knows only UTF-8, UTF-16-LE and Latin-1.

    The copy's path is appended to ``temp`` before it is written, so the caller deletes it even
    when transcoding fails half-way.
    """
    fd, tmp_name = tempfile.mkstemp(prefix="mlloop-import-", suffix=".csv")
    tmp = Path(tmp_name)
    temp.append(tmp)
    lines = 0
    try:
        with _open_bytes(src, compressed) as raw, open(fd, "w", encoding="utf-8", newline="") as out:
            reader = codecs.getreader(codec)(raw, "strict")  # errors="strict"
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
