"""The new-run dialog: choosing a dataset, models and the CV scheme; validation; cancel."""

from __future__ import annotations

import pytest

from core.data.importing import import_dataset
from core.modeling.models import BASELINES
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.new_run import ModelList, NewRunDialog, RequestError, build_request
from mlloop_tui.runner import RunRequest
from tests.tui.conftest import screen_text, wait_for


async def open_dialog(pilot, dataset: str | None):
    results: list = []
    pilot.app.push_screen(NewRunDialog(dataset), results.append)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewRunDialog))
    dialog = pilot.app.screen
    for widget in dialog.query("Input"):
        widget.cursor_blink = False
    await wait_for(pilot, lambda: dialog.datasets_loaded)
    return dialog, results


def error_text(dialog) -> str:
    return str(dialog.query_one("#error").render())


async def test_pick_models_set_folds_and_start_with_enter(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog, results = await open_dialog(pilot, "binary")
        models = dialog.query_one(ModelList)
        assert dialog.focused is models  # the dataset is given: straight to the models
        assert models.selected == list(BASELINES)  # all six by default
        assert dialog.query_one("#dataset").value == "binary"
        await pilot.press("a")  # all selected -> none
        assert models.selected == []
        await pilot.press("down", "space", "down", "down", "space")  # glm, tree
        assert sorted(models.selected) == ["glm", "tree"]
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab", "shift+tab")  # sample, jobs, seed, ...
        assert dialog.focused.id == "folds"
        await pilot.press("3")  # focusing selects the old value; typing replaces it
        assert dialog.query_one("#folds").value == "3"
        await pilot.press("enter")
        await wait_for(pilot, lambda: results)
    assert results == [RunRequest("binary", ("glm", "tree"), folds=3, repeats=1, seed=0, jobs=-1, cluster="")]


async def test_bad_values_show_one_line_and_keep_the_dialog_open(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog, results = await open_dialog(pilot, "binary")
        dialog.query_one("#folds").value = "1"
        await pilot.press("enter")
        assert "folds must be at least 2, got 1" in error_text(dialog)
        assert app.screen is dialog and dialog.focused.id == "folds" and not results
        assert "folds must be at least 2" in screen_text(app)
        await pilot.press("backspace")  # editing clears the message
        assert error_text(dialog) == ""
        await pilot.press("enter")
        assert "folds must be a whole number, not (empty)" in error_text(dialog)
        await pilot.press("x")  # an integer field refuses letters
        assert dialog.query_one("#folds").value == ""
        await pilot.press("4", "tab", "0")  # tab selects the old value, typing replaces it
        assert dialog.query_one("#repeats").value == "0"
        await pilot.click("#start")
        assert "repeats must be at least 1" in error_text(dialog) and not results
        dialog.query_one("#repeats").value = "2"
        dialog.query_one("#jobs").value = "0"
        await pilot.press("enter")
        assert "jobs must be -1" in error_text(dialog)
        dialog.query_one("#jobs").value = "2"
        dialog.query_one(ModelList).deselect_all()
        await pilot.press("enter")
        assert "at least one model" in error_text(dialog) and dialog.focused.id == "models"
        dialog.query_one(ModelList).select("forest")
        await pilot.press("enter")  # enter on the model list starts too
        await wait_for(pilot, lambda: results)
    assert results == [RunRequest("binary", ("forest",), folds=4, repeats=2, seed=0, jobs=2, cluster="")]


async def test_escape_cancels(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog, results = await open_dialog(pilot, "binary")
        await pilot.press("escape")
        await wait_for(pilot, lambda: results)
    assert results == [None]


async def test_datasets_come_from_the_store_and_the_newest_is_preselected(tmp_path, binary_csv, regression_csv):
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y", name="[@click=app.quit]reg")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog, results = await open_dialog(pilot, None)
        select = dialog.query_one("#dataset")
        await wait_for(pilot, lambda: select.value == "[@click=app.quit]reg")
        assert "[@click=app.quit]reg" in screen_text(app)
        assert dialog.focused is select
        await pilot.press("enter")  # opens the list
        await pilot.press("up", "enter")  # picks "binary"
        assert select.value == "binary"
        await pilot.click("#start")
        await wait_for(pilot, lambda: results)
        assert app.is_running
    # Every model selected is "all": the models that suit the dataset's task (a ranking dataset has no GLM).
    assert results == [RunRequest("binary", ("all",), folds=5, repeats=1, seed=0, jobs=-1, cluster="")]


async def test_an_empty_store_says_so(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog, results = await open_dialog(pilot, None)
        await wait_for(pilot, lambda: "no datasets yet" in error_text(dialog))
        await pilot.click("#start")
        assert "choose a dataset" in error_text(dialog) and not results
        await pilot.press("escape")
        await wait_for(pilot, lambda: results)
    assert results == [None]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("", ["tree"], "5", "1", "0", "-1"), "choose a dataset"),
        (("d", [], "5", "1", "0", "-1"), "at least one model"),
        (("d", ["tree"], "five", "1", "0", "-1"), "folds must be a whole number, not five"),
        (("d", ["tree"], "5", "1", "-3", "-1"), "seed must be in"),
        (("d", ["tree"], "5", "1", "0", "-2"), "jobs must be -1"),
    ],
)
def test_build_request_rejects_bad_values(values, message):
    with pytest.raises(RequestError, match=message):
        build_request(*values)


def test_every_model_selected_asks_for_all_that_suit_the_task():
    assert build_request("d", list(reversed(BASELINES)), "5", "1", "0", "1").models == ("all",)


def test_build_request_orders_models_as_the_registry():
    request = build_request("d", ["tree", "dummy"], " 10 ", "3", "7", "1")
    assert request == RunRequest("d", ("dummy", "tree"), folds=10, repeats=3, seed=7, jobs=1, cluster="")


class TestSnapshots:
    def test_new_run_dialog(self, snap_compare, tmp_path, monkeypatch):
        monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)  # the cluster field shows it
        app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)

        async def run_before(pilot) -> None:
            # over the (empty) datasets screen, loaded: the snapshot must not depend on timing
            await pilot.press("d")
            await wait_for(pilot, lambda: getattr(pilot.app.screen, "loaded", False))
            dialog, _ = await open_dialog(pilot, "penguins")
            await pilot.press("space", "down", "down")  # dummy off, cursor on linear
            dialog.query_one("#folds").value = "1"
            await pilot.press("enter")
            assert "folds must be" in error_text(dialog)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
