"""The diagnosis on data built to show each bottleneck, with real fits; advice follows from the numbers."""

from __future__ import annotations

import json
import math

import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from core.analysis.curves import validation_curve
from core.analysis.diagnosis import GAP_FRACTION, diagnose
from core.analysis.holdout import evaluate_on_test
from core.analysis.targets import clear_target, get_target, set_target
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines, run_specs
from core.modeling.metrics import error_of
from core.report.serialize import diagnosis_to_dict
from tests.core import loop_data


def _kinds(d):
    return [a.kind for a in d.advice]


def _strict_json(d):
    return json.loads(json.dumps(diagnosis_to_dict(d), allow_nan=False))


def test_linear_model_on_circles_is_at_the_training_bottleneck(store, tmp_path):
    import_dataset(store, loop_data.circles(tmp_path), "y")
    dummy, linear, tree = run_baselines(store, "circles", "dummy,linear,tree", folds=5)
    d = diagnose(store, linear)
    assert d.bottleneck == "training"
    assert d.metric == "accuracy" and d.error_definition == "1 − accuracy"
    assert d.reference_source == "best run" and d.reference_run_id == tree and d.dummy_run_id == dummy
    assert d.train_error > 0.3 and d.reference_error < 0.05  # the rings are separable, just not linearly
    assert d.avoidable_bias == pytest.approx(d.train_error - d.reference_error)
    assert d.avoidable_bias > d.variance and d.avoidable_bias > d.threshold
    assert d.threshold == pytest.approx(GAP_FRACTION * d.dummy_error)
    # first advice: the better model that exists, by its run id and numbers
    first = d.advice[0]
    assert first.kind == "more_expressive_model" and first.numbers["run"] == tree
    assert "tree" in first.text and f"run {tree}" in first.text and first.command == f"mlloop compare {linear} {tree}"
    assert "raise_max_iter" not in _kinds(d)  # it converged: no advice about it
    payload = _strict_json(d)
    assert payload["bottleneck"] == "training" and payload["reference"] == {
        "error": pytest.approx(d.reference_error),
        "source": "best run",
        "run": tree,
        "runs": 3,
    }
    # the tree on the same data: nothing large is left
    assert diagnose(store, tree).bottleneck == "none"


def test_a_target_is_the_reference_when_no_better_run_exists(store, tmp_path):
    import_dataset(store, loop_data.circles(tmp_path), "y")
    _, linear = run_baselines(store, "circles", "dummy,linear", folds=5)
    assert diagnose(store, linear).bottleneck != "training"  # nothing shows a lower error is possible
    set_target(store, "circles", 0.95, note="people separate the rings by eye")
    d = diagnose(store, linear)
    assert d.bottleneck == "training" and d.reference_source == "target"
    assert d.reference_error == pytest.approx(0.05) and d.reference_run_id is None
    more = next(a for a in d.advice if a.kind == "more_expressive_model")
    assert "tree, forest, boosting not yet run" in more.text
    assert more.command == "mlloop run circles --models tree,forest,boosting --cv 5"


def test_a_fit_that_did_not_converge_gets_raise_max_iter(store, tmp_path):
    import_dataset(store, loop_data.circles(tmp_path), "y")
    _, _, starved = run_specs(store, "circles", [("dummy", {}), ("tree", {}), ("linear", {"max_iter": 1})], folds=3)
    d = diagnose(store, starved)
    assert d.bottleneck == "training"
    advice = next(a for a in d.advice if a.kind == "raise_max_iter")
    assert advice.numbers == {"max_iter": 1} and "did not converge" in advice.text
    assert advice.command == f"mlloop tune {starved} --param max_iter=5,20"


def test_deep_tree_on_small_noisy_data_is_at_the_validation_bottleneck(store, tmp_path):
    import_dataset(store, loop_data.noisy(tmp_path), "y")
    dummy, tree = run_baselines(store, "noisy", "dummy,tree", folds=5)
    d = diagnose(store, tree)
    assert d.bottleneck == "validation"
    assert d.train_error == 0.0 and d.variance == pytest.approx(d.validation_error)
    assert d.variance > max(d.threshold, d.noise) and d.variance > d.avoidable_bias
    assert d.more_data_helps is None and d.curve_size is None  # no learning curve yet: it says how to get one
    kinds = _kinds(d)
    assert kinds[0] == "learning_curve" and "tune_max_depth" in kinds and "feature_selection" in kinds
    features = next(a for a in d.advice if a.kind == "feature_selection")
    assert features.numbers == {"rows": 96, "features": 30} and "96 development rows for 30 features" in features.text

    # with both curves stored, the advice uses them
    curve = validation_curve(store, tree)
    d = diagnose(store, tree, compute_curve=True)
    assert d.bottleneck == "validation" and d.curve_size is not None and d.more_data_helps is False
    regularise = d.advice[0]
    best = curve.best_setting
    assert regularise.kind == "regularise" and regularise.numbers["max_depth"] == best.value
    assert f"max_depth={best.label}" in regularise.text and best.value is not None
    assert regularise.command == f"mlloop tune {tree} --param max_depth={json.dumps(best.value)}"
    assert "learning_curve" not in _kinds(d) and "more_data" not in _kinds(d)
    assert any("unlikely to help" in n for n in d.notes)


def test_more_data_helps_when_the_learning_curve_still_falls(store, tmp_path):
    import_dataset(store, loop_data.growing(tmp_path), "y")
    (linear,) = run_baselines(store, "growing", "linear", folds=5)
    d = diagnose(store, linear, compute_curve=True, jobs=2)
    assert d.more_data_helps is True and d.curve_slope < -2 * 0.02 * d.dummy_error
    assert d.bottleneck == "validation"
    more = d.advice[0]
    assert more.kind == "more_data" and more.numbers["size"] == d.curve_size
    assert f"{d.curve_slope:.3f}" in more.text


