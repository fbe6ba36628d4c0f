"""SVG snapshots of the runs screen: the table, a filter, and marks, at 80×24."""

from __future__ import annotations

from mlloop_tui.app import MlloopApp
from mlloop_tui.widgets.runs_table import RunsTable
from tests.tui.conftest import wait_for


def _app(runs_store) -> MlloopApp:
    return MlloopApp(runs_store, poll_interval=0.2)


async def _loaded(pilot) -> None:
    table = pilot.app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: len(table.shown_ids) == 3)


class TestRunsSnapshots:
    def test_runs_table(self, snap_compare, runs_store):
        assert snap_compare(_app(runs_store), terminal_size=(80, 24), run_before=_loaded)

    def test_filtered_and_marked(self, snap_compare, runs_store):
        async def run_before(pilot) -> None:
            await _loaded(pilot)
            await pilot.press("space", "space", "slash", *"accuracy>0.6", "enter")
            await pilot.pause(0.2)

        assert snap_compare(_app(runs_store), terminal_size=(80, 24), run_before=run_before)

    def test_keys_dialog(self, snap_compare, runs_store):
        async def run_before(pilot) -> None:
            await _loaded(pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.2)

        assert snap_compare(_app(runs_store), terminal_size=(80, 24), run_before=run_before)
