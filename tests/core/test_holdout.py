"""The locked test set: scores equal a plain fit on dev scored on test; every evaluation is counted."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_squared_error

from core.analysis.holdout import count_test_evaluations, evaluate_on_test, list_test_evaluations
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import build_pipeline, run_baselines
from core.modeling.models import BASELINES
from core.report.serialize import evaluation_to_dict
from core.store import MIGRATIONS, SCHEMA_VERSION, Store


def test_evaluation_fits_on_dev_scores_test_and_is_recorded(store, binary_csv):
    info = import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "tree", params={"tree": {"max_depth": 3}}, folds=3, seed=4)
    e = evaluate_on_test(store, run_id)
    X, y = load_split(store, info, "dev")
    Xt, yt = load_split(store, info, "test")
    pipe = build_pipeline(BASELINES["tree"], info, X, {"max_depth": 3}, 4).fit(X, y)
    assert e.scores["accuracy"] == pytest.approx(accuracy_score(yt, pipe.predict(Xt)))
    assert (e.n_train, e.n_test, e.ordinal, e.warning) == (info.n_dev, info.n_test, 1, None)
    assert set(e.scores) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"}
    (listed,) = list_test_evaluations(store, dataset="binary")
    assert listed.id == e.id and listed.scores == pytest.approx(e.scores) and listed.ordinal == 1


def test_the_second_evaluation_on_a_dataset_carries_a_warning(store, binary_csv, regression_csv):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    a, b = run_baselines(store, "binary", "dummy,linear", folds=3)
    (r,) = run_baselines(store, "regression", "linear", folds=3)
    first = evaluate_on_test(store, a)
    assert first.warning is None and count_test_evaluations(store, "binary") == 1
    second = evaluate_on_test(store, b)
    assert second.ordinal == 2 and second.earlier_runs == (a,)
    assert "no longer an unbiased estimate" in second.warning and f"run {a}" in second.warning
    third = evaluate_on_test(store, a)  # the same run again still counts
    assert third.ordinal == 3 and third.warning
    other = evaluate_on_test(store, r)  # counted per dataset
    assert other.ordinal == 1 and other.warning is None and set(other.scores) == {"rmse", "mae", "r2"}
    assert count_test_evaluations(store, "binary") == 3 and count_test_evaluations(store, "regression") == 1
    assert [e.ordinal for e in list_test_evaluations(store, dataset="binary")] == [1, 2, 3]
    assert [e.id for e in list_test_evaluations(store, run_id=a)] == [first.id, third.id]
    payload = evaluation_to_dict(second)
    assert payload["evaluation_number"] == 2 and payload["warning"] == second.warning


def test_regression_scores_equal_plain_sklearn(store, regression_csv):
    info = import_dataset(store, regression_csv, "y")
    (run_id,) = run_baselines(store, "regression", "linear", folds=3)
    e = evaluate_on_test(store, run_id)
    X, y = load_split(store, info, "dev")
    Xt, yt = load_split(store, info, "test")
    pipe = build_pipeline(BASELINES["linear"], info, X, {}, 0).fit(X, y)
    assert e.scores["rmse"] == pytest.approx(np.sqrt(mean_squared_error(yt, pipe.predict(Xt))))


def test_an_unknown_run_is_an_input_error_and_records_nothing(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    with pytest.raises(InputError, match="no run"):
        evaluate_on_test(store, 42)
    with pytest.raises(InputError, match="run id"):
        evaluate_on_test(store, "abc")
    assert list_test_evaluations(store) == []


def test_a_version_1_store_is_upgraded_in_place_keeping_its_data(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO curve_points VALUES (7, 'learning', 'train_size', 20, 0, 'accuracy', 0.9, 0.8)")
    con.close()
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION  # every later step applied
    with store.read() as c:
        assert c.execute("SELECT run_id, x, label, value FROM curve_points").fetchall() == [(7, 20.0, None, None)]
        tables = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"dataset_targets", "test_evaluations", "searches"} <= tables


def _sorted_penguins(tmp_path):
    import pandas as pd

    from tests.conftest import SAMPLES

    path = tmp_path / "penguins_by_species.csv"  # file order by class: a batch of test rows holds one class
    pd.read_csv(SAMPLES / "penguins.csv").sort_values("species", kind="stable").to_csv(path, index=False)
    return path


@pytest.mark.parametrize("task", ["multiclass", "regression", "ranking"])
def test_test_rows_over_the_memory_budget_are_scored_in_batches_as_if_at_once(store, tmp_path, monkeypatch, task):
    from core.analysis.holdout import holdout_batch_rows
    from core.data.sampling import MEMORY_BUDGET_ENV, fit_bytes
    from tests.core.test_ranking import ranking_frame

    if task == "multiclass":
        info = import_dataset(store, _sorted_penguins(tmp_path), "species")
    elif task == "regression":
        path = tmp_path / "reg.csv"
        rng = np.random.default_rng(0)
        x = rng.normal(size=(400, 3))
        import pandas as pd

        pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ [1.0, -2.0, 0.5] + rng.normal(size=400)).to_csv(
            path, index=False
        )
        info = import_dataset(store, path, "y")
    else:
        path = tmp_path / "rank.csv"
        ranking_frame(n_queries=40).to_csv(path, index=False)
        info = import_dataset(store, path, "relevance", task="ranking", group="qid")
    models = "forest" if task != "ranking" else "boosting"
    (run_id,) = run_baselines(store, info.name, models, folds=3)
    at_once = evaluate_on_test(store, run_id)
    monkeypatch.setenv(MEMORY_BUDGET_ENV, str(fit_bytes(info, 1) * (info.n_test // 4 + 1)))
    assert holdout_batch_rows(info) < info.n_test / 3  # four batches or more
    batched = evaluate_on_test(store, run_id)
    assert batched.n_test == at_once.n_test == info.n_test
    assert batched.scores.keys() == at_once.scores.keys() and len(batched.scores) >= 3
    for metric, value in at_once.scores.items():
        assert batched.scores[metric] == pytest.approx(value, rel=1e-12, nan_ok=True), metric
