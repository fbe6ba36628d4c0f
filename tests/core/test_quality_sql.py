"""The structure checks run as SQL inside DuckDB: each finding equals what pandas says of the rows
``load_split`` gives, on a version too, and a large dataset's rows never all reach Python."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.analysis.findings import MAX_ROWS, percent
from core.analysis.quality import check_quality
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.data.versions import create_version, edit_from_args
from core.store import Store
from core.store.datasets import get_dataset
from tests.conftest import REPO, write_csv

STRUCTURE = ("missing", "constant", "near_constant", "identifier", "high_cardinality", "duplicates")
STRUCTURE += ("conflicting_labels", "class_imbalance")


def _planted(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Every structure problem at once, and the equalities pandas has: NaN equals NaN, -0.0 equals 0.0."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "num_na": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n).round(2)),
            "txt_na": np.where(rng.random(n) < 0.1, None, rng.choice(["a", "b", "c"], n)),
            "const": 7.0,
            "near": np.where(np.arange(n) % 100 == 3, 1.0, 0.0),  # 99% zeros
            "near_na": np.where(np.arange(n) % 90 == 5, "x", None),  # over 98% missing: the top value is missing
            "zero": np.where(rng.random(n) < 0.5, -0.0, 0.0),  # one value to pandas: constant
            "small": rng.integers(0, 3, n).astype(float),
            "city": [f"c{i}" for i in rng.integers(0, 60, n)],  # 60 categories
            "y": rng.choice(["p", "q", "r"], n, p=[0.8, 0.15, 0.05]),
        }
    )
    other = {"p": "q", "q": "r", "r": "p"}
    copies = frame.iloc[[3, 4, 5, 5, 6]].copy()  # duplicates (row 6 has no num_na: NaN equals NaN)
    copies["zero"] = -copies["zero"]  # ... and -0.0 equals 0.0
    ties = frame.iloc[10:20].copy()  # one row of each label: no majority, dropped
    ties["y"] = ties["y"].map(other)
    again = frame.iloc[20:30]  # a copy with the same label and one with another: two to one,
    outvoted = frame.iloc[20:30].copy()  # the outvoted row is relabeled
    outvoted["y"] = outvoted["y"].map(other)
    planted = pd.concat([frame, copies, ties, again, outvoted], ignore_index=True)
    planted.loc[6, "num_na"] = np.nan
    planted.loc[len(frame) + 4, "num_na"] = np.nan
    planted["row_id"] = np.arange(len(planted)) + 1000  # a dense counter: an identifier
    return planted


def _first(index: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in list(index)[:MAX_ROWS])


def _reference(store: Store, name: str, ids: list[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What pandas says of ``load_split``'s rows: (kind, column) -> (rows, n_rows, value, message, edit),
    written from the findings' definitions (README), not from the code under test."""
    info = get_dataset(store, name)
    (X_dev, y_dev), (X_test, y_test) = load_split(store, info, "dev"), load_split(store, info, "test")
    X, y = pd.concat([X_dev, X_test]), pd.concat([y_dev, y_test])  # the order rows are listed in
    in_test = pd.Series(X.index.isin(X_test.index), index=X.index)
    n = len(X)
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    for col in X.columns:
        s = X[col]
        if s.isna().any():
            k = int(s.isna().sum())
            out["missing", col] = (
                _first(X.index[s.isna()]),
                k,
                k / n,
                f"{col}: {k} of {n} values missing ({percent(k / n)})",
            )
        counts = s.value_counts(dropna=False)
        if len(counts) == 1:
            out["constant", col] = ((), 0, 1.0, None, ("--drop-columns", col))
        elif counts.iloc[0] / n >= 0.98:
            rare = s.notna() if pd.isna(counts.index[0]) else s != counts.index[0]
            out["near_constant", col] = (_first(X.index[rare]), int(rare.sum()), counts.iloc[0] / n, None)
        if s.dtype == object and 30 < s.nunique() < s.notna().sum():
            out["high_cardinality", col] = ((), 0, float(s.nunique()), None)
    for col in ids:
        out["identifier", col] = ((), 0, 1.0, None, ("--drop-columns", col))
    x = X.drop(columns=ids)
    key = x.assign(__y=y)
    dup = key.duplicated(keep=False)
    if dup.any():
        by_group = in_test[dup].groupby([key[dup][c] for c in key.columns], dropna=False)
        n_extra, across = int(dup.sum()) - by_group.ngroups, int((by_group.nunique() > 1).sum())
        message = f"{n_extra} duplicate rows " + (
            f"(identical features and target); {across} groups appear in both the development and the test rows, "
            "so the test score is optimistic"
            if across
            else f"({percent(n_extra / n)}): identical features and target"
        )
        edit = (("--drop-columns", ",".join(ids)) if ids else ()) + ("--drop-duplicates",)
        out["duplicates", ""] = (_first(X.index[dup]), int(dup.sum()), n_extra / n, message, edit)
    if not info.is_classification:
        return out
    bad = y.groupby([x[c] for c in x.columns], dropna=False).transform("nunique") > 1
    if bad.any():
        n_groups, n_bad = len(x[bad].drop_duplicates()), int(bad.sum())
        message = (
            f"{n_groups} groups of identical feature rows have different labels ({n_bad} rows): no model can get "
            "all of them right"
        )
        out["conflicting_labels", ""] = (_first(X.index[bad]), n_bad, n_bad / n, message, _conflict_edit(x, y, in_test))
    counts = y.value_counts()
    ratio = counts.iloc[0] / counts.iloc[-1]
    if ratio >= 3:
        message = (
            f"classes are imbalanced: {counts.index[0]} has {ratio:.1f}× the rows of {counts.index[-1]} "
            f"({counts.iloc[-1]} rows, {percent(counts.iloc[-1] / counts.sum())})"
        )
        out["class_imbalance", info.target] = ((), 0, ratio, message)
    return out


