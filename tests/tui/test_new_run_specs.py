"""The new-run dialog offers the store's model specs and a new one, and passes the cluster field on (issues 10, 11)."""

from __future__ import annotations

import pytest

from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.modeling.specs import parse_model_option
from core.store import Store
from core.store.runs import list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.new_run import ModelList, NewRunDialog, RequestError, build_request
from mlloop_tui.runner import RunRequest
from tests.conftest import local_cluster
from tests.tui.conftest import wait_for
from tests.tui.test_new_run import error_text

SPEC = "sklearn.linear_model.LogisticRegression(C=0.5)"


def spec_store(tmp_path, binary_csv) -> Store:
    """The binary dataset and one run of the spec ``lr``, so the store has a spec to offer."""
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    run_baselines(store, "binary", "", model_specs=[parse_model_option(f"lr={SPEC}")], folds=2)
    return store


def record_starts(app) -> list:
    """The app's launched children, kept after they end (the app forgets them once reaped)."""
    started: list = []
    real_start = app.launcher.start
    app.launcher.start = lambda request: started.append(real_start(request)) or started[-1]
    return started


async def finished(pilot, started) -> None:
    await wait_for(pilot, lambda: started and started[-1].process.poll() is not None, timeout=300)


async def new_run(pilot, dataset: str) -> NewRunDialog:
    """The dialog as ``n`` opens it (its request goes to the app, which starts the child), loaded; one
    worker process and two folds keep the runs it starts short."""
    app = pilot.app
    app.action_new_run(dataset)
    await wait_for(pilot, lambda: isinstance(app.screen, NewRunDialog) and app.screen.datasets_loaded)
    for widget in app.screen.query("Input"):
        widget.cursor_blink = False
    app.screen.query_one("#jobs").value = "1"
    app.screen.query_one("#folds").value = "2"
    return app.screen


async def test_a_stored_spec_is_offered_and_its_run_gets_model_name_spec(tmp_path, binary_csv, monkeypatch):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    store = spec_store(tmp_path, binary_csv)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        dialog = await new_run(pilot, "binary")
        models = dialog.query_one(ModelList)
        assert models.option_count == 7 and models.get_option_at_index(6).value == f"lr={SPEC}"
        assert "lr" in str(models.get_option_at_index(6).prompt) and f"lr={SPEC}" not in models.selected
        models.deselect_all()
        models.highlighted = 6
        await pilot.press("space", "enter")  # the stored spec alone
        await finished(pilot, started)
        (child,) = started
        assert child.request == RunRequest("binary", (), folds=2, jobs=1, specs=(f"lr={SPEC}",), cluster="")
        argv = child.process.args
        assert argv[argv.index("--model") + 1] == f"lr={SPEC}" and "--models" not in argv
        assert child.process.returncode == 0, child.error_line()
    runs = list_runs(store)
    assert [r.model for r in runs] == ["lr", "lr"] and runs[0].status == "done"  # newest first


async def test_a_new_spec_is_checked_in_the_dialog_and_a_bad_one_starts_nothing(tmp_path, binary_csv, monkeypatch):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    monkeypatch.chdir(tmp_path)
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        dialog = await new_run(pilot, "binary")
        spec = dialog.query_one("#spec")
        for text, message in (
            ("svc=sklern.svm.SVC()", "model svc: no module named 'sklern'"),
            ("svc=sklearn.svm.SVC(", "model svc: syntax error in spec"),
            ("svc=sklearn.svm.SVC(C=os.system('touch x'))", "is not a literal"),
            ("svc=models/nowhere.py:build", "file models/nowhere.py does not exist"),
            ("sklearn.svm.SVC()", "expected NAME=SPEC"),
        ):
            spec.value = text
            await pilot.press("enter")
            assert message in error_text(dialog) and dialog.focused is spec, (text, error_text(dialog))
        assert app.screen is dialog and not started and list_runs(store) == []
        assert not (tmp_path / "x").exists()  # the os.system spec never ran
        dialog.query_one(ModelList).deselect_all()
        spec.value = "stump=sklearn.tree.DecisionTreeClassifier(max_depth=1)"
        await pilot.press("enter")
        await finished(pilot, started)
        assert started[0].request.specs == ("stump=sklearn.tree.DecisionTreeClassifier(max_depth=1)",)
        assert started[0].process.returncode == 0, started[0].error_line()
    assert [(r.model, r.status) for r in list_runs(store)] == [("stump", "done")]


