"""A CSV file read as byte ranges at once (core.data.parallel_csv) imports exactly as read whole.

Ranges are cut only from files of at least 2 x 16 MB; the tests lower that floor so small files
of every shape go through both paths: rows, their order (``__row``), the split, the profile and
the notes must be the same, and a bad file must fail with the same one line.
"""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import core.data.parallel_csv as parallel_csv
from core.data.importing import import_dataset
from core.data.reading import prepared_source
from core.errors import InputError
from core.store import Store
from core.store.views import rows_view_name
from core.types import DatasetInfo


def _rows(store: Store, info: DatasetInfo) -> pd.DataFrame:
    with store.read() as con:
        return con.execute(f'SELECT * FROM "{rows_view_name(info.id)}" ORDER BY 1').df()


def _profile(info: DatasetInfo) -> list[tuple]:
    return [
        (c.name, c.sql_type, c.kind, c.n_missing, c.n_distinct, c.min, c.max, c.top_values, c.role)
        for c in info.columns
    ]


def _both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, csv: Path, target: str, **options):
    """The file imported whole, then in ranges (with the floor at one byte); the ranges must be used."""
    whole_store, ranges_store = Store(tmp_path / "whole.duckdb"), Store(tmp_path / "ranges.duckdb")
    whole = import_dataset(whole_store, csv, target, **options)
    used: list[list[str] | None] = []
    read = parallel_csv.read_ranges

    def recording(*args, **kwargs):
        used.append(read(*args, **kwargs))
        return used[-1]

    monkeypatch.setattr(parallel_csv, "MIN_RANGE_BYTES", 1)
    monkeypatch.setattr("core.data.staging.read_ranges", recording)
    ranged = import_dataset(ranges_store, csv, target, **options)
    return (whole_store, whole), (ranges_store, ranged), used


def _mixed_csv(path: Path, rows: int = 3000, newline: str = "\n") -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    lines = ["x,n,city,flag,label"]
    for i in range(rows):
        xv = "nan" if i % 97 == 0 else ("" if i % 89 == 0 else repr(float(x[i])))
        city = "" if i % 13 == 0 else ["paris", "lyon", "nîmes"][i % 3]
        label = "" if i % 211 == 0 else ("yes" if x[i] + rng.normal() > 0 else "no")
        lines.append(f"{xv},{i % 50},{city},{'true' if i % 2 else 'false'},{label}")
    path.write_text(newline.join(lines) + newline, encoding="utf-8")
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ranges_give_the_same_rows_order_split_and_profile(tmp_path, monkeypatch, newline):
    csv = _mixed_csv(tmp_path / "mixed.csv", newline=newline)
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label")
    assert used and used[0] is not None and len(used[0]) >= 2  # the file went through ranges
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))  # values, __row, __part
    assert _profile(whole) == _profile(ranged)
    assert (whole.n_dev, whole.n_test, whole.n_unlabeled, whole.notes) == (
        ranged.n_dev,
        ranged.n_test,
        ranged.n_unlabeled,
        ranged.notes,
    )
    missing = sum(1 for i in range(3000) if i % 97 == 0 or i % 89 == 0)
    assert _rows(rs, ranged)["x"].isna().sum() == missing  # 'nan' and an empty field are both missing


def test_a_value_far_down_that_does_not_fit_the_sniffed_type_reads_as_the_whole_file_does(tmp_path, monkeypatch):
    lines = ["k,label"] + [f"{i},{'a' if i % 2 else 'b'}" for i in range(40_000)] + ["not a number,a"]
    csv = tmp_path / "late.csv"
    csv.write_text("\n".join(lines) + "\n")
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label")
    assert used[0] is None  # a range failed on the value, so the file was read whole...
    assert any("detected over the whole file" in n for n in ranged.notes)  # ...and sniffed whole, as before
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))


def test_a_ragged_row_in_a_later_range_is_the_same_one_line_error(tmp_path, monkeypatch):
    lines = ["a,b,label"] + [f"{i},{i * 2},{i % 2}" for i in range(5000)]
    lines[4000] = "1,2,3,4"
    csv = tmp_path / "ragged.csv"
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as whole:
        import_dataset(Store(tmp_path / "a.duckdb"), csv, "label")
    monkeypatch.setattr(parallel_csv, "MIN_RANGE_BYTES", 1)
    store = Store(tmp_path / "b.duckdb")
    with pytest.raises(InputError) as ranged:
        import_dataset(store, csv, "label")
    assert str(ranged.value) == str(whole.value) and "line 4001" in str(whole.value)
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchone() == (0,)


