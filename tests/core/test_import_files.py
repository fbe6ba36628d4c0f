"""Import of many files as one dataset (issue 11 part 1): a glob or a directory of CSV or Parquet files
with the same columns is the same dataset as their concatenation; files that differ, a glob that
matches nothing, are one line naming the file, and the store is unchanged."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.store import Store
from core.store.datasets import get_dataset
from tests.conftest import mlloop_main


def frame(n: int, seed: int) -> pd.DataFrame:
    """Numbers, integers, text and missing values, and a binary label that depends on them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).round(3)
    data = pd.DataFrame(
        {
            "x": x,
            "count": rng.integers(0, 50, size=n),
            "city": rng.choice(["paris", "lyon", "nice"], size=n),
            "label": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )
    data.loc[rng.choice(n, n // 10, replace=False), "x"] = np.nan
    data.loc[rng.choice(n, n // 20, replace=False), "city"] = None
    return data


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "logs"
    folder.mkdir()
    paths = []
    for i, n in enumerate((150, 90, 120)):
        path = folder / f"2026-0{i + 1}.csv"
        frame(n, seed=i).to_csv(path, index=False)
        paths.append(path)
    (folder / "notes.md").write_text("not data\n")
    return paths


def same_dataset(store: Store, a: str, b: str) -> None:
    """Same rows in the same order, same split, same profile."""
    da, db = get_dataset(store, a), get_dataset(store, b)
    for field in ("n_rows", "n_cols", "task", "classes", "n_dev", "n_test", "n_unlabeled", "split_seed"):
        assert getattr(da, field) == getattr(db, field), field
    assert [dataclasses.asdict(c) for c in da.columns] == [dataclasses.asdict(c) for c in db.columns]
    for part in ("dev", "test"):
        Xa, ya = load_split(store, da, part)
        Xb, yb = load_split(store, db, part)
        pd.testing.assert_frame_equal(Xa, Xb)
        pd.testing.assert_series_equal(ya, yb)


def snapshot(store: Store) -> list[tuple]:
    with store.read() as con:
        return (
            con.execute("SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name").fetchall()
            + con.execute("SELECT id, name FROM datasets").fetchall()
        )


def test_a_glob_of_three_csv_files_is_their_concatenation(store: Store, tmp_path: Path, parts: list[Path]) -> None:
    whole = tmp_path / "whole.csv"
    pd.concat([pd.read_csv(p) for p in parts]).to_csv(whole, index=False)
    import_dataset(store, whole, "label", name="whole", seed=3)
    info = import_dataset(store, str(tmp_path / "logs" / "2026-*.csv"), "label", seed=3)
    assert info.name == "logs"  # the pattern's folder
    assert info.n_rows == 360
    assert info.source == f"{tmp_path / 'logs' / '2026-*.csv'} (3 files)"
    # SHA-256 over the files' bytes, in sorted order
    assert info.file_hash == hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    assert any("read 3 files as one table" in n and "2026-01.csv, 2026-02.csv, 2026-03.csv" in n for n in info.notes)
    same_dataset(store, "whole", "logs")


def test_a_directory_is_its_data_files_in_sorted_order(store: Store, tmp_path: Path, parts: list[Path]) -> None:
    import_dataset(store, str(tmp_path / "logs" / "*.csv"), "label", name="glob")
    info = import_dataset(store, tmp_path / "logs", "label")
    assert info.name == "logs" and info.n_rows == 360  # notes.md is not a data file
    same_dataset(store, "glob", "logs")


def test_a_double_star_glob_recurses_into_folders(store: Store, tmp_path: Path) -> None:
    for i, month in enumerate(("01", "02")):
        folder = tmp_path / "2026" / month
        folder.mkdir(parents=True)
        frame(50, seed=i).to_csv(folder / "day.csv", index=False)
    info = import_dataset(store, str(tmp_path / "2026" / "**" / "*.csv"), "label")
    assert info.n_rows == 100 and info.name == "2026"
    assert any("01/day.csv, 02/day.csv" in n for n in info.notes)


def test_one_file_keeps_its_own_hash_and_name(store: Store, parts: list[Path]) -> None:
    info = import_dataset(store, parts[0], "label")
    assert info.name == "2026-01" and info.source == str(parts[0])
    assert info.file_hash == hashlib.sha256(parts[0].read_bytes()).hexdigest()


def test_a_file_whose_name_looks_like_a_pattern_is_that_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a*b[1].csv"
    frame(40, seed=0).to_csv(path, index=False)
    info = import_dataset(store, path, "label")
    assert info.name == "a*b[1]" and info.source == str(path) and info.n_rows == 40


def test_a_glob_of_parquet_files_is_their_concatenation(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    frames = [frame(n, seed=i) for i, n in enumerate((100, 80))]
    for i, f in enumerate(frames):
        f.to_parquet(folder / f"part-{i}.parquet", index=False)
    pd.concat(frames).to_parquet(tmp_path / "whole.parquet", index=False)
    import_dataset(store, tmp_path / "whole.parquet", "label", name="whole")
    info = import_dataset(store, str(folder / "*.parquet"), "label")
    assert info.n_rows == 180 and info.format == "parquet"
    same_dataset(store, "whole", "pq")


def test_files_with_different_columns_are_one_line_naming_the_file(
    store: Store, tmp_path: Path, parts: list[Path]
) -> None:
    before = snapshot(store)
    frame(30, seed=9).rename(columns={"city": "town"}).to_csv(parts[0].parent / "2026-04.csv", index=False)
    with pytest.raises(InputError) as err:
        import_dataset(store, str(parts[0].parent / "2026-*.csv"), "label")
    assert str(err.value) == (
        "2026-04.csv: column 3 is 'town' where 2026-01.csv has 'city'; every file must have the same columns"
    )
    frame(30, seed=9).drop(columns="city").to_csv(parts[0].parent / "2026-04.csv", index=False)
    with pytest.raises(InputError, match=r"^2026-04\.csv: it has 3 columns where 2026-01\.csv has 4"):
        import_dataset(store, parts[0].parent, "label")
    assert snapshot(store) == before


def test_parquet_files_with_different_column_types_are_refused(store: Store, tmp_path: Path) -> None:
    frame(40, seed=0).to_parquet(tmp_path / "a.parquet", index=False)
    frame(40, seed=1).astype({"count": "float64"}).to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(InputError, match=r"^b\.parquet: column 'count' is DOUBLE where a\.parquet has BIGINT"):
        import_dataset(store, str(tmp_path / "*.parquet"), "label")


def test_a_bad_line_in_one_file_names_that_file_and_line(store: Store, parts: list[Path]) -> None:
    with open(parts[1], "a") as fh:
        fh.write("1.5,3,lyon,yes,extra\n")
    with pytest.raises(InputError, match=r"^2026-02\.csv line 92: expected 4 fields, found 5$"):
        import_dataset(store, str(parts[0].parent / "*.csv"), "label")


def test_a_later_file_with_a_wider_type_still_imports_every_row(store: Store, tmp_path: Path) -> None:
    frame(60, seed=0).to_csv(tmp_path / "a.csv", index=False)
    late = frame(60, seed=1)
    late["count"] = late["count"].astype(str)
    late.loc[59, "count"] = "many"
    late.to_csv(tmp_path / "b.csv", index=False)
    try:
        info = import_dataset(store, str(tmp_path / "*.csv"), "label")
    except InputError as e:  # or one line that names the file at fault
        assert str(e).startswith("b.csv") and "'many'" in str(e)
    else:
        assert info.n_rows == 120
        assert next(c for c in info.columns if c.name == "count").sql_type == "VARCHAR"


def test_files_of_different_kinds_are_refused(store: Store, tmp_path: Path) -> None:
    frame(30, seed=0).to_csv(tmp_path / "a.csv", index=False)
    frame(30, seed=0).to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(InputError, match=r"^b\.parquet is Parquet but a\.csv is CSV"):
        import_dataset(store, tmp_path, "label")


def test_a_glob_that_matches_nothing_is_exit_2_one_line(store: Store, tmp_path: Path, capsys) -> None:
    before = snapshot(store)
    pattern = str(tmp_path / "logs" / "2027-*.csv")
    assert mlloop_main(store, "import", pattern, "--target", "label") == 2
    err = capsys.readouterr().err
    assert err == f"mlloop: error: no file matches {pattern!r}\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert mlloop_main(store, "import", str(empty), "--target", "label") == 2
    assert "is a directory with no CSV or Parquet file" in capsys.readouterr().err
    assert snapshot(store) == before
