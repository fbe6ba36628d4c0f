"""Out-of-fold predictions: stored for every development row and repeat, equal to cross_val_predict."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import NotFoundError
from core.modeling.evaluation import build_pipeline, fold_splits, make_splitter, run_baselines
from core.modeling.fold_predictions import ARGMAX_PREDICT, predict_fold
from core.modeling.models import BASELINES
from core.store.datasets import get_dataset
from core.store.predictions import NO_PREDICTIONS, load_predictions
from tests.conftest import SAMPLES


def _oracle(store, dataset, model, method, folds, repeats, seed):
    """cross_val_predict on the run's own folds, one partition per repeat, rows ordered by row id."""
    info = get_dataset(store, dataset)
    X, y = load_split(store, info, "dev")
    splits = fold_splits(make_splitter(info.task, folds, repeats, seed), X, y, info)
    pipe = build_pipeline(BASELINES[model], info, X, None, seed)
    per_repeat = [splits[r * folds : (r + 1) * folds] for r in range(repeats)]
    return info, X, [cross_val_predict(pipe, X, y, cv=cv, method=method) for cv in per_repeat]


@pytest.mark.parametrize("model", ["linear", "forest"])
def test_classifier_predictions_and_probabilities_equal_cross_val_predict(store, model):
    import_dataset(store, SAMPLES / "penguins.csv", "species")
    (run_id,) = run_baselines(store, "penguins", [model], folds=3, seed=2, jobs=1)
    info, X, (proba,) = _oracle(store, "penguins", model, "predict_proba", 3, 1, 2)
    _, _, (labels,) = _oracle(store, "penguins", model, "predict", 3, 1, 2)
    got = load_predictions(store, run_id, len(info.classes))
    assert len(info.classes) == 3 and got.n_repeats == 1
    assert np.array_equal(got.rows, X.index.to_numpy())  # every development row once, by row id
    assert got.proba is not None and got.labels is not None and got.values is None
    np.testing.assert_allclose(got.proba, proba, rtol=0, atol=1e-12)
    assert [info.classes[i] for i in got.labels] == list(labels)


def test_regressor_predictions_equal_cross_val_predict_in_every_repeat(store, regression_csv):
    import_dataset(store, regression_csv, "y")
    (run_id,) = run_baselines(store, "regression", ["linear"], folds=4, repeats=2, seed=1, jobs=1)
    info, X, expected = _oracle(store, "regression", "linear", "predict", 4, 2, 1)
    for repeat in range(2):
        got = load_predictions(store, run_id, 0, repeat=repeat)
        assert got.n_repeats == 2 and got.labels is None and got.proba is None
        assert np.array_equal(got.rows, X.index.to_numpy())
        np.testing.assert_allclose(got.values, expected[repeat], rtol=0, atol=1e-12)
    assert not np.array_equal(expected[0], expected[1])  # the repeats really are other folds
    with store.read() as con:
        (n,) = con.execute("SELECT count(*) FROM fold_predictions WHERE run_id = ?", [run_id]).fetchone()
    assert n == 2 * info.n_dev  # one row per (repeat, row)


def test_a_run_stored_without_predictions_says_to_re_run(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", ["dummy"], folds=3, jobs=1)
    with store.write() as con:  # as a run stored before predictions existed
        con.execute("DELETE FROM fold_predictions WHERE run_id = ?", [run_id])
    with pytest.raises(NotFoundError, match=NO_PREDICTIONS):
        load_predictions(store, run_id, 2)


class Contrarian(LogisticRegression):
    """A classifier whose class is not the most probable one (like SVC's Platt-scaled probabilities)."""

    def predict(self, X):
        return self.classes_[np.argmin(self.predict_proba(X), axis=1)]


def _fitted(store, estimator):
    """A registry pipeline on the binary data with its model replaced by ``estimator``, fitted on fold 0."""
    info = get_dataset(store, "binary")
    X, y = load_split(store, info, "dev")
    train, val = fold_splits(make_splitter(info.task, 3), X, y, info)[0]
    pipe = build_pipeline(BASELINES["linear"], info, X)
    pipe.steps[-1] = ("model", estimator)
    return info, pipe.fit(X.iloc[train], y.iloc[train]), X.iloc[val]


def test_the_registry_classifiers_read_the_class_off_the_probabilities(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    info = get_dataset(store, "binary")
    X, _ = load_split(store, info, "dev")
    for baseline in BASELINES.values():
        model = build_pipeline(baseline, info, X)[-1]
        assert f"{type(model).__module__}.{type(model).__qualname__}" in ARGMAX_PREDICT, baseline.name


def test_another_classifier_is_asked_for_its_class_and_a_failing_one_keeps_its_fold(store, binary_csv):
    from sklearn.svm import SVC

    import_dataset(store, binary_csv, "label")
    info, est, X_val = _fitted(store, Contrarian())
    got = predict_fold(est, X_val, info.classes, 0, 0)
    assert [info.classes[i] for i in got.labels] == list(est.predict(X_val))
    assert not np.array_equal(got.labels, np.argmax(got.proba, axis=1))  # asked, not read off the probabilities
    np.testing.assert_array_equal(got.proba, est.predict_proba(X_val))
    info, est, X_val = _fitted(store, SVC())  # no predict_proba: the class only
    got = predict_fold(est, X_val, info.classes, 0, 0)
    assert got.proba is None and [info.classes[i] for i in got.labels] == list(est.predict(X_val))
    with pytest.warns(RuntimeWarning, match="predictions not stored"):
        assert predict_fold(est, X_val.drop(columns=["color"]), info.classes, 0, 0) is None


class _CountingLogistic(LogisticRegression):
    """Records how many rows each predict_proba call is given."""

    calls: list[int] = []

    def predict_proba(self, X):
        _CountingLogistic.calls.append(len(X))
        return super().predict_proba(X)


def test_the_held_out_rows_go_through_the_pipeline_once_for_scores_and_predictions(store):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.modeling.evaluation import fit_fold, scoring

    import_dataset(store, SAMPLES / "penguins.csv", "species")
    info = get_dataset(store, "penguins")
    X, y = load_split(store, info, "dev")
    X = X.select_dtypes("number").fillna(0)
    train, val = fold_splits(make_splitter(info.task, 3, 1, 0), X, y, info)[0]
    _CountingLogistic.calls = []
    pipe = make_pipeline(StandardScaler(), _CountingLogistic(max_iter=1000))
    result = fit_fold(1, 0, pipe, X, y, train, val, scoring(info.task), 3, classes=info.classes)
    assert sorted(_CountingLogistic.calls) == sorted([len(val), len(train)])  # log loss asked on both sides, once
    plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X.iloc[train], y.iloc[train])
    stored = result["predictions"]
    assert stored.proba is not None and np.array_equal(stored.proba, plain.predict_proba(X.iloc[val]))


def test_remembered_responses_answer_only_for_the_held_out_rows_and_leave_nothing_behind():
    from core.modeling.responses import responses_remembered

    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 1] * 5)
    est = _CountingLogistic().fit(X, y)
    X_val, other = X[:4], X[4:]
    _CountingLogistic.calls = []
    with responses_remembered(est, X_val):
        first = est.predict_proba(X_val)
        assert est.predict_proba(X_val) is first  # the same rows: computed once
        est.predict_proba(other)
        est.predict_proba(X_val.copy())  # equal rows, another object: computed again
    assert _CountingLogistic.calls == [4, 6, 4]
    assert not {"predict", "predict_proba", "decision_function"} & set(vars(est))
    est.predict_proba(X_val)
    assert _CountingLogistic.calls == [4, 6, 4, 4]  # after the block, every call computes