def _ranges_of(con: duckdb.DuckDBPyConnection, csv: Path) -> list[str] | None:
    with prepared_source(csv, "csv", False, None, None) as source:
        n = len(source.sniffed)
        select = ", ".join(f'"c{i}" AS "c{i}"' for i in range(n))
        aliases = ", ".join(f'"c{i}"' for i in range(n))
        return parallel_csv.read_ranges(con, source, select, aliases, [])


def test_a_file_is_cut_only_where_a_record_ends_and_its_ranges_follow_each_other(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_csv, "MIN_RANGE_BYTES", 1)
    plain = _mixed_csv(tmp_path / "plain.csv")
    quoted = tmp_path / "quoted.csv"  # the middle of the file falls inside a quoted field of many lines
    long_note = '"' + "\n".join(f'line {k}, with ""quotes""' for k in range(400)) + '"'
    rows = [f"{i},{long_note if i == 1000 else chr(34) + 'a' + chr(34)},{i % 2}" for i in range(2000)]
    quoted.write_text('"n","note\nacross lines",label\n' + "\n".join(rows) + "\n")
    bare_cr = tmp_path / "mac.csv"
    bare_cr.write_bytes(b"a,label\r" + b"".join(b"%d,%d\r" % (i, i % 2) for i in range(2000)))
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        assert _ranges_of(con, bare_cr) is None  # a CR alone ends a line: lines are not found by LF
        for csv, first_column in ((plain, None), (quoted, list(range(2000)))):
            tables = _ranges_of(con, csv)
            assert tables is not None and len(tables) == 2
            got = [
                v
                for t in tables
                for (v,) in con.execute(f"SELECT c{0 if first_column else 1} FROM {t} ORDER BY rowid").fetchall()
            ]
            assert got == (first_column or [i % 50 for i in range(3000)])  # every row once, in file order
        notes = [v for t in _ranges_of(con, quoted) or [] for (v,) in con.execute(f"SELECT c1 FROM {t}").fetchall()]
        assert notes.count("a") == 1999 and long_note[1:-1].replace('""', '"') in notes


def test_a_file_with_decimal_commas_reads_its_numbers_in_ranges_as_whole(tmp_path, monkeypatch):
    lines = ["x;n;city;label"]
    for i in range(3000):
        lines.append(f"{i / 7:.4f};{i};{['paris', 'lyon'][i % 2]};{'yes' if i % 3 else 'no'}".replace(".", ","))
    csv = tmp_path / "eu.csv"
    csv.write_text("\n".join(lines) + "\n")
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label")
    assert used and used[0] is not None  # read in ranges
    assert whole.columns[0].sql_type == ranged.columns[0].sql_type == "DOUBLE"
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))
    assert _rows(rs, ranged)["x"].sum() == pytest.approx(sum(round(i / 7, 4) for i in range(3000)))


def test_formatted_numbers_read_in_ranges_as_whole(tmp_path, monkeypatch):
    lines = ["amount,share,label"] + [f'"${i * 1.5:,.2f}",{i % 100}%,{i % 2}' for i in range(3000)]
    csv = tmp_path / "sheet.csv"
    csv.write_text("\n".join(lines) + "\n")
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label")
    assert used and used[0] is not None  # read in ranges
    assert [c.sql_type for c in ranged.columns[:2]] == [c.sql_type for c in whole.columns[:2]] == ["DOUBLE"] * 2
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))
    assert _rows(rs, ranged)["amount"].sum() == pytest.approx(sum(i * 1.5 for i in range(3000)))


def test_na_markers_are_known_to_the_type_detection_in_ranges_as_whole(tmp_path, monkeypatch):
    lines = ["x;amount;label"]  # '?' marks a missing value (--na), in numbers, decimal-comma numbers and prices
    for i in range(3000):
        price = f"{i // 1000}.{i % 1000:03d},00 €" if i >= 1000 else f"{i},00 €"  # 1.234,00 €
        x, amount = ("?", "?") if i % 7 == 0 else (f"{i / 8:.3f}".replace(".", ","), price)
        lines.append(f"{x};{amount};{i % 2}")
    csv = tmp_path / "na.csv"
    csv.write_text("\n".join(lines) + "\n")
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label", na="?")
    assert used and used[0] is not None  # read in ranges
    for info in (whole, ranged):
        assert [(c.sql_type, c.n_missing) for c in info.columns[:2]] == [("DOUBLE", 429), ("DOUBLE", 429)]
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))


