"""``mlloop sql`` and ``mlloop export-table`` as a user runs them (README: "Use the store from other tools")."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pandas as pd
import pytest

from core.store import Store
from core.store.runs import get_run, list_runs
from core.store.views import TABLE_VIEWS
from mlloop_tui.cli.sql import TABLES
from tests.conftest import make_runs_store, mlloop_main, write_binary_csv


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("sql")
    return make_runs_store(folder / "s.duckdb", write_binary_csv(folder / "binary.csv"), "label", "dummy,tree")


def test_the_command_knows_every_exportable_view():
    assert TABLES == tuple(TABLE_VIEWS)


def test_sql_prints_a_table_that_fits_the_terminal(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    query = "select run_id, model, accuracy_validation_mean, params, dataset_hash from runs_v order by run_id"
    assert mlloop_main(db, "sql", query) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert lines[-1] == "(2 rows)"
    mean = get_run(db, 2).summaries["accuracy"].val_mean
    assert f"{mean:.6g}" in "\n".join(lines)
    monkeypatch.delenv("COLUMNS")  # piped: every row on one line
    assert mlloop_main(db, "sql", query) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_sql_json_and_csv_give_every_value(db, capsys):
    query = "select model, avg(validation) as accuracy from fold_scores_v where metric = 'accuracy' group by model"
    assert mlloop_main(db, "sql", "--json", query + " order by model") == 0
    rows = json.loads(capsys.readouterr().out)
    expected = {r.model: r.summaries["accuracy"].val_mean for r in list_runs(db)}
    assert [r["model"] for r in rows] == ["dummy", "tree"]
    assert [r["accuracy"] for r in rows] == pytest.approx([expected["dummy"], expected["tree"]], abs=1e-12)
    assert mlloop_main(db, "sql", "--csv", query + " order by model desc") == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["model"], float(r["accuracy"])) for r in table] == pytest.approx(
        [("tree", expected["tree"]), ("dummy", expected["dummy"])]
    )


@pytest.mark.parametrize(
    "query, word",
    [
        ("drop view runs_v", "DROP statements are refused"),
        ("insert into meta values ('a', 'b')", "INSERT statements are refused"),
        ("attach 'other.duckdb' as o", "ATTACH statements are refused"),
        ("copy (select * from runs_v) to 'runs.csv'", "COPY statements are refused"),
        ("install httpfs", "INSTALL and LOAD statements are refused"),
        ("select * from read_parquet('x.parquet')", "disabled by configuration"),
        ("select * from no_such_view", "query failed"),
    ],
)
def test_sql_refusals_are_one_line_exit_2_and_change_nothing(db, capsys, query, word, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = db.path.read_bytes()
    assert mlloop_main(db, "sql", query) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert db.path.read_bytes() == before and not list(tmp_path.iterdir())


def test_export_table_writes_parquet_and_csv_by_extension(db, capsys, tmp_path):
    assert mlloop_main(db, "export-table", "folds", "-o", str(tmp_path / "folds.parquet")) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "folds.parquet")
    with db.read() as con:
        expected = con.execute("select * from folds_v").df()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "folds.parquet"), expected, check_dtype=False)
    assert mlloop_main(db, "export-table", "runs", "-o", str(tmp_path / "runs.csv")) == 0
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 2
    assert mlloop_main(db, "export-table", "runs", "-o", str(tmp_path / "runs.csv")) == 2
    assert "already exists" in capsys.readouterr().err


def test_the_readme_examples_for_duckdb_and_pandas(db):
    """The README's `duckdb -readonly` query and pandas snippet, through DuckDB's Python client."""
    con = duckdb.connect(str(db.path), read_only=True)
    try:
        best = con.execute("select model, accuracy_validation_mean from runs_v order by 2 desc").fetchall()
        folds = con.sql("select * from fold_scores_v where metric = 'accuracy'").df()
    finally:
        con.close()
    assert best[0][0] == max(list_runs(db), key=lambda r: r.summaries["accuracy"].val_mean).model
    assert len(folds) == 6 and set(folds["model"]) == {"dummy", "tree"}
