"""The store's public views (README: "Use the store from other tools"): their columns, their numbers, the rows
views, views for stores made before them, read-only queries, and the exported tables."""

from __future__ import annotations

import os
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from core.data.frames import read_rows
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines
from core.report.tables import csv_lines, export_table, json_records, neutralise
from core.store import MIGRATIONS, SCHEMA_VERSION, Store, connection
from core.store.datasets import get_dataset
from core.store.query import run_query
from core.store.runs import get_run, list_runs
from core.store.views import TABLE_VIEWS, rows_view_columns, rows_view_name
from tests.conftest import REPO, make_runs_store, write_binary_csv

README = (REPO / "README.md").read_text(encoding="utf-8")
PUBLIC = (*TABLE_VIEWS.values(),)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A binary dataset with dummy and tree runs, and a regression dataset (named like a formula) with a
    dummy run, whose R² is negative."""
    folder = tmp_path_factory.mktemp("views")
    store = make_runs_store(folder / "s.duckdb", write_binary_csv(folder / "binary.csv"), "label", "dummy,tree")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=60).round(3), "=cmd": ["@x", "-y", "+z", "ok"] * 15, "A": 1})
    frame["y"] = frame["a"] * 2 + rng.normal(size=60)
    frame.to_csv(folder / "reg.csv", index=False)
    import_dataset(store, folder / "reg.csv", "y", name="=HYPERLINK(1)")
    run_baselines(store, "=HYPERLINK(1)", "dummy", folds=3, jobs=1)
    return store


def _columns(store: Store, view: str) -> list[str]:
    with store.read() as con:
        return [d[0] for d in con.execute(f'SELECT * FROM "{view}" LIMIT 0').description]


def _readme_columns(view: str) -> list[str]:
    """The columns the README's schema table lists for ``view``, in order."""
    row = re.search(rf"^\| `{view}` \|(.*)\|$", README, re.MULTILINE)
    assert row, f"README has no schema row for {view}"
    return re.findall(r"`([^`]+)`", row.group(1))


@pytest.mark.parametrize("view", PUBLIC)
def test_each_view_has_the_columns_the_readme_lists(db, view):
    columns = _columns(db, view)
    documented = _readme_columns(view)
    if view == "runs_v":  # the README names the metrics, then the four columns each has by pattern
        suffixes = ("_validation_mean", "_validation_std", "_train_mean", "_train_std")
        per_metric = [c for c in columns if c.endswith(suffixes)]
        metrics = list(dict.fromkeys(c.rsplit("_", 2)[0] for c in per_metric))
        assert metrics == ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "rmse", "mae", "r2"]
        assert per_metric == [m + s for m in metrics for s in suffixes]
        fixed = [c for c in columns if c not in per_metric]
        assert documented == fixed + metrics + [f"<metric>{s}" for s in suffixes]
    else:
        assert columns == documented


def test_runs_v_and_run_metrics_v_hold_what_the_runs_listing_holds(db):
    runs = list_runs(db)
    with db.read() as con:
        columns = "run_id, model, status, folds_done, accuracy_validation_mean, accuracy_train_std, r2_validation_mean"
        wide = {r[0]: r[1:] for r in con.execute(f"SELECT {columns} FROM runs_v").fetchall()}
        long = {
            (r[0], r[1]): r[2:]
            for r in con.execute(
                "SELECT run_id, metric, validation_mean, validation_std, n FROM run_metrics_v"
            ).fetchall()
        }
    assert sorted(wide) == sorted(r.id for r in runs)
    for run in runs:
        model, status, done, acc, acc_train_std, r2 = wide[run.id]
        assert (model, status, done) == (run.model, run.status, run.n_folds_done)
        if run.task == "binary":
            assert acc == pytest.approx(run.summaries["accuracy"].val_mean)
            assert acc_train_std == pytest.approx(run.summaries["accuracy"].train_std)
            assert r2 is None
        else:
            assert r2 == pytest.approx(run.summaries["r2"].val_mean) and r2 < 0  # a dummy's R²: below zero
        for metric, s in run.summaries.items():
            assert long[run.id, metric] == pytest.approx((s.val_mean, s.val_std, s.n))


def test_fold_scores_v_has_every_fold_score_with_its_model(db):
    run = get_run(db, 2)
    with db.read() as con:
        rows = con.execute(
            "SELECT fold_index, repeat, fold, metric, train, validation, model, dataset FROM fold_scores_v "
            "WHERE run_id = 2 ORDER BY fold_index, metric"
        ).fetchall()
    expected = sorted(
        (f.index, f.repeat, f.fold, m, f.train[m], f.validation[m], "tree", "binary")
        for f in run.fold_scores
        for m in f.validation
    )
    assert rows == pytest.approx(expected)


def test_a_rows_view_has_the_file_names_and_the_stored_rows(db):
    for name in ("binary", "=HYPERLINK(1)"):
        dataset = get_dataset(db, name)
        names, rows = read_rows(db, dataset, limit=1000)
        with db.read() as con:
            view = con.execute("SELECT rows_view FROM datasets_v WHERE name = ?", [name]).fetchone()[0]
            cursor = con.execute(f'SELECT * FROM "{view}" ORDER BY __row')
            columns = [d[0] for d in cursor.description]
            got = cursor.fetchall()
        assert view == rows_view_name(dataset.id)
        assert columns == rows_view_columns(list(names))
        assert got == rows
    assert columns == ["__row", "__part", "a", "=cmd", "A_1", "y"]  # "A" is "a" to DuckDB


def test_rows_view_names_differing_only_in_case_get_a_suffix():
    assert rows_view_columns(["Age", "age", "AGE", "age_1", "__row"]) == [
        "__row", "__part", "Age", "age_1", "AGE_2", "age_1_1", "__row_1"
    ]  # fmt: skip


def _views(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}


def test_a_store_from_before_the_views_gets_them_when_opened(tmp_path):
    step = next(i for i, sql in enumerate(MIGRATIONS) if "CREATE VIEW runs_v" in sql)
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:  # what an mlloop from before the views made: the steps before theirs
        for sql in MIGRATIONS[:step]:
            con.execute(sql)
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(step)])
    assert not _views(path)
    assert Store(path).schema_version() == SCHEMA_VERSION  # opening it migrated it
    assert set(PUBLIC) <= _views(path)


def test_every_migration_writes_the_rows_views_again(tmp_path, monkeypatch):
    """A dataset imported before the rows views (or moved by a later step) gets its view when a store
    is next migrated: the views are written from the data layout after the steps, not by a step."""
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, write_binary_csv(tmp_path / "binary.csv"), "label")
    with store.write() as con:
        con.execute(f'DROP VIEW "{rows_view_name(1)}"')
    assert rows_view_name(1) not in _views(store.path)
    monkeypatch.setattr(connection, "MIGRATIONS", (*MIGRATIONS, "SELECT 1"))  # a next mlloop's new step
    monkeypatch.setattr(connection, "SCHEMA_VERSION", len(MIGRATIONS) + 1)
    with Store(store.path).read() as con:
        n = con.execute(f'SELECT count(*) FROM "{rows_view_name(1)}"').fetchone()[0]
    assert n == 240


