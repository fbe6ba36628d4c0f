"""Smaller findings of a hostile probe: each a clear answer where there was a wrong one."""

from __future__ import annotations

import os

import pandas as pd

from core.analysis.quality import check_quality
from core.data.importing import import_dataset
from core.report.blocks import Table
from core.report.markdown import render_markdown
from tests.conftest import run_mlloop


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
