"""core.api, the Python API: real imports, real fits, the same folds as the CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import cross_validate

from core import api
from core.analysis.curves import learning_curve, validation_curve
from core.analysis.holdout import evaluate_on_test, list_test_evaluations
from core.analysis.tuning import tune
from core.data.frames import load_split
from core.errors import InputError, RunCancelled
from core.modeling.evaluation import build_pipeline, make_splitter, scoring
from core.modeling.models import BASELINES
from core.modeling.specs import OBJECT_PREFIX
from core.store import Store
from core.store.datasets import get_dataset, list_datasets
from core.store.runs import get_run, list_runs
from tests.conftest import mlloop_main, write_binary_csv


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """A store with the binary dataset imported from a DataFrame and one LogisticRegression object run."""
    folder = tmp_path_factory.mktemp("api")
    frame = pd.read_csv(write_binary_csv(folder / "binary.csv"))
    store = api.open_store(folder / "s.duckdb")
    api.import_data(store, frame, "label", name="binary")
    events: list[api.Progress] = []
    estimator = LogisticRegression(C=0.5)
    run_id = api.run(store, "binary", estimator, name="lr", cv=3, on_progress=events.append)
    return store, frame, estimator, run_id, events


def test_open_store_defaults_to_the_clis_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLLOOP_STORE", str(tmp_path / "env.duckdb"))
    assert api.open_store().path == tmp_path / "env.duckdb"
    monkeypatch.delenv("MLLOOP_STORE")
    monkeypatch.chdir(tmp_path)
    assert api.open_store().path == tmp_path / "mlloop.duckdb"


def test_a_dataframe_imports_as_its_parquet_file_would(world, tmp_path):
    store, frame, *_ = world
    path = tmp_path / "same.parquet"
    frame.to_parquet(path, index=False)
    from_file = api.import_data(store, path, "label", name="from_file")
    from_frame = get_dataset(store, "binary")
    assert from_frame.source == api.DATAFRAME_SOURCE and from_file.source == str(path)
    assert from_frame.file_hash == from_file.file_hash
    assert (from_frame.n_dev, from_frame.n_test) == (from_file.n_dev, from_file.n_test)
    assert from_frame.classes == from_file.classes == ("no", "yes")
    assert from_frame.columns == from_file.columns
    for part in ("dev", "test"):
        X, y = load_split(store, from_frame, part)
        X_file, y_file = load_split(store, from_file, part)
        pd.testing.assert_frame_equal(X, X_file)
        pd.testing.assert_series_equal(y, y_file)
        # the rows read back are the DataFrame's rows (the index is the row number)
        np.testing.assert_allclose(X["x1"], frame.loc[X.index, "x1"])
        assert list(y) == list(frame.loc[y.index, "label"])


def test_a_dataframe_needs_a_name_and_bad_data_is_one_line_with_the_store_unchanged(world):
    store, frame, *_ = world
    before = len(list_datasets(store))
    with pytest.raises(InputError, match="pass name="):
        api.import_data(store, frame, "label")
    with pytest.raises(InputError, match="DataFrame"):
        api.import_data(store, [1, 2, 3], "label", name="list")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="label"):
        api.import_data(store, frame.drop(columns="label"), "label", name="no_target")
    assert len(list_datasets(store)) == before


def test_an_estimator_object_run_scores_as_cross_validate_on_the_same_folds(world):
    store, _, estimator, run_id, _ = world
    assert isinstance(run_id, int)
    run = get_run(store, run_id)
    assert run.status == "done" and run.n_folds_done == 3, run.error
    info = get_dataset(store, "binary")
    X, y = load_split(store, info, "dev")
    pipe = build_pipeline(BASELINES["linear"], info, X).set_params(model=LogisticRegression(C=0.5))
    expected = cross_validate(
        pipe, X, y, cv=make_splitter(info.task, 3), scoring=scoring(info.task), return_train_score=True
    )
    for metric, sign in [("accuracy", 1), ("roc_auc", 1), ("log_loss", -1)]:
        np.testing.assert_allclose([f.validation[metric] for f in run.fold_scores], sign * expected[f"test_{metric}"])
        np.testing.assert_allclose([f.train[metric] for f in run.fold_scores], sign * expected[f"train_{metric}"])
    assert not hasattr(estimator, "coef_")  # the caller's object is cloned, never fitted
    assert run.model == "lr" and run.spec is not None
    assert run.spec.text == OBJECT_PREFIX + "LogisticRegression(C=0.5)"
    assert run.spec.estimator_class == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.spec.params == {k: v for k, v in estimator.get_params().items()}


def test_the_progress_callback_is_called_after_every_fold(world):
    _, _, _, run_id, events = world
    folds = [e for e in events if e.fold is not None]
    assert [(e.run_id, e.done, e.total, e.status) for e in folds] == [(run_id, i, 3, "running") for i in (1, 2, 3)]
    assert sorted(e.fold.index for e in folds) == [0, 1, 2]
    assert (events[-1].status, events[-1].done) == ("done", 3)


def test_runs_and_folds_dataframes(world):
    store, frame, _, run_id, _ = world
    dummy_id = api.run(store, "binary", "dummy", cv=3)
    table = api.runs(store)
    assert list(table.columns[:7]) == ["id", "group", "dataset", "model", "status", "cv", "folds_done"]
    assert {"accuracy_mean", "accuracy_std", "roc_auc_mean", "log_loss_std"} <= set(table.columns)
    assert list(table["id"]) == sorted(r.id for r in list_runs(store))
    row = table.set_index("id").loc[run_id]
    record = get_run(store, run_id)
    assert list(row[["dataset", "model", "status", "cv", "folds_done"]]) == ["binary", "lr", "done", "3×1", 3]
    assert row["group"] == record.group_id
    assert row["accuracy_mean"] == pytest.approx(record.summaries["accuracy"].val_mean)
    assert row["accuracy_std"] == pytest.approx(record.summaries["accuracy"].val_std)
    api.import_data(store, frame.sample(frac=1.0, random_state=1), "label", name="shuffled")
    other_id = api.run(store, "shuffled", "dummy", cv=3)
    assert list(api.runs(store, "shuffled")["id"]) == [other_id]
    assert other_id in set(api.runs(store)["id"])

    folds = api.folds(store, [run_id, dummy_id])
    assert list(folds.columns) == ["run", "repeat", "fold", "metric", "train", "validation"]
    assert set(folds["run"]) == {run_id, dummy_id}
    assert len(folds) == 2 * 3 * len(record.summaries)
    accuracy = folds[(folds["run"] == run_id) & (folds["metric"] == "accuracy")].sort_values("fold")
    assert list(accuracy["validation"]) == [f.validation["accuracy"] for f in record.fold_scores]
    assert list(accuracy["train"]) == [f.train["accuracy"] for f in record.fold_scores]
    assert set(api.folds(store)["run"]) == {r.id for r in list_runs(store) if r.n_folds_done}

    comparison = api.compare(store, [run_id, dummy_id])
    assert comparison.reference_id == run_id and comparison.metric == "accuracy"
    (pair,) = comparison.pairs
    assert pair.pairable and 0 <= pair.p <= 1 and math.isfinite(pair.t)


def test_a_run_made_through_the_api_is_listed_by_mlloop_runs(world, capsys):
    store, _, _, run_id, _ = world
    assert mlloop_main(store, "runs") == 0
    lines = capsys.readouterr().out.splitlines()
    group = get_run(store, run_id).group_id
    assert [str(run_id), str(group), "binary", "lr", "done", "3/3"] in [line.split()[:6] for line in lines]


def test_specs_and_built_ins_by_name(world):
    store, *_ = world
    spec_id = api.run(store, "binary", "sklearn.linear_model.LogisticRegression(C=0.5)", cv=3)
    named_id = api.run(store, "binary", "lr2=sklearn.linear_model.LogisticRegression(C=0.5)", cv=3)
    spec, named = get_run(store, spec_id), get_run(store, named_id)
    assert (spec.model, named.model) == ("LogisticRegression", "lr2")
    assert spec.spec is not None and spec.spec.text == "sklearn.linear_model.LogisticRegression(C=0.5)"
    lr = get_run(store, world[3])
    assert [f.validation for f in spec.fold_scores] == [f.validation for f in lr.fold_scores]


def test_bad_models_are_refused_before_any_run_exists(world):
    store, *_ = world
    before = len(list_runs(store))
    for model, message in [
        (LogisticRegression, "is a class"),
        (LinearRegression(), "is a regressor"),
        (object(), "is not an estimator"),
        ("dummy=sklearn.dummy.DummyClassifier()", "built-in"),
        ("os.system('touch x')", "not a literal|positional"),
    ]:
        with pytest.raises(InputError, match=message):
            api.run(store, "binary", model, cv=3)
    with pytest.raises(InputError, match="keeps its name"):
        api.run(store, "binary", "dummy", name="mine", cv=3)
    assert len(list_runs(store)) == before


def test_a_stop_token_set_in_the_callback_cancels_and_keeps_the_finished_folds(world):
    store, *_ = world
    stop = api.StopToken()
    created: list[int] = []

    def on_progress(p: api.Progress) -> None:
        created.append(p.run_id)
        if p.fold is not None:
            stop.stop()

    with pytest.raises(RunCancelled, match=r"^run \d+ cancelled"):
        api.run(store, "binary", LogisticRegression(), name="stopped", cv=3, on_progress=on_progress, stop=stop)
    run = get_run(store, created[0])
    assert run.status == "cancelled" and run.n_folds_done == 1
    folds = api.folds(store, [run.id])
    assert set(folds["fold"]) == {run.fold_scores[0].fold} and len(folds) == len(run.fold_scores[0].validation)


def test_features_that_re_create_the_model_refuse_a_python_object_run_in_one_line(world, capsys):
    store, _, _, run_id, _ = world
    message = rf"run {run_id}'s model lr was a Python object .*cannot be re-created"
    for attempt in (
        lambda: tune(store, run_id, {"C": [0.1, 1.0]}),
        lambda: learning_curve(store, run_id),
        lambda: validation_curve(store, run_id, "C", [0.1, 1.0]),
        lambda: evaluate_on_test(store, run_id),
    ):
        with pytest.raises(InputError, match=message):
            attempt()
    before = len(list_runs(store))
    assert mlloop_main(store, "tune", str(run_id), "--param", "C=0.1,1") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Python object" in err[0] and "Traceback" not in err[0]
    assert len(list_runs(store)) == before


def test_a_store_opened_twice_sees_the_api_runs(world):
    store, _, _, run_id, _ = world
    assert run_id in {r.id for r in list_runs(Store(store.path))}


def test_params_are_set_on_the_estimator_and_all_runs_every_built_in(world):
    store, *_ = world
    run = get_run(store, api.run(store, "binary", LogisticRegression(), name="lr_c", params={"C": 0.5}, cv=3))
    assert run.params == {"C": 0.5} and run.spec is not None and run.spec.params["C"] == 0.5
    assert run.spec.text == OBJECT_PREFIX + "LogisticRegression()"  # the object as given; params on top
    ids = api.run(store, "binary", "all", cv=2)
    assert isinstance(ids, list) and [get_run(store, i).model for i in ids] == list(BASELINES)


def test_ctrl_c_during_a_run_cancels_it_and_keeps_the_finished_folds(world):
    store, *_ = world
    seen: list[api.Progress] = []

    def interrupt(p: api.Progress) -> None:
        seen.append(p)
        if p.fold is not None:
            raise KeyboardInterrupt  # what Ctrl-C raises in the calling thread

    with pytest.raises(RunCancelled, match="finished folds are kept"):
        api.run(store, "binary", LogisticRegression(), name="interrupted", cv=3, on_progress=interrupt)
    run = get_run(store, seen[0].run_id)
    assert (run.status, run.n_folds_done) == ("cancelled", 1)


NOTEBOOK = """
import sys
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from core import api


