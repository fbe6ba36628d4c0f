"""Bad inputs for ``import_dataset`` / ``mlloop import``, written to disk for parametrized tests.

Each case must fail with an ``InputError`` (CLI: exit code 2, no traceback) whose one-line
message contains ``message_fragment``, and must leave the store unchanged. ``options`` holds
extra ``import_dataset`` keyword arguments (``test_size``, ``task``...); the CLI spells them
``--test-size``, ``--task`` and so on.

The unreadable-file case (chmod 000) is only produced when not running as root, since root
reads the file anyway.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A 1x1 PNG: a real binary file that a user might rename by mistake.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass(frozen=True)
class BadInput:
    id: str
    path: Path
    target: str
    message_fragment: str
    options: dict[str, Any] = field(default_factory=dict)


def _rows(n: int, start: int = 0) -> str:
    """``n`` good data lines for a file with header ``x,z,y`` (y has two classes)."""
    return "".join(f"{i},{i * 0.5},{'yes' if i % 2 else 'no'}\n" for i in range(start, start + n))


def make_bad_inputs(tmp_path: Path) -> list[BadInput]:
    """Write every bad case under ``tmp_path`` and describe it."""
    d = Path(tmp_path) / "bad"
    d.mkdir(parents=True, exist_ok=True)
    cases: list[BadInput] = []

    def text(name: str, content: str, target: str, fragment: str, **options: Any) -> None:
        p = d / name
        p.write_bytes(content.encode("utf-8"))
        cases.append(BadInput(p.stem.replace(".", "_"), p, target, fragment, dict(options)))

    def raw(name: str, content: bytes, target: str, fragment: str) -> None:
        p = d / name
        p.write_bytes(content)
        cases.append(BadInput(p.stem.replace(".", "_"), p, target, fragment))

    good = "x,z,y\n" + _rows(40)

    cases.append(BadInput("missing_file", d / "does_not_exist.csv", "y", "file not found"))
    (d / "a_directory.csv").mkdir(exist_ok=True)
    cases.append(BadInput("directory", d / "a_directory.csv", "y", "is a directory"))
    if os.geteuid() != 0:
        p = d / "unreadable.csv"
        p.write_text(good)
        p.chmod(0)
        cases.append(BadInput("unreadable", p, "y", "permission denied"))
    raw("empty.csv", b"", "y", "is empty")
    text("blank.csv", "\n\n  \n", "y", "no header row")
    text("header_only.csv", "x,z,y\n", "y", "no data rows")
    text("no_header.csv", "".join(f"{i},{i * 2},{i * 3}\n" for i in range(30)), "y", "no header row")
    raw("nul_bytes.csv", b"x,z,y\n1,2,\x00\x01\x02\n3,4,5\n", "y", "binary file")
    raw("image.csv", PNG_BYTES, "y", "binary file")
    raw("gzipped.csv", gzip.compress(good.encode()), "y", "gzip-compressed")
    raw("broken.csv.gz", b"\x1f\x8b\x08\x00not really gzip at all", "y", "not a valid gzip file")
    raw("not_parquet.parquet", b"x,z,y\n1,2,3\n", "y", "not a Parquet file")
    raw("sheet.xlsx", b"PK\x03\x04whatever", "y", "unsupported file type")
    # Ragged rows inside DuckDB's sniffing sample, and far beyond it.
    text(
        "too_few_fields.csv",
        "x,z,y\n" + _rows(5001) + "1,2\n" + _rows(50),
        "y",
        "line 5003: expected 3 fields, found 2",
    )
    text(
        "too_many_fields.csv",
        "x,z,y\n" + _rows(5) + "1,2,yes,4\n" + _rows(5),
        "y",
        "line 7: expected 3 fields, found 4",
    )
    text(
        "ragged_deep.csv",
        "x,z,y\n" + _rows(30_000) + "1,2\n" + _rows(10),
        "y",
        "line 30002: expected 3 fields, found 2",
    )
    text("unclosed_quote.csv", "x,z,y\n" + _rows(12) + '1,"never closed,yes\n' + _rows(3), "y", "line")
    # Valid multi-byte UTF-8 (é) plus an invalid byte: corrupt, not Latin-1.
    raw(
        "corrupt_utf8.csv",
        ("x,z,y\n1,café,yes\n2,b,no\n").encode() + b"3,caf\xe9,yes\n" + _rows(20).encode(),
        "y",
        "line 4: invalid UTF-8",
    )
    text("one_column.csv", "x y z\n" + "".join(f"{i} {i} {i}\n" for i in range(20)), "x y z", "only one column")
    text("target_typo.csv", "x,z,price\n" + _rows(20), "pirce", "did you mean 'price'")
    text("target_absent.csv", good, "label", "no column 'label'")
    text("target_all_missing.csv", "x,z,y\n" + "".join(f"{i},{i},\n" for i in range(20)), "y", "missing in all")
    text("single_class.csv", "x,z,y\n" + "".join(f"{i},{i},yes\n" for i in range(20)), "y", "single class")
    text("too_few_labeled.csv", "x,z,y\n" + _rows(6) + "".join(f"{i},{i},\n" for i in range(20)), "y", "at least 10")
    text("identifier_target.csv", "x,id\n" + "".join(f"{i},id{i}\n" for i in range(50)), "id", "identifier")
    text("date_target.csv", "x,when\n" + "".join(f"{i},2024-01-{i + 1:02d}\n" for i in range(20)), "when", "dates")
    text("test_size_zero.csv", good, "y", "test size must be in", test_size=0.0)
    text("test_size_large.csv", good, "y", "test size must be in", test_size=0.95)
    text("unknown_task.csv", good, "y", "unknown task", task="clustering")
    text("regression_on_text.csv", good, "y", "regression needs a numeric target", task="regression")
    text(
        "binary_on_three.csv",
        "x,z,y\n" + "".join(f"{i},{i},{'abc'[i % 3]}\n" for i in range(30)),
        "y",
        "needs 2 classes",
        task="binary",
    )
    text("bad_encoding_name.csv", good, "y", "unknown encoding", encoding="no-such-codec")
    return cases


BAD_STORES = ("garbage", "truncated", "empty", "newer_schema")


def make_bad_store(kind: str, folder: Path) -> Path:
    """A store file the app cannot read: random bytes, a store cut short, zero bytes, or a store
    written by a newer mlloop (its schema version one past this one's)."""
    import duckdb

    from core.store import Store
    from core.store.migrations import SCHEMA_VERSION

    path = Path(folder) / f"{kind}.duckdb"
    if kind == "garbage":
        path.write_bytes(os.urandom(300_000))
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        good = Path(folder) / f"{kind}-good.duckdb"
        Store(good).schema_version()  # creates a real, current store
        if kind == "truncated":
            path.write_bytes(good.read_bytes()[:20_000])
        elif kind == "newer_schema":
            path.write_bytes(good.read_bytes())
            con = duckdb.connect(str(path))
            con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
            con.close()
        else:
            raise ValueError(f"unknown bad store {kind!r}")
        good.unlink()
    return path
