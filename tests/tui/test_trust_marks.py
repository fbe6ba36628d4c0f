"""Runs whose data inflates their scores are marked in the app: a red ``!`` before the dataset in the
runs table, and the reason with its fix in the run's detail; the check behind them is started by
the app itself for a dataset never checked, and the marks appear without the user asking."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.analysis.trust import check_and_record
from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.store import Store
from core.store.runs import list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.run_detail import RunDetailScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.core.test_trust import write_birthwt_like
from tests.tui.conftest import screen_text, wait_for


@pytest.fixture
def leaky_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "leaky.duckdb")
    info = import_dataset(store, write_birthwt_like(tmp_path / "birthwt.csv"), "low")
    run_baselines(store, info.id, "dummy,tree", folds=3, jobs=1)
    return store


def table_rows(app) -> list[str]:
    return [line for line in screen_text(app).splitlines() if "birthwt" in line]


async def test_a_checked_leaky_dataset_marks_its_runs_and_the_detail_says_why(leaky_store):
    check_and_record(leaky_store, "birthwt")
    app = MlloopApp(leaky_store)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 2)
        await pilot.pause(0.2)
        rows = table_rows(app)
        assert len(rows) == 2 and all("! birthwt" in row for row in rows)
        tree = next(r.id for r in list_runs(leaky_store) if r.model == "tree")
        table.move_cursor(row=table.shown_ids.index(tree))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await wait_for(pilot, lambda: "scores not to be trusted" in screen_text(app))
        text = screen_text(app)
        assert "--drop-columns bwt" in text


async def test_the_app_checks_an_unchecked_dataset_in_the_background(leaky_store, monkeypatch):
    monkeypatch.setenv("MLLOOP_BACKGROUND_CHECKS", "1")
    app = MlloopApp(leaky_store)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(RunsTable)
            await wait_for(pilot, lambda: len(table.shown_ids) == 2)
            assert not any("! birthwt" in row for row in table_rows(app))
            await wait_for(pilot, lambda: app._checker is not None)
            # The screen stays usable while the checker works; the marks arrive with the next poll.
            await pilot.press("d")
            await pilot.press("r")
            await wait_for(pilot, lambda: all("! birthwt" in row for row in table_rows(app)), timeout=240)
    finally:
        if app._checker is not None and app._checker.poll() is None:
            app._checker.kill()