def test_build_request_takes_stored_and_typed_specs_and_the_cluster():
    request = build_request(
        "d", ["tree", f"lr={SPEC}"], "5", "1", "0", "1", " svc=sklearn.svm.SVC() ", " tcp://h:8786 "
    )
    assert request == RunRequest(
        "d", ("tree",), jobs=1, specs=(f"lr={SPEC}", "svc=sklearn.svm.SVC()"), cluster="tcp://h:8786"
    )
    argv = request.command()
    assert argv[:2] == ["run", "d"] and argv[argv.index("--models") + 1] == "tree"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--model"] == [f"lr={SPEC}", "svc=sklearn.svm.SVC()"]
    assert "--cluster=tcp://h:8786" in argv and request.names == ("tree", "lr", "svc")
    only_specs = build_request("d", [], "5", "1", "0", "1", f"lr={SPEC}")
    assert "--models" not in only_specs.command() and "--cluster=" in only_specs.command()  # empty: this machine
    with pytest.raises(RequestError, match="two models are named 'lr'") as caught:
        build_request("d", [f"lr={SPEC}"], "5", "1", "0", "1", "lr=sklearn.svm.SVC()")
    assert caught.value.field == "models"
    with pytest.raises(RequestError, match="at least one model"):
        build_request("d", [], "5", "1", "0", "1", "  ")


async def test_the_cluster_field_defaults_to_the_environment_and_reaches_the_child(tmp_path, binary_csv, monkeypatch):
    monkeypatch.setenv("MLLOOP_CLUSTER", "tcp://127.0.0.1:9")  # nothing listens there
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        for cluster in ("tcp://127.0.0.1:9", ""):
            dialog = await new_run(pilot, "binary")
            field = dialog.query_one("#cluster")
            assert field.value == "tcp://127.0.0.1:9"
            field.value = cluster
            dialog.query_one(ModelList).deselect_all()
            dialog.query_one(ModelList).select("dummy")
            await pilot.press("enter")
            await finished(pilot, started)
        unreachable, local = started
        assert "--cluster=tcp://127.0.0.1:9" in unreachable.process.args and unreachable.process.returncode == 2
        assert "cannot reach the Dask cluster at tcp://127.0.0.1:9" in unreachable.error_line()
        assert "--cluster=" in local.process.args and local.process.returncode == 0, local.error_line()
    assert [(r.model, r.status) for r in list_runs(store)] == [("dummy", "done")]  # the refused run stored nothing


@pytest.fixture
def cluster():
    """One worker (the conftest's module-wide cluster has two)."""
    with local_cluster(1) as c:
        yield c


async def test_a_run_from_the_dialog_fits_on_a_real_cluster(tmp_path, binary_csv, monkeypatch, cluster):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        dialog = await new_run(pilot, "binary")
        assert dialog.query_one("#cluster").value == ""  # no $MLLOOP_CLUSTER: this machine
        dialog.query_one("#cluster").value = cluster.scheduler_address
        dialog.query_one(ModelList).deselect_all()
        dialog.query_one(ModelList).select("tree")
        await pilot.press("enter")
        await finished(pilot, started)
        assert started[0].process.returncode == 0, started[0].error_line()
    assert "run_remote" in cluster.scheduler.task_prefixes  # the folds were this scheduler's tasks
    assert [(r.model, r.status, r.n_folds_done) for r in list_runs(store)] == [("tree", "done", 2)]