def test_a_quote_inside_an_unquoted_field_keeps_the_file_whole(tmp_path, monkeypatch):
    """DuckDB reads 5"in as text, so counting quotes would be off by one from there: a cut would then
    split a quoted field of two lines, and DuckDB would drop the first range's last row (unterminated) and
    read its second line as a row of three fields, without an error."""
    lines = ["size,note,label", '5"in,plain,0']
    lines += [f'{i},"two\nlines, or not",{i % 2}' for i in range(3000)]  # cut after "two", it reads as 3 fields
    csv = tmp_path / "stray.csv"
    csv.write_text("\n".join(lines) + "\n")
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label")
    assert used == [None]
    assert ranged.n_rows == whole.n_rows == 3001
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_a_quoted_file_in_ranges_imports_as_read_whole(tmp_path, monkeypatch, bom):
    """As R's write.csv writes it: every text quoted, the header too; quotes doubled, commas and newlines in fields."""
    rng = np.random.default_rng(1)
    lines = ['"x","city","comment","label"']
    for i in range(3000):
        comment = ["ok", 'said ""hi""', "a, b", "two\nlines", ""][i % 5]
        label = "NA" if i % 211 == 0 else '"' + ["yes", "no"][int(rng.integers(2))] + '"'  # R leaves NA unquoted
        lines.append(f'{rng.normal():.6f},"{["paris", "nîmes"][i % 2]}","{comment}",{label}')
    csv = tmp_path / "r.csv"
    csv.write_bytes(bom + ("\n".join(lines) + "\n").encode())
    (ws, whole), (rs, ranged), used = _both_ways(tmp_path, monkeypatch, csv, "label")
    assert used and used[0] is not None and len(used[0]) == 2
    pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))
    assert _profile(whole) == _profile(ranged) and whole.notes == ranged.notes
    assert (_rows(rs, ranged)["comment"] == "two\nlines").sum() == 600


_PIECES = ["a", "b,c", 'say ""hi""', "x\ny", "x\r\ny", "", "ünï", "  sp ", "1.5", "NA", '""""']


def _random_quoted_csv(path: Path, seed: int) -> Path:
    """Quoted and bare texts holding delimiters, doubled quotes, LF and CRLF; LF or CRLF records; maybe a BOM."""
    rng = random.Random(seed)

    def text() -> str:
        piece = rng.choice(_PIECES)
        if rng.random() < 0.6 or any(ch in piece for ch in ',\n\r"'):
            return f'"{piece}"'
        return piece if piece not in ("", "NA") else "v"

    def number() -> str:
        return rng.choice([repr(rng.random()), "", "NA", str(rng.randint(0, 9))])

    lines = ['"n","t1",t2,"label"']
    lines += [
        ",".join([number(), text(), text(), rng.choice(['"a"', "b", '"c"'])]) for _ in range(rng.randint(200, 1500))
    ]
    newline = rng.choice(["\n", "\r\n"])
    path.write_bytes((rng.choice(["", "\ufeff"]) + newline.join(lines) + newline).encode())
    return path


def test_random_quoted_files_import_in_ranges_as_read_whole(tmp_path, monkeypatch):
    """Where a range's read disagrees with the whole file's (a quoted line break taken for the record
    end, a cut inside a field), the import must fall back to reading the file whole: never differ."""
    ranged_files = 0
    for seed in range(16):
        csv = _random_quoted_csv(tmp_path / f"r{seed}.csv", seed)
        monkeypatch.setattr(parallel_csv, "MIN_RANGE_BYTES", 16 << 20)
        (folder := tmp_path / str(seed)).mkdir()
        (ws, whole), (rs, ranged), used = _both_ways(folder, monkeypatch, csv, "label")
        pd.testing.assert_frame_equal(_rows(ws, whole), _rows(rs, ranged))
        assert _profile(whole) == _profile(ranged) and whole.notes == ranged.notes, seed
        ranged_files += used[0] is not None
    assert ranged_files >= 12  # most were read in ranges: the comparison is not between two whole reads


def test_an_lf_file_whose_ranges_start_with_a_quoted_crlf_is_still_read_in_ranges(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_csv, "MIN_RANGE_BYTES", 1)
    csv = tmp_path / "notes.csv"  # a spreadsheet's line break inside a cell, in a file with LF records
    csv.write_bytes(b"note,label\n" + b"".join(b'"line\r\nbreak %d",%d\n' % (i, i % 2) for i in range(2000)))
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        tables = _ranges_of(con, csv)
        assert tables is not None
        notes = [v for t in tables for (v,) in con.execute(f"SELECT c0 FROM {t} ORDER BY rowid").fetchall()]
    assert notes == [f"line\r\nbreak {i}" for i in range(2000)]