def test_good_model_on_easy_problem_has_no_bottleneck_then_the_test_confirms(store, tmp_path):
    import_dataset(store, loop_data.easy(tmp_path), "y")
    (linear,) = run_baselines(store, "easy", "linear", folds=5)
    d = diagnose(store, linear)
    assert d.bottleneck == "none" and d.validation_error < 0.05 and d.test_error is None
    assert d.dummy_run_id is None  # no dummy run: computed on the run's folds, like a dummy run would be
    info_X, info_y = load_split(store, _dataset(store, "easy"), "dev")
    expected = cross_val_score(
        DummyClassifier(strategy="prior"),
        info_X.fillna(0),
        info_y,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="accuracy",
    ).mean()
    assert d.dummy_error == pytest.approx(1 - expected)
    assert _kinds(d)[0] == "evaluate_on_test" and d.advice[0].command == f"mlloop test {linear}"
    evaluate_on_test(store, linear)
    d = diagnose(store, linear)
    assert d.bottleneck == "none" and d.test_error is not None and abs(d.test_gap) < d.test_threshold
    assert _kinds(d)[0] == "done" and d.test_evaluations == 1


def test_a_test_split_from_another_distribution_is_the_test_bottleneck(store, tmp_path):
    reference = import_dataset(store, loop_data.easy(tmp_path), "y")
    test_rows = load_split(store, reference, "test")[0].index.to_numpy()
    info = import_dataset(store, loop_data.shifted(tmp_path, test_rows), "y")
    # the split depends on the labels only: the mirrored rows are exactly the locked test rows
    assert list(load_split(store, info, "test")[0].index) == list(test_rows)
    (linear,) = run_baselines(store, "shifted", "linear", folds=5)
    before = diagnose(store, linear)
    assert before.bottleneck == "none"  # the development rows alone look fine
    evaluation = evaluate_on_test(store, linear)
    assert evaluation.scores["accuracy"] < 0.2
    d = diagnose(store, linear)
    assert d.bottleneck == "test" and d.test_evaluation_id == evaluation.id
    assert d.test_gap == pytest.approx(d.test_error - d.validation_error) and d.test_gap > 0.5
    assert _kinds(d)[:3] == ["stop_tuning_on_dev", "check_distributions", "fresh_data"]
    assert f"{d.test_error:.3f}" in d.advice[0].text
    payload = _strict_json(d)
    assert payload["bottleneck"] == "test" and payload["test"]["evaluation"] == evaluation.id


def test_advice_differs_with_the_numbers(store, tmp_path):
    """Not one generic list: two runs on one dataset at different bottlenecks get different advice."""
    import_dataset(store, loop_data.noisy(tmp_path), "y")
    dummy, linear, tree = run_baselines(store, "noisy", "dummy,linear,tree", params={"linear": {"C": 0.01}}, folds=5)
    a, b = diagnose(store, linear), diagnose(store, tree)
    assert (a.bottleneck, b.bottleneck) != ("none", "none")
    assert _kinds(a) != _kinds(b)
    assert [x.text for x in a.advice] != [x.text for x in b.advice]


def test_targets_are_validated_stored_and_converted_to_errors(store, binary_csv, regression_csv):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    t = set_target(store, "binary", 0.9)
    assert (t.metric, t.score, t.error) == ("accuracy", 0.9, pytest.approx(0.1))
    t = set_target(store, "binary", 0.8, metric="roc-auc", note="  the   vendor's model ")
    assert t.metric == "roc_auc" and t.note == "the vendor's model" and get_target(store, "binary") == t
    r = set_target(store, "regression", 0.4)
    assert (r.metric, r.error) == ("rmse", 0.4)
    assert error_of("r2", 0.75) == pytest.approx(0.25) and error_of("log_loss", 0.3) == 0.3
    for args, match in [
        (("binary", 1.5), "at most 1"),
        (("binary", -0.1), "between 0 and 1"),
        (("regression", -1.0), "cannot be negative"),
        (("binary", 0.9, "rmse"), "unknown metric"),
        (("binary", math.nan), "finite"),
        (("nosuch", 0.9), "no dataset"),
    ]:
        with pytest.raises(InputError, match=match):
            set_target(store, *args)
    assert get_target(store, "binary").score == 0.8
    assert clear_target(store, "binary") and get_target(store, "binary") is None
    assert not clear_target(store, "binary")


def test_a_target_in_another_metric_moves_every_error_to_it(store, regression_csv):
    import_dataset(store, regression_csv, "y")
    dummy, linear = run_baselines(store, "regression", "dummy,linear", folds=3)
    assert diagnose(store, linear).error_definition == "RMSE"
    set_target(store, "regression", 0.9, metric="r2")
    d = diagnose(store, linear)
    assert d.metric == "r2" and d.error_definition == "1 − R²" and d.reference_error == pytest.approx(0.1)
    from core.store.runs import get_run

    run = get_run(store, linear)
    assert d.validation_error == pytest.approx(1 - run.summaries["r2"].val_mean)


def test_a_run_without_scores_cannot_be_diagnosed(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (failed,) = run_baselines(store, "binary", "tree", params={"tree": {"class_weight": {"zzz": 2.0}}}, folds=3)
    with pytest.raises(InputError, match="no finished folds"):
        diagnose(store, failed)


def _dataset(store, name):
    from core.store.datasets import get_dataset

    return get_dataset(store, name)
