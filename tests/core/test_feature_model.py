"""Feature curves with any model: a spec, or a run's model with its params (``features --model RUN_OR_SPEC``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from core.analysis.feature_selection import feature_curve
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import build_pipeline, make_splitter, run_baselines
from core.modeling.models import BASELINES
from core.modeling.specs import parse_model_option
from core.store.datasets import get_dataset
from tests.conftest import mlloop_main

SPEC = "sklearn.linear_model.LogisticRegression(C=0.5)"
KS = (1, 2, 4)


def explicit_scores(store, preprocess_of: str, model, k: int, folds: int) -> np.ndarray:
    """``Pipeline(preprocess, SelectKBest(k), model)`` cross-validated on the folds feature curves use."""
    dataset = get_dataset(store, "binary")
    X, y = load_split(store, dataset, "dev")
    preprocess = build_pipeline(BASELINES[preprocess_of], dataset, X, {}, 0).named_steps["preprocess"]
    pipe = Pipeline([("preprocess", preprocess), ("select", SelectKBest(f_classif, k=k)), ("model", model)])
    return cross_val_score(pipe, X, y, cv=make_splitter("binary", folds, 1, 0), scoring="accuracy")


def assert_points_equal(store, curves, preprocess_of: str, model) -> None:
    points = curves.method("univariate").points
    assert [p.k for p in points] == list(KS)
    for p in points:  # fold scores arrive as the folds finish (any order, with jobs > 1)
        expected = sorted(explicit_scores(store, preprocess_of, model, p.k, 3))
        np.testing.assert_allclose(sorted(p.scores), expected, atol=1e-12)


def test_a_spec_is_scored_like_the_explicit_pipeline(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    curves = feature_curve(store, "binary", f"lr={SPEC}", methods=("univariate",), ks=KS, folds=3)
    assert curves.model == "lr"
    assert_points_equal(store, curves, "linear", LogisticRegression(C=0.5))  # a class spec is scaled, as linear


def test_a_runs_model_keeps_its_params_built_in_or_spec(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (tree,) = run_baselines(store, "binary", "tree", params={"tree": {"max_depth": 2}}, folds=2)
    curves = feature_curve(store, "binary", str(tree), methods=("univariate",), ks=KS, folds=3)
    assert curves.model == f"tree (run {tree})"
    assert_points_equal(store, curves, "tree", DecisionTreeClassifier(max_depth=2, random_state=0))
    # a spec run, with a parameter set on top of its spec, fitted by two worker processes
    (lr,) = run_baselines(
        store, "binary", "", model_specs=[parse_model_option(f"lr={SPEC}")], params={"lr": {"C": 0.05}}, folds=2
    )
    curves = feature_curve(store, "binary", f"#{lr}", methods=("univariate",), ks=KS, folds=3, jobs=2)
    assert curves.model == f"lr (run {lr})"
    assert_points_equal(store, curves, "linear", LogisticRegression(C=0.05))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("99", "no run with id 99"),
        ("nope", "unknown model 'nope'; give a built-in model"),
        ("all", "unknown model 'all'"),
        ("x=nomodule.Thing()", "no module named 'nomodule'"),
        ("x=sklearn.svm.SVC(C=os.system('true'))", "is not a literal"),
        ("x=sklearn.linear_model.LinearRegression()", "is a regressor"),
        (f"x={SPEC} raw", "takes the raw feature columns"),
        ("dummy", "cannot be used for feature curves"),
        ("glm", "cannot be used for feature curves"),
    ],
)
def test_bad_models_are_one_input_error_each(store, binary_csv, model, message):
    import_dataset(store, binary_csv, "label")
    with pytest.raises(InputError, match=re.escape(message)):
        feature_curve(store, "binary", model, methods=("univariate",), folds=3)


def test_a_dummy_run_and_a_functions_own_pipeline_cannot_be_scored(store, binary_csv, tmp_path):
    import_dataset(store, binary_csv, "label")
    (dummy,) = run_baselines(store, "binary", "dummy", folds=2)
    with pytest.raises(InputError, match=re.escape(f"model 'dummy (run {dummy})' cannot be used")):
        feature_curve(store, "binary", str(dummy), methods=("univariate",), folds=3)
    build = tmp_path / "build.py"
    build.write_text(
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import OneHotEncoder\n\n"
        "def build():\n"
        "    return make_pipeline(OneHotEncoder(handle_unknown='ignore'), LogisticRegression())\n"
    )
    with pytest.raises(InputError, match="model own takes the raw feature columns"):
        feature_curve(store, "binary", f"own={build}:build", methods=("univariate",), folds=3)


def test_cli_features_with_a_spec_and_a_run_id(store, binary_csv, capsys):
    import_dataset(store, binary_csv, "label")
    (tree,) = run_baselines(store, "binary", "tree", params={"tree": {"max_depth": 2}}, folds=2)
    common = ("--methods", "univariate", "--cv", "3", "--jobs", "1")
    assert mlloop_main(store, "features", "binary", "--model", f"lr={SPEC}", *common) == 0
    assert capsys.readouterr().out.startswith("lr on binary: accuracy")
    assert mlloop_main(store, "features", "binary", "--model", str(tree), *common) == 0
    assert capsys.readouterr().out.startswith(f"tree (run {tree}) on binary: accuracy")
    for model, message in (("999", "no run with id 999"), ("x=sklearn.svm.SVC(", "syntax error")):
        assert mlloop_main(store, "features", "binary", "--model", model, *common) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
