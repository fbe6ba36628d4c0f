"""Every step of the loop works on a model spec run (issue 10 part 2): tune, curves, the test set,
compare, diagnose and the run summary. The spec is re-created from its stored text each time."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from core.analysis.compare import compare_runs
from core.analysis.curves import learning_curve, load_curve, validation_curve
from core.analysis.diagnosis import diagnose
from core.analysis.holdout import evaluate_on_test
from core.analysis.tuning import tune
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import build_pipeline, run_baselines
from core.modeling.models import BASELINES
from core.modeling.specs import parse_model_option
from core.report.export import export_runs
from core.store import Store
from core.store.datasets import get_dataset
from core.store.runs import get_run
from tests.core.test_specs import PIPELINE_FILE

LR = "sklearn.linear_model.LogisticRegression(C=0.5)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import write_binary_csv

    folder = tmp_path_factory.mktemp("spec_loop")
    store = Store(folder / "s.duckdb")
    import_dataset(store, write_binary_csv(folder / "binary.csv"), "label")
    (folder / "pipe.py").write_text(PIPELINE_FILE)
    dummy, lr, pipe = run_baselines(
        store,
        "binary",
        "dummy",
        model_specs=[parse_model_option(f"lr={LR}"), parse_model_option(f"pipe={folder}/pipe.py:build")],
        folds=3,
        jobs=1,
    )
    return store, {"dummy": dummy, "lr": lr, "pipe": pipe}


def test_tune_searches_the_estimators_own_parameters_and_keeps_the_spec(world):
    store, ids = world
    candidates = [get_run(store, r) for r in tune(store, ids["lr"], {"C": [0.1, 2.0]}, jobs=1)]
    assert [c.params for c in candidates] == [{"C": 0.1}, {"C": 2.0}]
    for c in candidates:
        assert c.status == "done" and c.model == "lr" and c.spec is not None and c.spec.text == LR
        assert c.spec.params["C"] == c.params["C"]
    # the candidate's scores are those of the spec's estimator with that parameter
    (direct,) = run_baselines(
        store, "binary", "", model_specs=[parse_model_option(f"lr={LR}")], params={"lr": {"C": 2.0}}, folds=3
    )
    np.testing.assert_allclose(
        [f.validation["accuracy"] for f in candidates[1].fold_scores],
        [f.validation["accuracy"] for f in get_run(store, direct).fold_scores],
    )


def test_tune_on_a_function_specs_pipeline_takes_step_parameters(world):
    store, ids = world
    (candidate,) = [get_run(store, r) for r in tune(store, ids["pipe"], {"logit__C": [0.05]}, jobs=1)]
    assert candidate.status == "done" and candidate.spec is not None
    assert candidate.spec.params["logit__C"] == 0.05
    with pytest.raises(InputError, match="unknown parameter 'nonexistent' for pipe"):
        tune(store, ids["pipe"], {"nonexistent": [1]})


def test_validation_curve_of_a_spec_needs_a_parameter_and_accepts_any(world):
    store, ids = world
    with pytest.raises(InputError, match="lr has no complexity knob built in; give one and its values"):
        validation_curve(store, ids["lr"], jobs=1)
    with pytest.raises(InputError, match="give the values of 'C'"):
        validation_curve(store, ids["lr"], "C", jobs=1)
    curve = validation_curve(store, ids["lr"], "C", [0.01, 0.5, 10.0], jobs=1)
    assert curve.complete and [s.value for s in curve.settings] == [0.01, 0.5, 10.0]
    assert curve.current == 1  # the run's own C, from what its spec resolved to
    stored = load_curve(store, ids["lr"], "validation", "C")
    assert stored is not None and stored.current == 1


def test_learning_curve_of_a_spec_run(world):
    store, ids = world
    curve = learning_curve(store, ids["pipe"], [40, 80], jobs=1)
    assert curve.complete and not curve.errors


def test_test_set_evaluation_refits_the_spec_on_the_development_rows(world):
    store, ids = world
    evaluation = evaluate_on_test(store, ids["lr"])
    info = get_dataset(store, "binary")
    X_dev, y_dev = load_split(store, info, "dev")
    X_test, y_test = load_split(store, info, "test")
    pipe = build_pipeline(BASELINES["linear"], info, X_dev).set_params(model=LogisticRegression(C=0.5))
    assert evaluation.scores["accuracy"] == pytest.approx(pipe.fit(X_dev, y_dev).score(X_test, y_test))


def test_compare_and_diagnose_a_spec_run(world):
    store, ids = world
    comparison = compare_runs(store, [ids["lr"], ids["dummy"]])
    (test,) = comparison.pairs
    assert np.isfinite(test.p)
    assert diagnose(store, ids["lr"]).dummy_run_id == ids["dummy"]


def test_the_run_summary_and_exports_show_the_spec(world):
    store, ids = world
    text = export_runs(store, [ids["lr"]], "md").replace("\\_", "_")  # Markdown escapes underscores
    assert f"| spec | {LR} |" in text
    assert "| estimator | sklearn.linear_model._logistic.LogisticRegression |" in text
    assert "C=0.5, class_weight=null" in text  # get_params(), as stored
    data = json.loads(export_runs(store, [ids["lr"]], "json"))
    assert data["run"]["spec"]["text"] == LR
