"""Cross-validation: scores equal plain scikit-learn's, folds stream into the store, failures stay local."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_validate

from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import build_pipeline, fixed_width_labels, make_splitter, run_baselines, scoring
from core.modeling.models import BASELINES
from core.store.datasets import get_dataset
from core.store.runs import get_run, list_runs


def _plain_sklearn(store, dataset_name, model, folds=5, repeats=1, seed=0, params=None):
    """The same cross-validation written directly with scikit-learn."""
    info = get_dataset(store, dataset_name)
    X, y = load_split(store, info, "dev")
    pipe = build_pipeline(BASELINES[model], info, X, params, seed)
    cv = make_splitter(info.task, folds, repeats, seed)
    res = cross_validate(pipe, X, y, cv=cv, scoring=scoring(info.task), return_train_score=True)
    return res, list(cv.split(X, y))


@pytest.mark.parametrize("model", ["dummy", "glm", "linear", "tree", "forest", "boosting"])
def test_classification_scores_equal_plain_sklearn(store, binary_csv, model):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", [model], folds=4, seed=3, jobs=1)
    run = get_run(store, run_id)
    expected, _ = _plain_sklearn(store, "binary", model, folds=4, seed=3)
    assert run.status == "done" and run.n_folds_done == 4
    for metric, sign in [("accuracy", 1), ("roc_auc", 1), ("log_loss", -1), ("f1_macro", 1)]:
        got = [f.validation[metric] for f in run.fold_scores]
        np.testing.assert_allclose(got, sign * expected[f"test_{metric}"], rtol=1e-12)
        got_train = [f.train[metric] for f in run.fold_scores]
        np.testing.assert_allclose(got_train, sign * expected[f"train_{metric}"], rtol=1e-12)


@pytest.mark.parametrize("names", [("a", "bb", "ccc"), ("a", "bb", "a class name longer than sixteen")])
def test_string_labels_score_as_plain_sklearn_short_or_long(store, tmp_path, names):
    """Short labels are fitted as fixed-width strings, a long one keeps them objects: same scores either way."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(150, 2))
    label = np.array(names, dtype=object)[np.digitize(x[:, 0] + 0.5 * rng.normal(size=150), [-0.4, 0.4])]
    path = tmp_path / "three.csv"
    pd.DataFrame({"x": x[:, 0], "z": x[:, 1], "label": label}).to_csv(path, index=False)
    import_dataset(store, path, "label", name="three")
    (run_id,) = run_baselines(store, "three", ["forest"], folds=3, seed=1, jobs=1)
    expected, _ = _plain_sklearn(store, "three", "forest", folds=3, seed=1)
    run = get_run(store, run_id)
    for metric, sign in [("accuracy", 1), ("roc_auc", 1), ("log_loss", -1), ("f1_macro", 1)]:
        np.testing.assert_allclose([f.validation[metric] for f in run.fold_scores], sign * expected[f"test_{metric}"])
        np.testing.assert_allclose([f.train[metric] for f in run.fold_scores], sign * expected[f"train_{metric}"])


def test_a_text_column_without_any_value_leaves_every_baseline_and_the_quality_check_working(store, tmp_path):
    """An empty column from a spreadsheet (a header, no values) beside a number: the text branch once
    dropped its only column and every baseline failed with "Found array with 0 feature(s)"."""
    from core.analysis.quality import check_quality

    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"notes": [None] * 200, "x": x, "label": np.where(x + rng.normal(size=200) > 0, "p", "n")})
    frame.to_csv(tmp_path / "empty_notes.csv", index=False)
    import_dataset(store, tmp_path / "empty_notes.csv", "label", name="notes")
    run_ids = run_baselines(store, "notes", list(BASELINES), folds=3, seed=0, jobs=1)
    assert [get_run(store, r).status for r in run_ids] == ["done"] * len(BASELINES)
    expected, _ = _plain_sklearn(store, "notes", "linear", folds=3)
    got = [f.validation["roc_auc"] for f in get_run(store, run_ids[list(BASELINES).index("linear")]).fold_scores]
    np.testing.assert_allclose(got, expected["test_roc_auc"], rtol=1e-12)
    assert min(got) > 0.7  # the number still carries the signal
    kinds = {f.kind for f in check_quality(store, "notes")}
    assert "missing" in kinds and "mislabeled" in kinds


