"""Model specs (issue 10): any scikit-learn-compatible estimator named by text gets the same
cross-validation as the baselines, and a spec that cannot run is refused before any run exists."""

from __future__ import annotations

import os
import runpy
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import build_pipeline, feature_types, make_splitter, run_baselines, scoring
from core.modeling.models import BASELINES, make_pipeline
from core.modeling.specs import parse_model_option, spec_baseline
from core.store.datasets import get_dataset
from core.store.runs import get_run
from tests.test_cli import _snapshot

SVC_SPEC = "sklearn.svm.SVC(C=2.0, probability=True, random_state=0)"

PIPELINE_FILE = """
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def build(task, column_kinds):
    assert task == "binary"
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), column_kinds["numeric"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         column_kinds["categorical"]),
    ])
    return Pipeline([("prep", prep), ("logit", LogisticRegression(C=0.5))])
"""

CLASS_FILE = """
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class Shrunk(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


class Boom(Shrunk):
    def fit(self, X, y):
        raise ValueError("boom in fit")


def shrunk():
    return Shrunk(C=0.1)


def boom():
    return Boom()
"""


@pytest.fixture
def binary(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    return store


def _expected(store, pipe, folds=3, seed=0):
    info = get_dataset(store, "binary")
    X, y = load_split(store, info, "dev")
    cv = make_splitter(info.task, folds, 1, seed)
    return cross_validate(pipe, X, y, cv=cv, scoring=scoring(info.task), return_train_score=True)


def _assert_same_scores(run, expected):
    assert run.status == "done", run.error
    for metric, sign in [("accuracy", 1), ("roc_auc", 1), ("log_loss", -1)]:
        np.testing.assert_allclose([f.validation[metric] for f in run.fold_scores], sign * expected[f"test_{metric}"])
        np.testing.assert_allclose([f.train[metric] for f in run.fold_scores], sign * expected[f"train_{metric}"])


def test_class_spec_scores_equal_cross_validate_with_the_baselines_preprocessing(binary):
    from sklearn.svm import SVC

    (run_id,) = run_baselines(binary, "binary", "", model_specs=[parse_model_option(f"svc={SVC_SPEC}")], folds=3)
    run = get_run(binary, run_id)
    info = get_dataset(binary, "binary")
    X, _ = load_split(binary, info, "dev")
    pipe = build_pipeline(BASELINES["linear"], info, X).set_params(model=SVC(C=2.0, probability=True, random_state=0))
    _assert_same_scores(run, _expected(binary, pipe))
    assert run.model == "svc" and run.spec is not None
    assert run.spec.text == SVC_SPEC
    assert run.spec.estimator_class == "sklearn.svm._classes.SVC"
    assert run.spec.params["C"] == 2.0 and run.spec.params["probability"] is True
    from importlib import metadata

    assert run.versions["scikit-learn"] == metadata.version("scikit-learn")


def test_file_spec_returning_a_pipeline_gets_raw_columns_and_equals_cross_validate(binary, tmp_path):
    path = tmp_path / "pipe.py"
    path.write_text(PIPELINE_FILE)
    spec = parse_model_option(f"mine={path}:build")
    (run_id,) = run_baselines(binary, "binary", "", model_specs=[spec], folds=3, jobs=2)
    run = get_run(binary, run_id)
    info = get_dataset(binary, "binary")
    X, _ = load_split(binary, info, "dev")
    numeric, categorical = feature_types(X)
    pipe = runpy.run_path(str(path))["build"]("binary", {"numeric": numeric, "categorical": categorical})
    _assert_same_scores(run, _expected(binary, pipe))
    assert run.spec is not None and run.spec.estimator_class == "sklearn.pipeline.Pipeline"
    assert run.spec.params["logit__C"] == 0.5
    assert isinstance(run.spec.params["prep"], str)  # an estimator is not JSON: kept as its repr


def test_a_class_defined_in_a_spec_file_reaches_worker_processes(binary, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(CLASS_FILE)
    (run_id,) = run_baselines(binary, "binary", "", model_specs=[parse_model_option(f"s={path}:shrunk")], jobs=2)
    run = get_run(binary, run_id)
    assert run.status == "done" and run.n_folds_done == 5, run.error
    assert run.spec is not None and run.spec.estimator_class.endswith(".Shrunk") and run.spec.params == {"C": 0.1}
    assert run.versions[str(path)].startswith("sha256:")  # a file has no package version: its content's hash


def test_an_estimator_that_raises_in_a_fold_fails_its_run_and_the_others_go_on(binary, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(CLASS_FILE)
    dummy_id, boom_id = run_baselines(
        binary, "binary", "dummy", model_specs=[parse_model_option(f"boom={path}:boom")], folds=3, jobs=1
    )
    assert get_run(binary, dummy_id).status == "done"
    boom = get_run(binary, boom_id)
    assert boom.status == "failed" and boom.error == "ValueError: boom in fit"


def test_preprocessing_rule(binary, tmp_path):
    """Class specs get the baselines' preprocessing; ` raw`, or a function's own Pipeline, gets the raw columns."""
    path = tmp_path / "mine.py"
    path.write_text(CLASS_FILE + PIPELINE_FILE)

    def steps(option):
        baseline = spec_baseline(parse_model_option(option), "binary", ["x1"], ["color"])
        return [name for name, _ in make_pipeline(baseline, "binary", ["x1"], ["color"]).steps]

    assert steps(f"a={SVC_SPEC}") == ["preprocess", "model"]
    assert steps(f"a={SVC_SPEC} raw") == ["model"]
    assert steps(f"a={path}:shrunk") == ["preprocess", "model"]
    assert steps(f"a={path}:shrunk raw") == ["model"]
    assert steps(f"a={path}:build") == ["model"]


def test_params_given_for_a_spec_are_its_estimators(binary):
    spec = parse_model_option("lr=sklearn.linear_model.LogisticRegression()")
    (run_id,) = run_baselines(binary, "binary", "", model_specs=[spec], params={"lr": {"C": 0.01}}, folds=2)
    run = get_run(binary, run_id)
    assert run.params == {"C": 0.01} and run.spec is not None and run.spec.params["C"] == 0.01
    assert run.spec.params["random_state"] is None  # the run's seed is the folds', not the estimator's


PARSE_ERRORS = [
    ("svc", "expected NAME=SPEC"),
    ("=sklearn.svm.SVC()", "expected NAME=SPEC"),
    ("tree=sklearn.svm.SVC()", "built-in"),
    ("a b=sklearn.svm.SVC()", "use letters"),
    ("x=sklearn.svm.SVC(C=2.0", "syntax error"),
    ("x=sklearn.svm.SVC(C=open('x'))", "not a literal"),
    ("x=sklearn.svm.SVC(C=1 + len('ab'))", "not a literal"),
    ("x=sklearn.svm.SVC(2.0)", "positional argument"),
    ("x=sklearn.svm.SVC(**{'C': 2})", "not allowed"),
    ("x=SVC()", "expected package.module.Class"),
    ("x=__import__('os').system('true')", "expected package.module.Class"),
]


@pytest.mark.parametrize(("option", "fragment"), PARSE_ERRORS)
def test_spec_text_errors(option, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_model_option(option)


def _resolution_errors(tmp_path):
    (tmp_path / "mine.py").write_text(CLASS_FILE)
    (tmp_path / "broken.py").write_text("def build(:\n    pass\n")
    (tmp_path / "raises.py").write_text("def build():\n    raise RuntimeError('no estimator today')\n")
    (tmp_path / "notest.py").write_text("def build(task):\n    return {'task': task}\n")
    d = tmp_path
    return [
        ("x=nosuchpackage_xyz.Model()", "no module named 'nosuchpackage_xyz'"),
        ("x=sklearn.svm.NoSuchSVC()", "sklearn.svm has no attribute 'NoSuchSVC'"),
        ("x=sklearn.nosuchmodule_xyz.Model()", "sklearn has no attribute 'nosuchmodule_xyz'"),
        (f"x={d}/missing.py:build", "does not exist"),
        (f"x={d}/broken.py:build", "syntax error in"),
        (f"x={d}/mine.py:nosuchfunction", "has no function 'nosuchfunction'"),
        (f"x={d}/raises.py:build", "raised RuntimeError: no estimator today"),
        (f"x={d}/notest.py:build", "is not an estimator"),
        ("x=nosuchpackage_xyz:build", "no module named"),
        ("x=subprocess.Popen(args='true')", "is not an estimator"),
        ("x=os.getcwd()", "is not a class"),
        ("x=sklearn.svm.SVC(C=2.0, nonexistent=1)", "raised TypeError"),
        ("x=sklearn.linear_model.Ridge()", "is a regressor"),
        ("x=sklearn.svm.SVC()", "the log_loss metric needs predict_proba"),
        ("x=sklearn.svm.LinearSVC()", "the log_loss metric needs predict_proba"),
        ("x=sklearn.svm.SVC(C=-1.0, probability=True)", "bad parameter for x"),
    ]


def test_every_resolution_error_is_an_input_error_before_any_run(binary, tmp_path):
    before = _snapshot(binary.path)
    for option, fragment in _resolution_errors(tmp_path):
        with pytest.raises(InputError) as caught:
            run_baselines(binary, "binary", "", model_specs=[parse_model_option(option)], folds=2)
        assert fragment in str(caught.value), (option, str(caught.value))
        assert "\n" not in str(caught.value)
    assert _snapshot(binary.path) == before


def test_decision_function_serves_roc_auc_so_only_log_loss_is_named(binary):
    with pytest.raises(InputError) as caught:
        run_baselines(binary, "binary", "", model_specs=[parse_model_option("x=sklearn.svm.LinearSVC()")])
    assert "log_loss" in str(caught.value) and "roc_auc" not in str(caught.value)


def test_a_classifier_on_a_regression_dataset_is_refused(store, regression_csv):
    import_dataset(store, regression_csv, "y")
    with pytest.raises(InputError, match="is a classifier; this dataset's task is regression"):
        run_baselines(store, "regression", "", model_specs=[parse_model_option(f"x={SVC_SPEC}")])


def test_no_spec_code_runs_before_its_class_is_checked(binary, tmp_path):
    marker = tmp_path / "MARKER"
    for option in (
        f"x=os.system(command='touch {marker}')",
        f"x=os.system('touch {marker}')",
        f"x=subprocess.Popen(args=['touch', '{marker}'])",
        f"x=sklearn.svm.SVC(C=__import__('os').system('touch {marker}'))",
    ):
        with pytest.raises(InputError):
            run_baselines(binary, "binary", "", model_specs=[parse_model_option(option)])
    assert not marker.exists()


def test_the_scorer_attribute_the_probability_check_reads_still_exists():
    from sklearn.metrics import get_scorer

    assert get_scorer("neg_log_loss")._response_method == "predict_proba"
    assert "decision_function" in get_scorer("roc_auc")._response_method


def test_two_models_with_one_name_are_refused(binary):
    with pytest.raises(InputError, match="two models are named 'a'"):
        run_baselines(binary, "binary", "", model_specs=[parse_model_option(f"a={SVC_SPEC}")] * 2)


def test_module_function_specs_resolve_lazily(tmp_path, monkeypatch, binary):
    """`package.module:function`: importing happens when a run is built, not when the text is parsed."""
    pkg = tmp_path / "lazy_models_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "zoo.py").write_text(
        textwrap.dedent("""
        from sklearn.linear_model import LogisticRegression
        IMPORTED = True
        def build(**kwargs):
            assert set(kwargs) == {"task", "column_kinds"}
            return LogisticRegression()
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys

    spec = parse_model_option("z=lazy_models_pkg.zoo:build")
    assert "lazy_models_pkg.zoo" not in sys.modules
    (run_id,) = run_baselines(binary, "binary", "", model_specs=[spec], folds=2, jobs=1)
    assert get_run(binary, run_id).status == "done"
    assert sys.modules["lazy_models_pkg.zoo"].IMPORTED


def test_each_estimator_gets_its_own_copy_of_a_list_argument():
    spec = parse_model_option("mlp=sklearn.neural_network.MLPClassifier(hidden_layer_sizes=[5, 3])")
    family = spec_baseline(spec, "binary", ["x1"], ["color"])
    a, b = family.estimator("binary"), family.estimator("binary")
    assert a.hidden_layer_sizes == b.hidden_layer_sizes == [5, 3]
    assert a.hidden_layer_sizes is not b.hidden_layer_sizes


# XGBoost and LightGBM (the `boosting` extra): tiny fits, one thread each where scores are compared.
PENGUINS = Path(__file__).resolve().parents[2] / "sample_data" / "penguins.csv"
XGB_SPEC = "xgboost.XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1)"
LGBM_SPEC = "lightgbm.LGBMClassifier(n_estimators=30, num_leaves=7, n_jobs=1, verbose=-1)"


def needs_boosting() -> None:
    for module in ("xgboost", "lightgbm"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[boosting]')")


@pytest.fixture
def penguins(store):
    import_dataset(store, PENGUINS, "species")
    return store


def test_xgboost_and_lightgbm_classifiers_on_string_labels_equal_cross_validate_on_coded_labels(penguins):
    """The labels are strings: XGBoost gets codes, LightGBM the labels; scores, stored predictions and the
    confusion matrix are in the dataset's labels, and equal scikit-learn's on a LabelEncoder'd y."""
    needs_boosting()
    import pandas as pd
    from lightgbm import LGBMClassifier
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import cross_val_predict
    from sklearn.preprocessing import LabelEncoder
    from xgboost import XGBClassifier

    from core.analysis.compare import compare_runs
    from core.analysis.errors import analyse_run
    from core.analysis.holdout import evaluate_on_test
    from core.store.predictions import load_predictions

    specs = [parse_model_option(f"xgb={XGB_SPEC}"), parse_model_option(f"lgbm={LGBM_SPEC}")]
    ids = run_baselines(penguins, "penguins", "", model_specs=specs, folds=3, jobs=1)
    info = get_dataset(penguins, "penguins")
    X, y = load_split(penguins, info, "dev")
    assert y.dtype == object and set(y) == {"Adelie", "Chinstrap", "Gentoo"}
    encoder = LabelEncoder().fit(y)
    codes = encoder.transform(y)
    splits = list(make_splitter(info.task, 3, 1, 0).split(X, y))
    estimators = {
        "xgb": XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1),
        "lgbm": LGBMClassifier(n_estimators=30, num_leaves=7, n_jobs=1, verbose=-1),
    }
    for run_id, (name, estimator) in zip(ids, estimators.items()):
        run = get_run(penguins, run_id)
        assert run.status == "done" and run.model == name, run.error
        assert run.spec is not None
        assert run.spec.estimator_class == f"{type(estimator).__module__}.{type(estimator).__name__}"
        assert run.spec.params["n_estimators"] == 30  # the estimator's own parameters, not a wrapper's
        pipe = build_pipeline(BASELINES["linear"], info, X).set_params(model=estimator)
        expected = cross_validate(pipe, X, codes, cv=splits, scoring=scoring(info.task), return_train_score=True)
        for metric in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"):
            np.testing.assert_allclose([f.validation[metric] for f in run.fold_scores], expected[f"test_{metric}"])
            np.testing.assert_allclose([f.train[metric] for f in run.fold_scores], expected[f"train_{metric}"])
        np.testing.assert_allclose([f.validation["log_loss"] for f in run.fold_scores], -expected["test_log_loss"])

        stored = load_predictions(penguins, run_id, len(info.classes))
        predicted = pd.Series(encoder.inverse_transform(cross_val_predict(pipe, X, codes, cv=splits)), index=X.index)
        assert list(np.asarray(info.classes)[stored.labels]) == list(predicted.loc[stored.rows])
        proba = cross_val_predict(pipe, X, codes, cv=splits, method="predict_proba")
        columns = encoder.transform(list(info.classes))  # the stored columns are in the dataset's class order
        in_rows = pd.DataFrame(proba, index=X.index).loc[stored.rows].to_numpy()
        np.testing.assert_allclose(stored.proba, in_rows[:, columns])
        analysis = analyse_run(penguins, run_id)
        assert analysis.classification is not None and analysis.classification.classes == info.classes
        truth = y.loc[stored.rows]
        assert np.array_equal(
            analysis.classification.confusion, confusion_matrix(truth, predicted.loc[stored.rows], labels=info.classes)
        )
        assert evaluate_on_test(penguins, run_id).scores["accuracy"] > 0.8  # the test-set fit codes labels too
    (pair,) = compare_runs(penguins, ids).pairs
    assert pair.pairable and 0 <= pair.p <= 1


def test_only_what_needs_it_is_adapted_and_parameters_stay_the_estimators(penguins):
    needs_boosting()
    from lightgbm import LGBMClassifier, LGBMRanker
    from xgboost import XGBClassifier, XGBRanker, XGBRegressor

    from core.modeling.adapters import LabelCoded

    def model(option, task="multiclass", params=None):
        return spec_baseline(parse_model_option(option), task, ["x1"], ["color"]).estimator(task, params)

    coded = model(f"x={XGB_SPEC}", params={"n_estimators": 7})
    assert isinstance(coded, LabelCoded) and isinstance(coded.estimator, XGBClassifier)
    assert coded.get_params()["n_estimators"] == 7 and repr(coded) == repr(coded.estimator)
    assert "estimator" not in coded.get_params()  # --param, tune and curves see the estimator's own names
    assert type(model("x=xgboost.XGBRegressor(n_estimators=5)", "regression")) is XGBRegressor
    assert type(model("x=xgboost.XGBRanker(n_estimators=5)", "ranking")) is XGBRanker
    assert type(model(f"x={LGBM_SPEC}")) is LGBMClassifier and model(f"x={LGBM_SPEC}").n_jobs == 1
    assert model("x=lightgbm.LGBMClassifier()").n_jobs == 0  # None: every physical core, past a worker's cap
    ranker = model("x=lightgbm.LGBMRanker()", "ranking")
    assert type(ranker) is LGBMRanker and ranker.n_jobs == 0
    assert not isinstance(model(f"x={SVC_SPEC}"), LabelCoded)
    # not coded, so a class_weight keyed by the dataset's labels reaches scikit-learn as it is
    weighted = "lr=sklearn.linear_model.LogisticRegression(class_weight={'Adelie': 2.0}, max_iter=500)"
    (run_id,) = run_baselines(penguins, "penguins", "", model_specs=[parse_model_option(weighted)], folds=2)
    assert get_run(penguins, run_id).status == "done", get_run(penguins, run_id).error
    # a parameter given for a run reaches XGBoost through the coding; the run stores what was fitted
    specs = [
        parse_model_option(f"xgb={XGB_SPEC}"),
        parse_model_option("lgbm=lightgbm.LGBMClassifier(n_estimators=5, verbose=-1)"),
    ]
    ids = run_baselines(penguins, "penguins", "", model_specs=specs, params={"xgb": {"max_depth": 2}}, folds=2)
    xgb, lgbm = (get_run(penguins, i) for i in ids)
    assert xgb.status == "done" and xgb.spec is not None and xgb.spec.params["max_depth"] == 2
    assert lgbm.status == "done" and lgbm.spec is not None and lgbm.spec.params["n_jobs"] == 0


THREADS = """
import json, os, sys
import joblib, numpy as np, pandas as pd
from core.modeling.executors import run_task
from core.modeling.specs import parse_model_option, spec_baseline

def threads():
    return len(os.listdir("/proc/self/task"))

def fit(X, y, models):
    counts = [threads()]
    for model in models:
        model.fit(X, y)
        counts.append(threads())
    return counts

path, cap, options = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rng = np.random.RandomState(0)
X = pd.DataFrame(rng.normal(size=(1000, 5)), columns=[f"x{i}" for i in range(5)])
joblib.dump((X, pd.Series(rng.randint(0, 2, 1000))), path)
models = []
for option in options:  # built as a run builds them, which imports the library before the cap, as in a worker
    model = spec_baseline(parse_model_option(option.removesuffix(" n_jobs=None")), "binary", list(X.columns), [])
    models.append(model.estimator("binary"))
    if option.endswith(" n_jobs=None"):
        models[-1].set_params(n_jobs=None)
print(json.dumps(run_task(fit, {"models": models}, path, cap)))
"""


@pytest.mark.skipif(not Path("/proc/self/task").exists() or (os.cpu_count() or 1) < 2, reason="counts threads in /proc")
def test_a_workers_thread_cap_holds_xgboost_and_lightgbm_given_no_thread_count(tmp_path):
    """Inside a worker's threadpoolctl cap of 1, XGBoost and LightGBM fits start no OpenMP thread; allowed
    every core they do; and LightGBM's own n_jobs=None would, past the cap (hence n_jobs=0)."""
    needs_boosting()
    import json
    import subprocess
    import sys

    xgb = "x=xgboost.XGBClassifier(n_estimators=10)"
    lgbm = "x=lightgbm.LGBMClassifier(n_estimators=10, verbose=-1)"

    def threads_after_each_fit(cap, *options):
        args = [sys.executable, "-c", THREADS, str(tmp_path / "data.joblib"), str(cap), *options]
        out = subprocess.run(args, capture_output=True, text=True, cwd=Path(__file__).parents[2])
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    start, after_xgb, after_lgbm, after_lgbm_none = threads_after_each_fit(1, xgb, lgbm, f"{lgbm} n_jobs=None")
    assert start == after_xgb == after_lgbm < after_lgbm_none
    start, after_xgb = threads_after_each_fit(os.cpu_count(), xgb)
    assert start < after_xgb  # the cap is what held them
