"""The error-analysis screen, opened with a key from the run detail, with the real app and real runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.analysis.errors import analyse_run, cell_rows, slice_rows
from core.store import Store
from core.store.predictions import NO_PREDICTIONS
from core.store.runs import list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.data_rows import DataRowsScreen
from mlloop_tui.screens.errors import ErrorsScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.conftest import SAMPLES, make_runs_store
from tests.tui.conftest import screen_text, wait_for
from tests.tui.test_run_detail import open_from_runs_table


@pytest.fixture
def penguins(tmp_path: Path) -> tuple[Store, int]:
    store = make_runs_store(tmp_path / "p.duckdb", SAMPLES / "penguins.csv", "species", models="tree")
    return store, list_runs(store)[0].id


async def open_errors(pilot, run_id: int) -> ErrorsScreen:
    app = pilot.app
    await open_from_runs_table(pilot, run_id)
    await pilot.press("E")
    await wait_for(pilot, lambda: isinstance(app.screen, ErrorsScreen))
    return app.screen


async def test_matrix_toggle_and_enter_on_a_cell_and_a_slice_show_their_rows(penguins):
    store, run_id = penguins
    expected = analyse_run(store, run_id)
    c = expected.classification
    i, j = next((i, j) for i, row in enumerate(c.confusion) for j, v in enumerate(row) if i != j and v)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_errors(pilot, run_id)
        await wait_for(pilot, lambda: screen.analysis is not None and screen.query("#matrix"))
        matrix = screen.query_one("#matrix")
        await wait_for(pilot, lambda: matrix.row_count == len(c.classes))
        assert screen.analysis == expected
        assert [matrix.get_cell_at((r, k + 1)).plain for r in range(3) for k in range(3)] == [
            str(v) for row in c.confusion for v in row
        ]
        await pilot.press("n")  # row-normalised
        assert matrix.get_cell_at((i, j + 1)).plain == f"{c.normalised()[i][j]:.3f}"
        matrix.focus()
        matrix.move_cursor(row=i, column=j + 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DataRowsScreen) and app.screen.loaded)
        rows = cell_rows(store, run_id, c.classes[i], c.classes[j])
        assert app.screen.rows == tuple(rows) and len(rows) == c.confusion[i][j]
        assert f"true {c.classes[i]}, predicted {c.classes[j]}" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        slices = screen.query_one("#slices")
        slices.focus()
        slices.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DataRowsScreen) and app.screen.loaded)
        top = expected.slices[0]
        assert app.screen.rows == tuple(slice_rows(store, run_id, top.feature, top.description))
        assert len(app.screen.rows) == top.n


async def test_a_run_without_predictions_says_to_re_run(penguins):
    store, run_id = penguins
    with store.write() as con:
        con.execute("DELETE FROM fold_predictions")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_errors(pilot, run_id)
        await wait_for(pilot, lambda: NO_PREDICTIONS in screen_text(app))
        assert screen.analysis is None


async def test_e_on_the_runs_table_opens_the_selected_runs_error_analysis(penguins):
    store, run_id = penguins
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: run_id in table.shown_ids)
        table.move_cursor(row=table.shown_ids.index(run_id))
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorsScreen))
        assert app.screen.run_id == run_id
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.query(RunsTable))