@pytest.mark.parametrize(
    "sql, word",
    [
        ("DROP TABLE runs", "DROP"),
        ("INSERT INTO meta VALUES ('x', 'y')", "INSERT"),
        ("ATTACH 'other.duckdb' AS other", "ATTACH"),
        ("COPY runs TO 'runs.csv'", "COPY"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("EXPLAIN ANALYZE DELETE FROM runs", "DELETE"),
        ("SET enable_external_access = true", "SET"),
        ("SELECT 1; DROP TABLE runs", "one query"),
    ],
)
def test_a_query_that_would_change_anything_is_refused_by_name(db, sql, word, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = db.path.read_bytes()
    with pytest.raises(InputError, match=word):
        run_query(db, sql)
    assert db.path.read_bytes() == before and not list(tmp_path.iterdir())


def test_the_connection_itself_reads_no_other_file(db, tmp_path):
    """Even a SELECT cannot reach past the store: file access is off on the connection, not just refused by
    the statement check."""
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(InputError, match="disabled by configuration"):
        run_query(db, f"SELECT * FROM read_csv('{secret}')")
    with db.sandboxed() as con:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM runs")
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET enable_external_access = true")


def test_queries_read_the_views(db):
    result = run_query(db, "SELECT model, avg(validation) AS v FROM fold_scores_v WHERE metric = 'accuracy' "
                           "AND dataset = 'binary' GROUP BY model ORDER BY model")  # fmt: skip
    assert result.columns == ("model", "v")
    runs = {r.model: r.summaries["accuracy"].val_mean for r in list_runs(db) if r.dataset == "binary"}
    assert [r[0] for r in result.rows] == ["dummy", "tree"]
    assert [r[1] for r in result.rows] == pytest.approx([runs["dummy"], runs["tree"]])
    records = json_records(run_query(db, "SELECT params, created_at, 'NaN'::DOUBLE AS x FROM runs_v LIMIT 1"))
    assert records[0]["params"] == {} and isinstance(records[0]["created_at"], str) and records[0]["x"] is None


def test_a_query_holds_the_store_only_while_it_runs(db):
    run_query(db, "SELECT count(*) FROM runs_v")
    with db.write() as con:  # a writer in this process is not kept waiting after the query
        con.execute("SELECT 1")
    con = duckdb.connect(str(db.path))  # nor is a writer in any other: the file is not locked
    con.close()


def test_csv_cells_that_could_start_a_formula_are_neutralised(db, tmp_path):
    assert [neutralise(c) for c in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", "", "'q")] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "ok", "", "'q"
    ]  # fmt: skip
    path = export_table(db, "datasets", tmp_path / "datasets.csv")
    frame = pd.read_csv(path)
    assert list(frame["name"]) == ["binary", "'=HYPERLINK(1)"]
    runs = pd.read_csv(export_table(db, "runs", tmp_path / "runs.csv"))
    r2 = runs.loc[runs["task"] == "regression", "r2_validation_mean"]
    assert r2.dtype == np.float64 and (r2 < 0).all()  # a negative number stays a number
    with db.read() as con:
        expected = con.execute("SELECT name FROM datasets_v ORDER BY dataset_id").fetchall()
    lines = list(csv_lines(run_query(db, "SELECT name, -1.5 AS n FROM datasets_v ORDER BY dataset_id")))
    assert lines == ["name,n", f"{expected[0][0]},-1.5", "'=HYPERLINK(1),-1.5"]


def test_parquet_tables_hold_the_views_exactly(db, tmp_path):
    for name, view in TABLE_VIEWS.items():
        path = export_table(db, name, tmp_path / f"{name}.parquet")
        with db.read() as con:
            expected = con.execute(f"SELECT * FROM {view} ORDER BY ALL")
            columns, rows = [d[0] for d in expected.description], expected.fetchall()
        back = duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}') ORDER BY ALL")
        assert [d[0] for d in back.description] == columns
        assert back.fetchall() == rows
        assert len(pd.read_parquet(path)) == len(rows)


def test_export_table_refuses_what_export_refuses(db, tmp_path):
    (tmp_path / "runs.csv").write_text("keep")
    with pytest.raises(InputError, match="already exists"):
        export_table(db, "runs", tmp_path / "runs.csv")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        export_table(db, "runs", fifo, overwrite=True)
    with pytest.raises(InputError, match="choose from: runs"):
        export_table(db, "predictions", tmp_path / "x.csv")
    with pytest.raises(InputError, match=r"\.parquet or \.csv"):
        export_table(db, "runs", tmp_path / "x.xlsx")
    assert (tmp_path / "runs.csv").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.csv", "runs.csv"]