def test_a_glm_whose_only_feature_is_empty_fails_saying_why_and_the_other_baselines_run(store, tmp_path):
    """The empty column is one category once imputed, which the GLM's one-hot encoding drops (its
    first category): no column is left, and scikit-learn's check said "at least one array or dtype
    is required". A GLM needs one feature (scikit-learn's estimator checks ask that too)."""
    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b"], size=150, p=[0.6, 0.4])
    pd.DataFrame({"notes": [None] * 150, "label": y}).to_csv(tmp_path / "only_empty.csv", index=False)
    import_dataset(store, tmp_path / "only_empty.csv", "label", name="only_empty")
    runs = [get_run(store, r) for r in run_baselines(store, "only_empty", list(BASELINES), folds=3, jobs=1)]
    assert [(r.model, r.status) for r in runs if r.status != "done"] == [("glm", "failed")]
    error = runs[list(BASELINES).index("glm")].error or ""
    assert "no feature left to fit: every feature column is empty or holds a single value" in error
    assert "array or dtype" not in error


def test_fixed_width_labels_keep_values_and_leave_what_they_cannot_hold():
    fixed = fixed_width_labels(pd.Series(["no", "yes", "no"], dtype=object))
    assert isinstance(fixed, np.ndarray) and fixed.dtype.kind == "U" and fixed.tolist() == ["no", "yes", "no"]
    for kept in (
        pd.Series(["no", None], dtype=object),  # a missing label must not become "None" or "nan"
        pd.Series(["no", np.nan]),
        pd.Series(["no", "x" * 17]),  # a long label would cost 4 bytes a character per row
        pd.Series(["no", 1], dtype=object),
        pd.Series([0.5, 1.5]),
    ):
        assert fixed_width_labels(kept) is kept