def _conflict_edit(x: pd.DataFrame, y: pd.Series, in_test: pd.Series) -> tuple[str, ...]:
    """Development rows only: a strict majority relabels the others, a tie drops the group."""
    dev = ~in_test
    drops: list[int] = []
    relabels: list[tuple[int, str]] = []
    for _, labels in y[dev].groupby([x[dev][c] for c in x.columns], dropna=False):
        counts = labels.value_counts()
        if len(counts) < 2:
            continue
        if counts.iloc[0] > counts.iloc[1]:
            relabels += [(int(r), str(counts.index[0])) for r in labels.index[labels != counts.index[0]]]
        else:
            drops += [int(r) for r in labels.index]
    args: tuple[str, ...] = ("--drop-rows", ",".join(map(str, sorted(drops)))) if drops else ()
    return args + (("--relabel", *(f"{r}={label}" for r, label in sorted(relabels))) if relabels else ())


def _structure(store: Store, name: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """check_quality's structure findings in _reference's shape (message and edit where it has them)."""
    found = {}
    for f in check_quality(store, name, mislabeled=False):
        if f.kind in STRUCTURE:
            found[f.kind, f.columns[0] if f.columns else ""] = (f.rows, f.n_rows, f.value, f.message, f.edit)
    return found


def _same(found: dict, expected: dict) -> None:
    assert set(found) == set(expected)
    for key, want in expected.items():
        rows, n_rows, value, message, edit = found[key]
        assert (rows, n_rows) == want[:2], key
        assert value == want[2], key
        if want[3] is not None:
            assert message == want[3], key
        if len(want) > 4:
            assert edit == want[4], key


def test_structure_findings_equal_pandas_on_the_loaded_rows(store, tmp_path):
    frame = _planted()
    import_dataset(store, write_csv(tmp_path / "planted.csv", frame), "y", use="row_id")
    found = _structure(store, "planted")
    _same(found, _reference(store, "planted", ["row_id"]))

    # What was planted is there (so the comparison above compared something).
    assert {k for k in found if k[0] == "constant"} == {("constant", "const"), ("constant", "zero")}
    assert {k for k in found if k[0] == "near_constant"} == {("near_constant", "near"), ("near_constant", "near_na")}
    assert set(found["near_constant", "near_na"][0]) == set(frame.index[frame["near_na"] == "x"])
    assert {k[1] for k in found if k[0] == "missing"} == {"num_na", "txt_na", "near_na"}
    assert ("identifier", "row_id") in found and ("high_cardinality", "city") in found
    assert "appear in both the development and the test rows" in found["duplicates", ""][3]
    conflict = found["conflicting_labels", ""][4]
    assert conflict[0] == "--drop-rows" and "--relabel" in conflict
    assert found["class_imbalance", "y"][2] >= 3


def test_structure_findings_of_a_version_equal_pandas_on_its_rows(store, tmp_path):
    import_dataset(store, write_csv(tmp_path / "planted.csv", _planted(seed=1)), "y", use="row_id")
    dev = list(load_split(store, get_dataset(store, "planted"), "dev")[0].index)
    edit = ("--drop-columns", "small", "--drop-rows", ",".join(map(str, dev[:40])))
    version = create_version(store, "planted", edit_from_args((*edit, "--relabel", f"{dev[50]}=r", f"{dev[51]}=q")))
    found = _structure(store, version.name)
    _same(found, _reference(store, version.name, ["row_id"]))
    assert not {dev[0], dev[39]} & {r for f in found.values() for r in f[0]}  # dropped rows are gone


def test_regression_duplicates_compare_targets_as_numbers(store, tmp_path):
    rng = np.random.default_rng(2)
    n = 300
    frame = pd.DataFrame(
        {"a": rng.integers(0, 5, n).astype(float), "t": rng.choice(["u", "v"], n), "y": rng.normal(size=n).round(3)}
    )
    frame.loc[5, "y"] = -0.0
    frame.loc[6] = [frame.a[5], frame.t[5], 0.0]  # a duplicate of row 5: -0.0 equals 0.0
    import_dataset(store, write_csv(tmp_path / "reg.csv", frame), "y", task="regression")
    found = _structure(store, "reg")
    _same(found, _reference(store, "reg", []))
    assert {5, 6} <= set(found["duplicates", ""][0])


def test_a_stored_nan_is_missing_like_a_null(store, tmp_path):
    """Parquet keeps NaN apart from null; load_split gives NaN for both, and the checks, which read the
    stored values, count both as one missing value (the import stores a NaN as NULL)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 60
    x = [float("nan") if i % 10 == 0 else None if i % 10 == 5 else float(i % 4) for i in range(n)]
    y = ["a" if i % 3 else "b" for i in range(n)]
    x[1], y[1] = None, y[10]  # row 1 repeats row 10 (NaN there): a duplicate
    pq.write_table(pa.table({"x": pa.array(x, from_pandas=False), "y": y}), tmp_path / "nan.parquet")
    import_dataset(store, tmp_path / "nan.parquet", "y")
    found = _structure(store, "nan")
    _same(found, _reference(store, "nan", []))
    assert found["missing", "x"][1] == 13


MEASURE = """
import re, sys
from pathlib import Path
from core.analysis.quality import check_quality
from core.store import Store

def peak_mb():  # this process's own peak (ru_maxrss would count the parent's, inherited across fork and exec)
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) // 1024

