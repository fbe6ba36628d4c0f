"""Smaller findings of a hostile probe: each a clear answer where there was a wrong one."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from core.analysis.quality import check_quality
from core.data.importing import import_dataset
from core.report.blocks import Table
from core.report.markdown import render_markdown
from tests.conftest import SAMPLES, run_mlloop
from tests.core.test_datasets import snapshot


def test_balanced_classes_with_few_rows_are_not_called_imbalanced(store, tmp_path):
    frame = pd.DataFrame({"x": range(24), "y": ["a", "b", "c"] * 8})  # 8 rows per class, perfectly balanced
    frame.to_csv(tmp_path / "small.csv", index=False)
    import_dataset(store, tmp_path / "small.csv", "y")
    kinds = {f.kind for f in check_quality(store, "small", mislabeled=False, jobs=1)}
    assert "class_imbalance" not in kinds


def test_markdown_table_cells_never_start_a_spreadsheet_formula():
    text = render_markdown(
        [Table(["value", "score"], [['=HYPERLINK("http://x")', "-0.0125"], ["+cmd", "-"], ["-2+3", "1e-05"]])]
    )
    cells = [c.strip() for line in text.splitlines()[2:] if line for c in line.strip("|").split("|")]
    assert cells == ['\\=HYPERLINK("http://x")', "-0.0125", "\\+cmd", "-", "\\-2+3", "1e-05"]


def test_import_from_a_fifo_or_standard_input_is_refused_clearly(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    db = tmp_path / "s.duckdb"
    for source in (str(fifo), "/dev/stdin"):
        r = run_mlloop("import", source, "--target", "y", store=db, timeout=60)
        assert r.returncode == 2 and "not a regular file" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not db.exists()  # refused before the store was even created


@pytest.mark.parametrize(
    ("n_rows", "long_row", "value"),
    [
        (100, 49, '"' + "x\n" * 1_050_000 + '"'),  # quoted over many lines: DuckDB said line 1
        (25_000, 24_000, "x" * 2_100_000),  # past DuckDB's sniffing sample: found by the import's read
    ],
    ids=["quoted-multiline", "after-the-sample"],
)
def test_a_record_over_duckdbs_line_limit_names_its_real_line_and_the_limit(store, tmp_path, n_rows, long_row, value):
    import_dataset(store, SAMPLES / "penguins.csv", "species")  # something the failed import must not touch
    before = snapshot(store)
    path = tmp_path / "long.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("id,text,y\n")
        fh.writelines(f"{i},{value if i == long_row else 'short'},{i % 2}\n" for i in range(n_rows))
    line = long_row + 2  # after the header line, 1-based
    r = run_mlloop("import", str(path), "--target", "y", store=store.path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"long.csv line {line}: the record is " in r.stderr and "limit of 2,000,000 bytes" in r.stderr
    assert snapshot(store) == before
