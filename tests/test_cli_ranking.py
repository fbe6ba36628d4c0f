"""``mlloop import --task ranking --group COL`` and the loop on a ranking dataset, as a user runs them."""

from __future__ import annotations

import json

import pytest

from core.store import Store
from tests.conftest import mlloop_main, run_mlloop
from tests.core.test_ranking import ranking_frame
from tests.test_cli import _assert_clean_failure, _snapshot


def test_bad_ranking_imports_are_one_line_exit_2_and_change_nothing(tmp_path):
    db = tmp_path / "s.duckdb"
    good = tmp_path / "q.csv"
    ranking_frame().to_csv(good, index=False)
    assert run_mlloop("import", str(good), "--target", "relevance", "--name", "first", store=db).returncode == 0
    negative = tmp_path / "neg.csv"
    ranking_frame().assign(relevance=lambda f: f["relevance"] - 1).to_csv(negative, index=False)
    before = _snapshot(db)
    cases = [
        ((str(good), "--target", "relevance", "--task", "ranking"), "--task ranking needs --group"),
        ((str(negative), "--target", "relevance", "--task", "ranking", "--group", "qid"), "integers >= 0"),
        ((str(good), "--target", "relevance", "--task", "ranking", "--group", "query"), "no column 'query'"),
    ]
    for args, fragment in cases:
        _assert_clean_failure(run_mlloop("import", *args, store=db), fragment)
    assert _snapshot(db) == before


def test_import_run_runs_compare_test_and_export_a_ranking_dataset(tmp_path, capsys):
    store = Store(tmp_path / "s.duckdb")
    path = tmp_path / "queries.csv"
    ranking_frame().to_csv(path, index=False)
    assert mlloop_main(store, "import", str(path), "--target", "relevance", "--task", "ranking", "--group", "qid") == 0
    assert "target relevance (ranking)\ngroup qid: " in capsys.readouterr().out
    assert mlloop_main(store, "datasets", "queries", "--json") == 0
    assert json.loads(capsys.readouterr().out)["group"] == "qid"
    assert mlloop_main(store, "run", "queries", "--models", "dummy,linear", "--cv", "3") == 0
    capsys.readouterr()
    assert mlloop_main(store, "runs") == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "ndcg_10" in header and "mrr" in header
    assert mlloop_main(store, "compare", "1", "2") == 0
    assert "on NDCG@10" in capsys.readouterr().out
    assert mlloop_main(store, "curve", "2") == 0  # the learning curve, on the run's folds by query
    assert "validation ndcg_10" in capsys.readouterr().out
    assert mlloop_main(store, "diagnose", "2") == 0
    capsys.readouterr()
    assert mlloop_main(store, "errors", "2") == 0  # as for regression: residuals of the relevance
    assert "residual" in capsys.readouterr().out.lower()
    assert mlloop_main(store, "tune", "2", "--param", "alpha=0.1,10") == 0
    assert "best by mean validation ndcg_10" in capsys.readouterr().out
    assert mlloop_main(store, "test", "2", "--yes") == 0
    test_out = capsys.readouterr().out
    assert all(f"\n{m} " in test_out for m in ("ndcg_5", "ndcg_10", "ndcg", "mrr"))
    assert mlloop_main(store, "export", "2", "--format", "json", "-o", str(tmp_path / "run.json")) == 0
    exported = json.loads((tmp_path / "run.json").read_text())
    assert "ndcg_10" in json.dumps(exported)


def test_the_readme_ranker_specs_run_compare_and_test(tmp_path, capsys):
    """README's LightGBM and XGBoost ranker example on the bundled queries sample."""
    for module in ("xgboost", "lightgbm"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[boosting]')")
    from tests.conftest import REPO

    lgbmr = "lgbmr=lightgbm.LGBMRanker(n_estimators=50, verbose=-1)"
    xgbr = "xgbr=xgboost.XGBRanker(n_estimators=50)"
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert f"`mlloop run queries --model '{lgbmr}' --model '{xgbr}'`" in readme
    store = Store(tmp_path / "s.duckdb")
    queries = str(REPO / "sample_data" / "queries.csv")
    args = ("--target", "relevance", "--task", "ranking", "--group", "query_id")
    assert mlloop_main(store, "import", queries, *args) == 0
    capsys.readouterr()
    # 2 folds: scoring 200 queries one ndcg_score at a time costs more than these fits
    assert (
        mlloop_main(store, "run", "queries", "--model", lgbmr, "--model", xgbr, "--cv", "2", "--jobs", "1", "--json")
        == 0
    )
    runs = json.loads(capsys.readouterr().out)
    assert [(x["model"], x["status"]) for x in runs] == [("lgbmr", "done"), ("xgbr", "done")]
    assert [x["spec"]["class"] for x in runs] == ["lightgbm.sklearn.LGBMRanker", "xgboost.sklearn.XGBRanker"]
    assert all(0 < x["metrics"]["ndcg_10"]["validation_mean"] <= 1 for x in runs)
    assert mlloop_main(store, "compare", "1", "2") == 0
    assert "on NDCG@10" in capsys.readouterr().out
    assert mlloop_main(store, "test", "2", "--yes") == 0  # the test-set fit sorts by query too
    assert "\nndcg_10 " in capsys.readouterr().out