@pytest.mark.parametrize("model", ["dummy", "glm", "linear", "boosting"])
def test_regression_scores_equal_plain_sklearn_with_repeats(store, regression_csv, model):
    import_dataset(store, regression_csv, "y")
    (run_id,) = run_baselines(store, "regression", [model], folds=3, repeats=2, seed=7, jobs=2)
    run = get_run(store, run_id)
    expected, splits = _plain_sklearn(store, "regression", model, folds=3, repeats=2, seed=7)
    assert [f.n_val for f in run.fold_scores] == [len(v) for _, v in splits]
    np.testing.assert_allclose([f.validation["rmse"] for f in run.fold_scores], -expected["test_rmse"], rtol=1e-12)
    np.testing.assert_allclose([f.validation["r2"] for f in run.fold_scores], expected["test_r2"], rtol=1e-12)
    assert [(f.repeat, f.fold) for f in run.fold_scores] == [(i // 3, i % 3) for i in range(6)]


def test_folds_stream_in_and_never_touch_the_test_split(store, binary_csv):
    info = import_dataset(store, binary_csv, "label")
    seen = []
    run_ids = run_baselines(
        store, info.name, "dummy,tree", folds=3, jobs=2, on_progress=lambda p: seen.append((p.run_id, p.done, p.status))
    )
    # every fold was reported, and each run ended with a final event
    assert sorted(d for _, d, s in seen if s == "running") == [1, 1, 2, 2, 3, 3]
    assert {(r, s) for r, _, s in seen if s != "running"} == {(run_ids[0], "done"), (run_ids[1], "done")}
    run = get_run(store, run_ids[0])
    assert sum(f.n_val for f in run.fold_scores) == info.n_dev
    assert all(f.n_train + f.n_val == info.n_dev for f in run.fold_scores)


def test_group_shares_folds_hash_and_records_versions(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    a, b = run_baselines(store, "binary", "dummy,linear", folds=3)
    ra, rb = get_run(store, a), get_run(store, b)
    assert ra.group_id == rb.group_id
    assert ra.folds_hash == rb.folds_hash and ra.folds_hash
    (c,) = run_baselines(store, "binary", "dummy", folds=3, seed=1)
    rc = get_run(store, c)
    assert rc.group_id != ra.group_id and rc.folds_hash != ra.folds_hash
    assert {"scikit-learn", "duckdb", "python"} <= set(ra.versions)


def test_glm_run_stores_coefficient_table(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "glm", folds=3)
    glm = get_run(store, run_id).glm
    assert glm is not None and glm.family.startswith("binomial")
    terms = [c.term for c in glm.coefficients]
    assert terms[0] == "Intercept" and "x1" in terms and "x 2" in terms
    x1 = next(c for c in glm.coefficients if c.term == "x1")
    assert x1.coef > 0 and x1.p < 0.05 and x1.ci_low < x1.coef < x1.ci_high


def test_a_failing_model_fails_alone(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    # A class weight for a class that does not exist passes parameter validation but fails every fit.
    dummy, tree = run_baselines(store, "binary", "dummy,tree", params={"tree": {"class_weight": {"zzz": 2.0}}}, folds=3)
    assert get_run(store, dummy).status == "done"
    failed = get_run(store, tree)
    assert failed.status == "failed" and "class_weight" in failed.error and failed.n_folds_done == 0


def test_bad_parameters_are_refused_before_any_run_exists(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    with pytest.raises(InputError, match="max_depth"):
        run_baselines(store, "binary", "tree", params={"tree": {"max_depth": -4}}, folds=3)
    with pytest.raises(InputError, match="not being run"):
        run_baselines(store, "binary", "dummy", params={"tree": {"max_depth": 2}}, folds=3)
    assert list_runs(store) == []


def test_summaries_are_mean_and_sample_std(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "linear", folds=5)
    run = get_run(store, run_id)
    vals = [f.validation["accuracy"] for f in run.fold_scores]
    s = run.summaries["accuracy"]
    assert math.isclose(s.val_mean, np.mean(vals)) and math.isclose(s.val_std, np.std(vals, ddof=1))
    (listed,) = [r for r in list_runs(store) if r.id == run_id]
    assert listed.summaries["accuracy"] == s


def test_a_stop_token_cancels_a_group_of_runs_and_keeps_finished_folds(store, binary_csv):
    from core.analysis.tuning import tune
    from core.errors import RunCancelled
    from core.stopping import StopToken
    from core.store.runs import list_runs

    import_dataset(store, binary_csv, "label")
    folds_done = []
    with pytest.raises(RunCancelled, match="finished folds are kept"):
        run_baselines(
            store,
            "binary",
            "dummy,tree",
            folds=5,
            jobs=1,
            on_progress=folds_done.append,
            stop=StopToken(lambda: len(folds_done) >= 3),
        )
    runs = list_runs(store)
    assert {r.status for r in runs} == {"cancelled"}
    assert sum(r.n_folds_done for r in runs) == 3  # three folds finished before the token was seen; kept
    tree = next(r for r in runs if r.model == "tree")
    with pytest.raises(RunCancelled):  # a search stops the same way
        tune(store, tree.id, {"max_depth": [1, 2, 3]}, jobs=1, stop=StopToken(lambda: True))
    candidates = [r for r in list_runs(store) if r.id not in {r.id for r in runs}]
    assert len(candidates) == 3 and {r.status for r in candidates} == {"cancelled"}
    assert sum(r.n_folds_done for r in candidates) == 1  # the token is asked after each fold