store = Store(sys.argv[1])
check_quality(store, "small", model_rows=1000, mislabeled=False)  # imports, first fits
before = peak_mb()
found = check_quality(store, "big", model_rows=1000, mislabeled=False)
print(peak_mb() - before, before, *(f"{f.kind}:{f.n_rows}" for f in found))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak memory in /proc/self/status")
def test_a_large_dataset_is_checked_without_loading_its_rows(tmp_path):
    """300,000 rows of eight text columns: loaded into pandas they take about 350 MB more (measured before
    the structure checks moved into DuckDB); checked in SQL, with the model checks' samples of 1,000 rows
    loaded alone, the process grows by a few tens of MB."""
    rng = np.random.default_rng(0)
    distinct, copies = 3000, 100
    base = pd.DataFrame(
        {f"t{j}": [f"{'v' * 30}-{j}-{i:06d}" for i in rng.integers(0, 200, distinct)] for j in range(8)}
    )
    base["a"] = rng.normal(size=distinct).round(3)
    base["y"] = np.where(base["a"] > 0, "p", "q")
    base.iloc[np.tile(np.arange(distinct), copies)].reset_index(drop=True).to_parquet(tmp_path / "big.parquet")
    base.iloc[:300].to_parquet(tmp_path / "small.parquet")
    store = Store(tmp_path / "store.duckdb")
    big = import_dataset(store, tmp_path / "big.parquet", "y")
    import_dataset(store, tmp_path / "small.parquet", "y")
    assert big.n_dev + big.n_test == distinct * copies

    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MEASURE), str(tmp_path / "store.duckdb")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    grown_mb, _, *kinds = r.stdout.split()
    assert int(grown_mb) < 150, r.stdout
    assert f"duplicates:{distinct * copies}" in kinds  # every row has copies: all were compared
    assert "sampled:1000" in kinds


def test_the_structure_checks_of_many_columns_never_make_a_concurrent_writer_fail(store, tmp_path):
    """500 columns are over a thousand queries: as one read they held the store for seconds, and a run's
    fold write (here a writer giving up after half a second locked) failed or stalled behind them."""
    from core.analysis.structure import labeled_rows, structure_findings
    from tests.concurrency import start_writer, stop_writer

    info = import_dataset(store, REPO / "sample_data" / "wide.csv", "label", name="wide")
    stop = tmp_path / "stop"
    writer = start_writer(store, stop, lock_timeout=0.5)
    try:
        start = time.monotonic()
        with store.reading():  # as check_quality reads
            with store.read() as con:
                rows = labeled_rows(con, info)
            findings, _ = structure_findings(store, rows, info, info.n_dev + info.n_test)
        took = time.monotonic() - start
    finally:
        writes = stop_writer(writer, stop)
    assert len(rows.names) == 500 and findings == []  # every column checked; the sample is clean
    assert took > 2 * 0.5, "too quick to hold the store past the writer's lock timeout"
    assert writes > 5


@pytest.mark.parametrize("budget", ["64MB", "1"])
def test_the_grouping_checks_run_within_the_memory_budget_or_without_it(store, tmp_path, monkeypatch, budget):
    """Duplicates and conflicting labels group every row by every feature: on a DuckDB instance of
    their own, within the dataset's memory budget (spilling to disk); a budget below what DuckDB needs
    at all (one byte) runs them again without it. Either way the findings equal pandas'."""
    from core.data.memory import parse_size

    import_dataset(store, write_csv(tmp_path / "planted.csv", _planted(seed=2)), "y", use="row_id")
    monkeypatch.setenv("MLLOOP_MEMORY_BUDGET", str(parse_size(budget)))
    found = _structure(store, "planted")
    _same(found, _reference(store, "planted", ["row_id"]))
    assert ("duplicates", "") in found and found["conflicting_labels", ""][4][0] == "--drop-rows"
