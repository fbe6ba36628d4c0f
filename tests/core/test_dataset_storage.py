"""Where a dataset's rows are stored: small ones share one table, larger ones get their own (issue 14, part 5).

Either way a reader sees the same rows, values and types (through ``data_layout``), and many small
imports neither add a table each nor grow the store by a DuckDB block each.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import core.data.importing as importing_mod
from core.data.frames import load_split, read_rows
from core.data.importing import import_dataset
from core.store import Store
from core.store.datasets import SHARED_MAX_VALUES, SHARED_SLOTS, SHARED_TABLE, data_layout
from tests.conftest import REPO, write_csv


def _tables(store: Store) -> list[str]:
    with store.read() as con:
        return [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]


def _layout(store: Store, info):
    with store.read() as con:
        return data_layout(con, info)


def _tricky(n: int = 40) -> pd.DataFrame:
    """Values whose text must read back exactly: long floats, huge integers, signs, dates, text."""
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "f": np.where(np.arange(n) % 7 == 0, np.nan, rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)),
            "i": [2**62 + k if k % 2 else -(2**40) - k for k in range(n)],
            "neg zero": [-0.0 if k % 3 else 1e-310 for k in range(n)],
            "when": pd.date_range("1969-12-31 23:59:58.123456", periods=n, freq="37h").astype(str),
            "day": pd.date_range("2024-02-28", periods=n, freq="D").strftime("%Y-%m-%d"),
            "flag": ["true" if k % 2 else "false" for k in range(n)],
            "text": ["", "a,b", 'quo"te', "ünï", " pad ", "NULL-ish", "é\u202e", "1e5"] * (n // 8),
            "label": ["yes", "no"] * (n // 2),
        }
    )


def test_a_small_dataset_shares_one_table_and_reads_back_as_a_table_of_its_own_would(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = write_csv(tmp_path / "tricky.csv", _tricky())
    shared = import_dataset(store, csv, "label", name="shared")
    monkeypatch.setattr(importing_mod, "SHARED_MAX_VALUES", 0)  # the same file, stored as a large one is
    own = import_dataset(store, csv, "label", name="own")

    a, b = _layout(store, shared), _layout(store, own)
    assert (a.table, a.row_filter) == (SHARED_TABLE, f"dataset_id = {shared.id}")
    assert (b.table, b.row_filter) == (f"ds_{own.id}", "TRUE")
    assert [(c.name, c.storage, c.sql_type) for c in a.columns] == [(c.name, c.storage, c.sql_type) for c in b.columns]
    assert {c.sql_type for c in a.columns} >= {"DOUBLE", "BIGINT", "TIMESTAMP", "DATE", "BOOLEAN", "VARCHAR"}
    for part in ("dev", "test"):
        (xa, ya), (xb, yb) = load_split(store, shared, part), load_split(store, own, part)
        pd.testing.assert_frame_equal(xa, xb)
        pd.testing.assert_series_equal(ya, yb)
    assert read_rows(store, shared, limit=100) == read_rows(store, own, limit=100)
    with store.read() as con:  # the stored values, typed, equal: -0.0 keeps its sign, 2**62 + 1 every digit
        same = f"SELECT * FROM {a.relation} EXCEPT ALL SELECT * FROM {b.relation}"
        assert con.execute(f"SELECT count(*) FROM ({same})").fetchone()[0] == 0
        signs = f"SELECT list(signbit(c2) ORDER BY __row) FROM {a.relation}"
        assert con.execute(signs).fetchone()[0] == [k % 3 != 0 for k in range(40)]


def test_a_filter_on_a_shared_value_never_reads_another_datasets_text(store: Store, tmp_path: Path) -> None:
    # c0 holds text in one dataset and numbers in the other: a filter on the number must not fail
    import_dataset(store, write_csv(tmp_path / "t.csv", pd.DataFrame({"w": ["abc"] * 12, "y": [0, 1] * 6})), "y")
    info = import_dataset(store, write_csv(tmp_path / "n.csv", pd.DataFrame({"v": range(12), "y": [0, 1] * 6})), "y")
    layout = _layout(store, info)
    with store.read() as con:
        assert con.execute(f"SELECT count(*) FROM {layout.relation} WHERE c0 > 5").fetchone()[0] == 6


def test_datasets_too_wide_too_long_or_of_other_types_get_a_table_of_their_own(store: Store, tmp_path: Path) -> None:
    wide = pd.DataFrame({f"x{i}": range(12) for i in range(SHARED_SLOTS)} | {"y": [0, 1] * 6})
    long = pd.DataFrame({"x": np.arange(SHARED_MAX_VALUES // 2 + 1), "y": np.arange(SHARED_MAX_VALUES // 2 + 1) % 2})
    tz = tmp_path / "tz.parquet"
    stamps = pd.date_range("2024-01-01", periods=12, freq="h", tz="Europe/Paris")
    pd.DataFrame({"t": stamps, "y": [0, 1] * 6}).to_parquet(tz)
    files = {"wide": write_csv(tmp_path / "w.csv", wide), "long": write_csv(tmp_path / "l.csv", long), "tz": tz}
    for name, path in files.items():
        info = import_dataset(store, path, "y", name=name)
        assert _layout(store, info).table == f"ds_{info.id}", name
        assert load_split(store, info)[0].shape[0] == info.n_dev
    with store.read() as con:
        assert con.execute(f"SELECT count(*) FROM {SHARED_TABLE}").fetchone()[0] == 0


def _readme_bound_kb() -> float:
    readme = (REPO / "README.md").read_text()
    found = re.search(r"add less than \*\*(\d+) KB\*\* to the store each", readme)
    assert found, "the README states the per-dataset overhead"
    return float(found.group(1))


def test_many_small_imports_add_no_table_and_stay_under_the_readmes_bound(store: Store, tmp_path: Path) -> None:
    # README (Where data goes): a small dataset adds less than the stated KB to the store. Each import
    # is its own transaction and checkpoint, as `mlloop import` makes it; before, each cost ~270 KB.
    csv = tmp_path / "ten.csv"
    csv.write_text("a,b,c,label\n" + "".join(f"{i},{i / 2},x{i % 3},{'yes' if i % 2 else 'no'}\n" for i in range(10)))
    import_dataset(store, csv, "label", name="first")
    tables, before = _tables(store), store.path.stat().st_size
    n = 200
    for i in range(n):
        import_dataset(store, csv, "label", name=f"d{i}")
    assert _tables(store) == tables
    assert not Path(f"{store.path}.wal").exists()
    per_dataset_kb = (store.path.stat().st_size - before) / n / 1024
    assert per_dataset_kb < _readme_bound_kb(), per_dataset_kb
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.execute(f"SELECT count(DISTINCT dataset_id) FROM {SHARED_TABLE}").fetchone()[0] == n + 1
