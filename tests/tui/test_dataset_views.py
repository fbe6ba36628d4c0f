"""Q and F open the quality and features views on the dataset the screen in front is about, from one place."""

from __future__ import annotations

from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.dataset_in_view import DatasetInView
from mlloop_tui.screens.datasets import DatasetsScreen
from mlloop_tui.screens.runs import RunsScreen
from tests.tui.conftest import screen_text, wait_for


async def test_without_a_current_dataset_q_and_f_are_disabled_and_do_nothing(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen.loaded)
        screen = app.screen
        assert app.dataset_in_view() is None and app.check_action("quality", ()) is None
        await pilot.press("Q", "F")
        await pilot.pause(0.2)
        assert app.screen is screen


async def test_each_screen_says_which_dataset_is_current(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "3/3 runs" in screen_text(app))
        run = app.screen.query_one("RunsTable").selected()
        assert app.dataset_in_view() == DatasetInView("binary", run.model)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen.profile is not None)
        assert app.dataset_in_view() == DatasetInView("binary", "linear")
        assert app.check_action("features", ()) is True