class Shrunk(ClassifierMixin, BaseEstimator):  # defined in __main__, as in a notebook: not importable
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


store = api.open_store(sys.argv[1])
run_id = api.run(store, "binary", Shrunk(C=0.5), cv=3, jobs=2)
row = api.runs(store).set_index("id").loc[run_id]
print(row["model"], row["status"], row["folds_done"])
"""


def test_a_class_defined_in_a_notebook_reaches_worker_processes_in_memory(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    store = Store(tmp_path / "s.duckdb")
    api.import_data(store, write_binary_csv(tmp_path / "binary.csv"), "label")
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK)
    out = subprocess.run(
        [sys.executable, str(script), str(store.path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Shrunk", "done", "3"]
    run = get_run(store, 1)
    assert run.spec is not None and run.spec.estimator_class == "__main__.Shrunk" and run.spec.params == {"C": 0.5}


def test_compare_diagnose_errors_show_and_exports_work_on_a_python_object_run(world, capsys):
    from core.analysis.diagnosis import diagnose
    from core.analysis.errors import analyse_run
    from core.report.export import export_runs

    store, _, _, run_id, _ = world
    assert diagnose(store, run_id).run_id == run_id
    assert analyse_run(store, run_id).n_rows == get_dataset(store, "binary").n_dev
    assert "LogisticRegression(C=0.5)" in export_runs(store, [run_id], "md")
    assert mlloop_main(store, "show", str(run_id)) == 0
    assert OBJECT_PREFIX.strip() in capsys.readouterr().out
    for command in (["curve", str(run_id)], ["test", str(run_id), "--yes"], ["diagnose", str(run_id), "--compute"]):
        assert mlloop_main(store, *command) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Python object" in err[0], command
    assert not list_test_evaluations(store, run_id=run_id)  # refused before the test rows were read


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    import re
    import shutil

    from tests.conftest import REPO, SAMPLES

    section = (REPO / "README.md").read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (tmp_path / "sample_data").mkdir()
    shutil.copy(SAMPLES / "penguins.csv", tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(code, "README.md", "exec"), names)
    store, knn, forest, lr = names["store"], names["knn"], names["forest"], names["lr"]
    assert store.path == tmp_path / "mlloop.duckdb"
    assert get_dataset(store, "penguins").source == api.DATAFRAME_SOURCE
    progress = [f"knn: {i}/5 folds, running" for i in range(1, 6)] + ["knn: 5/5 folds, done"]
    assert capsys.readouterr().out.splitlines() == progress
    assert list(names["table"]["model"]) == ["knn", "forest", "lr"] and set(names["table"]["status"]) == {"done"}
    assert "accuracy_mean" in names["table"].columns
    assert set(names["scores"]["run"]) == {knn, lr} and list(names["scores"].columns[:3]) == ["run", "repeat", "fold"]
    comparison = names["comparison"]
    assert comparison.reference_id == knn and comparison.metric == "accuracy"
    assert [p.a_id for p in comparison.pairs] == [forest, lr] and all(p.pairable for p in comparison.pairs)
    assert get_run(store, knn).spec.text == OBJECT_PREFIX + "KNeighborsClassifier(n_neighbors=7)"


def test_a_dataframe_named_like_a_path_is_still_one_dataset(world):
    store, frame, *_ = world
    info = api.import_data(store, frame.head(60), "label", name="a/b c")
    assert get_dataset(store, info.id).name == "a/b c" and get_dataset(store, info.id).source == api.DATAFRAME_SOURCE


def test_diagnosing_a_python_object_run_on_a_version_computes_its_dummy_on_the_versions_folds(world):
    from core.analysis.diagnosis import diagnose
    from core.data.versions import Edit, create_version

    store, *_ = world
    X, _ = load_split(store, get_dataset(store, "binary"))
    version = create_version(store, "binary", Edit(drop_rows=tuple(int(r) for r in X.index[:7])))
    run_id = api.run(store, version.name, LogisticRegression(), name="lr_v", cv=3)
    computed = diagnose(store, run_id)
    assert computed.dummy_run_id is None  # no dummy stored for the version yet: computed on the run's folds
    dummy = get_run(store, api.run(store, version.name, "dummy", cv=3))
    assert get_run(store, run_id).folds_hash == dummy.folds_hash
    assert computed.dummy_error == pytest.approx(1 - dummy.summaries["accuracy"].val_mean)
