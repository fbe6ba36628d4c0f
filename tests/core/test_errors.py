"""Error analysis over stored out-of-fold predictions: the numbers, the slices, the command and the exports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from statsmodels.stats.proportion import proportions_ztest

from core.analysis.errors import analyse_run, errors_to_dict
from core.analysis.slices import weakest_slices
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines
from core.report.export import export_runs
from core.store.datasets import get_dataset
from core.store.predictions import NO_PREDICTIONS, load_predictions
from tests.conftest import SAMPLES, run_mlloop


@pytest.fixture
def penguins_run(store):
    import_dataset(store, SAMPLES / "penguins.csv", "species")
    (run_id,) = run_baselines(store, "penguins", ["linear"], folds=3, jobs=1)
    return store, run_id


def test_classification_analysis_matches_scikit_learn_on_the_stored_predictions(penguins_run):
    store, run_id = penguins_run
    info = get_dataset(store, "penguins")
    X, y = load_split(store, info, "dev")
    stored = load_predictions(store, run_id, len(info.classes))
    predicted = np.array(info.classes)[stored.labels]
    a = analyse_run(store, run_id, top=5)
    c = a.classification
    assert c is not None and a.regression is None and a.n_rows == info.n_dev == len(y)
    assert np.array_equal(c.confusion, confusion_matrix(y, predicted, labels=list(info.classes)))
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=list(info.classes))
    np.testing.assert_allclose([s.precision for s in c.per_class], precision)
    np.testing.assert_allclose([s.recall for s in c.per_class], recall)
    np.testing.assert_allclose([s.f1 for s in c.per_class], f1)
    assert [s.support for s in c.per_class] == list(support)
    np.testing.assert_allclose([sum(row) for row in c.normalised()], 1.0)
    assert a.overall_error == pytest.approx(np.mean(predicted != y.to_numpy()))
    assert c.n_wrong == int(np.sum(predicted != y.to_numpy())) and 0 < len(c.wrong) <= 5
    position = {r: i for i, r in enumerate(stored.rows)}
    for w in c.wrong:  # each listed row is wrong, with the probability the model gave its true class
        i = position[w.row]
        assert w.true == y.loc[w.row] != w.predicted == predicted[i]
        assert w.p_true == stored.proba[i, info.classes.index(w.true)]
    p_wrong = sorted(stored.proba[i, info.classes.index(t)] for i, t in enumerate(y) if predicted[i] != t)
    assert [w.p_true for w in c.wrong] == p_wrong[: len(c.wrong)]  # the most confidently wrong first


def test_a_sampled_run_is_analysed_on_its_sample_rows(store):
    """Only the rows the run drew are read back (a dataset may be larger than memory), and every one of
    them has its prediction: the confusion matrix equals scikit-learn's on the sample."""
    from core.data.sampling import plan_sample

    info = import_dataset(store, SAMPLES / "penguins.csv", "species")
    (run_id,) = run_baselines(store, "penguins", ["tree"], folds=3, seed=4, jobs=1, sample=90)
    X, y = load_split(store, info, "dev", plan_sample(store, info, 90, 3, 4))
    stored = load_predictions(store, run_id, len(info.classes))
    assert np.array_equal(stored.rows, X.index.to_numpy())
    a = analyse_run(store, run_id)
    assert a.n_rows == 90 < info.n_dev and a.classification is not None
    predicted = np.array(info.classes)[stored.labels]
    assert np.array_equal(a.classification.confusion, confusion_matrix(y, predicted, labels=list(info.classes)))


def test_errors_json_shape(penguins_run):
    store, run_id = penguins_run
    data = json.loads(json.dumps(errors_to_dict(analyse_run(store, run_id)), allow_nan=False))
    assert set(data) == {
        "run_id", "model", "dataset", "task", "repeat", "n_repeats", "n_rows", "n_dev", "error", "overall_error",
        "classification", "regression", "slices",
    }  # fmt: skip
    assert data["regression"] is None and data["error"] == "error rate"
    c = data["classification"]
    assert set(c) == {"classes", "confusion", "confusion_normalised", "per_class", "n_wrong", "most_confidently_wrong"}
    assert len(c["confusion"]) == len(c["classes"]) == 3 and sum(map(sum, c["confusion"])) == data["n_rows"]
    assert set(c["most_confidently_wrong"][0]) == {"row", "true", "predicted", "p_true"}
    assert set(data["slices"]) == {"test", "min_size", "tested", "top"} and "z-test" in data["slices"]["test"]
    assert set(data["slices"]["top"][0]) == {
        "feature", "description", "n", "error", "rest_error", "statistic", "p", "p_bonferroni",
    }  # fmt: skip


def test_regression_analysis(store, regression_csv):
    import_dataset(store, regression_csv, "y")
    (run_id,) = run_baselines(store, "regression", ["linear"], folds=4, repeats=2, jobs=1)
    info = get_dataset(store, "regression")
    _, y = load_split(store, info, "dev")
    stored = load_predictions(store, run_id, 0, repeat=1)
    residual = y.to_numpy() - stored.values
    a = analyse_run(store, run_id, repeat=1, top=3)
    r = a.regression
    assert r is not None and a.classification is None and a.repeat == 1 and a.n_repeats == 2
    assert r.mean == pytest.approx(residual.mean()) and r.mae == pytest.approx(np.abs(residual).mean())
    assert r.rmse == pytest.approx(np.sqrt(np.mean(residual**2))) and a.overall_error == r.mae
    assert [e.residual for e in r.largest] == sorted(residual, key=abs, reverse=True)[:3]
    assert sum(d.n for d in r.deciles) == info.n_dev and len(r.deciles) == 10
    assert r.deciles[0].low == y.min() and r.deciles[-1].high == y.max()
    data = errors_to_dict(a)
    assert set(data["regression"]) == {"residuals", "largest_errors", "by_target_decile"}
    with pytest.raises(InputError, match="repeats 0 to 1"):
        analyse_run(store, run_id, repeat=2)
    assert "Welch" in data["slices"]["test"]


def _planted(n_bad: int, n_meh: int, n_rest: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A categorical feature: 'bad' rows always wrong, 'meh' rows wrong half the time, the rest 5%."""
    rng = np.random.default_rng(0)
    group = np.array(["bad"] * n_bad + ["meh"] * n_meh + ["ok"] * n_rest, dtype=object)
    wrong = np.concatenate([np.ones(n_bad), rng.random(n_meh) < 0.5, rng.random(n_rest) < 0.05]).astype(float)
    return pd.DataFrame({"group": pd.Series(group, dtype=object)}), wrong


def test_slices_below_the_minimum_size_are_not_reported():
    X, wrong = _planted(25, 60, 600)
    (top,), tested = weakest_slices(X, wrong, classification=True, min_size=30)
    assert top.description == "= meh" and top.n == 60 and tested == 2  # 'bad' (25 rows) is not even tested
    (top,), _ = weakest_slices(X, wrong, classification=True, min_size=20)
    assert top.description == "= bad" and top.n == 25 and top.error == 1.0


def test_slice_tests_equal_statsmodels_and_scipy():
    X, wrong = _planted(0, 60, 600)
    (top,), _ = weakest_slices(X, wrong, classification=True)
    meh = X["group"].to_numpy() == "meh"
    z, p = proportions_ztest([wrong[meh].sum(), wrong[~meh].sum()], [meh.sum(), (~meh).sum()], alternative="larger")
    assert top.statistic == pytest.approx(z) and top.p == pytest.approx(p)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 500)
    abs_err = np.abs(rng.normal(scale=np.where(x > 0.8, 3.0, 1.0)))  # larger errors in the top quintile
    (top,), tested = weakest_slices(pd.DataFrame({"x": x}), abs_err, classification=False)
    inside = x >= np.quantile(x, 0.8)
    t, p = stats.ttest_ind(abs_err[inside], abs_err[~inside], equal_var=False, alternative="greater")
    assert top.description.startswith("in [") and top.description.endswith("]") and top.n == inside.sum() == 100
    assert top.statistic == pytest.approx(t) and top.p == pytest.approx(p) and tested == 5
    assert top.p_bonferroni == pytest.approx(min(1.0, 5 * p))


def test_cli_errors_text_json_and_bad_runs(tmp_path, binary_csv):
    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    assert run_mlloop("run", "binary", "--models", "dummy,tree", "--cv", "3", "--jobs", "1", store=db).returncode == 0
    r = run_mlloop("errors", "2", store=db)
    assert r.returncode == 0, r.stderr
    assert "Confusion matrix" in r.stdout and "Weakest slices" in r.stdout and "Most confidently wrong" in r.stdout
    r = run_mlloop("errors", "2", "--json", store=db)
    assert r.returncode == 0 and json.loads(r.stdout)["run_id"] == 2
    r = run_mlloop("errors", "99", store=db)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1 and "no run with id 99" in r.stderr
    import duckdb

    with duckdb.connect(str(db)) as con:  # run 1 as a run stored before predictions existed
        con.execute("DELETE FROM fold_predictions WHERE run_id = 1")
    r = run_mlloop("errors", "1", store=db)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and NO_PREDICTIONS in r.stderr
    assert "Traceback" not in r.stderr


def test_run_exports_include_the_confusion_matrix_and_the_top_slices(penguins_run):
    store, run_id = penguins_run
    md = export_runs(store, [run_id], "md")
    assert "Confusion matrix" in md and "Weakest slices" in md and f"mlloop errors {run_id}" in md
    page = export_runs(store, [run_id], "html")
    assert "Confusion matrix" in page and "Weakest slices" in page and "Gentoo" in page
    data = json.loads(export_runs(store, [run_id], "json"))["run"]
    assert data["errors"]["classification"]["confusion"] and data["errors"]["slices"]["top"]
    assert data["errors_error"] is None
    with store.write() as con:
        con.execute("DELETE FROM fold_predictions WHERE run_id = ?", [run_id])
    assert "No error analysis: " in export_runs(store, [run_id], "md")
    data = json.loads(export_runs(store, [run_id], "json"))["run"]
    assert data["errors"] is None and NO_PREDICTIONS in data["errors_error"]


def test_numeric_features_with_few_values_are_sliced_by_value_and_missing_is_a_slice():
    rng = np.random.default_rng(2)
    level = rng.choice([1.0, 2.0, 3.0], size=600)
    level[:80] = np.nan  # the missing rows are the weak ones
    wrong = np.where(np.isnan(level), rng.random(600) < 0.6, rng.random(600) < 0.05).astype(float)
    (top,), tested = weakest_slices(pd.DataFrame({"level": level}), wrong, classification=True)
    assert top.description == "missing" and top.n == 80 and tested == 4  # = 1, = 2, = 3 and missing
    assert weakest_slices(pd.DataFrame({"level": np.where(np.isnan(level), 2.0, level)}), wrong, True)[1] == 3
