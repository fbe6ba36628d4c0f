"""``mlloop export RUN... --mlflow URI`` against a real MLflow store (a sqlite:/// database in a temp folder),
read back with MlflowClient (README: "Use the store from other tools")."""

from __future__ import annotations

import pytest

from core.report.export import export_runs
from core.report.mlflow_export import SUMMARY_FILES
from core.store import Store
from core.store.runs import get_run
from tests.conftest import make_runs_store, mlloop_main, write_binary_csv


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("mlflow")
    return make_runs_store(folder / "s.duckdb", write_binary_csv(folder / "binary.csv"), "label", "dummy,tree")


@pytest.fixture
def mlflow_client():
    pytest.importorskip("mlflow", reason="the MLflow export needs the mlflow extra: pip install -e '.[mlflow]'")
    from mlflow import MlflowClient

    return MlflowClient


def test_mlflow_round_trip_and_a_second_export_updates_the_same_runs(db, tmp_path, monkeypatch, capsys, mlflow_client):
    monkeypatch.chdir(tmp_path)  # a sqlite store's artifacts go to ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert mlloop_main(db, "export", "1", "2", "--mlflow", uri, "--experiment", "penguins") == 0
    first = capsys.readouterr().out.splitlines()
    assert [line.endswith("(created)") for line in first] == [True, True]

    client = mlflow_client(tracking_uri=uri)
    experiment = client.get_experiment_by_name("penguins")
    found = client.search_runs([experiment.experiment_id], "tags.`mlloop.run_id` = '2'")
    assert len(found) == 1
    mlflow_run, run = found[0], get_run(db, 2)
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.params["model"] == "tree" and mlflow_run.data.params["cv_folds"] == "3"
    tags = mlflow_run.data.tags
    assert tags["mlloop.dataset"] == "binary" and tags["mlloop.dataset_sha256"] == run.dataset_hash
    assert (
        tags["mlloop.folds_hash"] == run.folds_hash
        and tags["mlloop.versions.scikit-learn"] == run.versions["scikit-learn"]
    )
    assert tags["mlflow.runName"] == "tree on binary (mlloop run 2)"
    metrics = mlflow_run.data.metrics
    for metric, s in run.summaries.items():
        assert metrics[metric] == pytest.approx(s.val_mean)  # the last step: the mean
        assert metrics[f"train_{metric}"] == pytest.approx(s.train_mean)
    history = sorted((m.step, m.value) for m in client.get_metric_history(mlflow_run.info.run_id, "accuracy"))
    folds = sorted((f.index, f.validation["accuracy"]) for f in run.fold_scores)
    assert history == pytest.approx([*folds, (3, run.summaries["accuracy"].val_mean)])
    local = client.download_artifacts(mlflow_run.info.run_id, SUMMARY_FILES[0], str(tmp_path))
    with open(local, encoding="utf-8") as fh:
        assert fh.read() == export_runs(db, [2], "md")
    assert {a.path for a in client.list_artifacts(mlflow_run.info.run_id)} == set(SUMMARY_FILES)

    assert mlloop_main(db, "export", "2", "--mlflow", uri, "--experiment", "penguins") == 0
    second = capsys.readouterr().out.strip()
    assert second == first[1].replace("(created)", "(updated)")
    assert len(client.search_runs([experiment.experiment_id], "tags.`mlloop.run_id` = '2'")) == 1
    assert len(client.search_runs([experiment.experiment_id])) == 2
    again = client.get_metric_history(mlflow_run.info.run_id, "accuracy")
    assert len(again) == len(history)  # nothing logged twice


def test_mlflow_errors_are_one_line_exit_2(db, tmp_path, monkeypatch, capsys, mlflow_client):
    monkeypatch.chdir(tmp_path)
    before = db.path.read_bytes()
    for uri in ("http://127.0.0.1:9", "nosuch://tracking"):
        assert mlloop_main(db, "export", "1", "--mlflow", uri) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mlloop: error: cannot export to MLflow at {uri}: ")
        assert len(err.strip().splitlines()) == 1
    assert mlloop_main(db, "export", "1", "--mlflow", f"sqlite:///{tmp_path / 'm.db'}", "-o", "x.md") == 2
    assert "without -o" in capsys.readouterr().err
    assert db.path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == []
