"""A CSV file read as byte ranges at once (core.data.parallel_csv) imports exactly as read whole.

Ranges are cut only from files of at least 2 x 16 MB; the tests lower that floor so small files
of every shape go through both paths: rows, their order (``__row``), the split, the profile and
the notes must be the same, and a bad file must fail with the same one line.
"""

from __future__ import annotations

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


def test_only_a_file_whose_newlines_all_end_records_is_cut_and_its_ranges_follow_each_other(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_csv, "MIN_RANGE_BYTES", 1)
    plain = _mixed_csv(tmp_path / "plain.csv")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,label\n"x\ny",1\n' + "".join(f"v{i},{i % 2}\n" for i in range(2000)))
    found = {}
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        for name, csv in (("plain", plain), ("quoted", quoted)):
            with prepared_source(csv, "csv", False, None, None) as source:
                n = len(source.sniffed)
                select = ", ".join(f'"c{i}" AS "c{i}"' for i in range(n))
                aliases = ", ".join(f'"c{i}"' for i in range(n))
                found[name] = parallel_csv.read_ranges(con, source, select, aliases, [])
        assert found["quoted"] is None  # a quoted field may hold a newline: read whole
        tables = found["plain"]
        assert tables is not None and len(tables) == 2
        n_column = [v for t in tables for (v,) in con.execute(f"SELECT c1 FROM {t} ORDER BY rowid").fetchall()]
    assert n_column == [i % 50 for i in range(3000)]  # every row once, in file order across the ranges
