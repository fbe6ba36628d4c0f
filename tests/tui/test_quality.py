"""The data-quality screen and the affected-rows screen, with the real app, store and checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from core.data.importing import import_dataset
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.export_dataset import DatasetExportDialog, propose_dataset_name
from mlloop_tui.screens.data_rows import DataRowsScreen, column_order
from mlloop_tui.screens.datasets import DatasetsScreen
from mlloop_tui.screens.quality import FindingsTable, QualityScreen
from mlloop_tui.screens.runs import RunsScreen
from tests.conftest import write_csv
from tests.tui.conftest import screen_text, wait_for

EVIL = "[bold]evil"


def planted_csv(path: Path) -> Path:
    """150 clean rows plus a constant column, a mostly-missing column named like markup, and
    exact copies of rows 0-2 (file rows 150-152)."""
    X, y = make_classification(n_samples=150, n_features=6, n_informative=3, n_redundant=0, random_state=0)
    frame = pd.DataFrame(X.round(4), columns=[f"x{i}" for i in range(6)])
    frame["const"] = 1.0
    frame[EVIL] = np.where(np.arange(150) % 5 < 3, np.nan, np.arange(150) % 7)
    frame["label"] = np.where(y == 1, "yes", "no")
    return write_csv(path, pd.concat([frame, frame.iloc[[0, 1, 2]]], ignore_index=True))


def planted_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, planted_csv(tmp_path / "planted.csv"), "label")
    return store


async def open_quality(pilot) -> QualityScreen:
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DatasetsScreen) and pilot.app.screen.profile)
    await pilot.press("Q")
    screen = pilot.app.screen
    assert isinstance(screen, QualityScreen)
    await wait_for(pilot, lambda: screen.done, timeout=60)
    return screen


def kinds_shown(screen: QualityScreen) -> list[str]:
    table = screen.query_one(FindingsTable)
    return [table.get_cell(key, "kind").plain for key in table.rows]


async def test_planted_problems_are_listed_literally_and_enter_shows_their_rows(tmp_path):
    app = MlloopApp(planted_store(tmp_path), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quality(pilot)
        kinds = kinds_shown(screen)
        assert {"constant", "duplicates", "missing"} <= set(kinds)
        table = screen.query_one(FindingsTable)
        columns = [table.get_cell(key, "columns").plain for key in table.rows]
        assert "const" in columns and EVIL in columns  # the name as typed, never parsed as markup
        await wait_for(pilot, lambda: EVIL in screen_text(app), timeout=10, seen=lambda: screen_text(app))  # drawn

        # sorted by severity first; s sorts by kind, S reverses it
        severities = [table.get_cell(key, "severity").plain for key in table.rows]
        assert severities == sorted(severities, key=["high", "medium", "low", "info"].index)
        await pilot.press("s")
        assert kinds_shown(screen) == sorted(kinds)
        await pilot.press("S")
        assert kinds_shown(screen) == sorted(kinds, reverse=True)

        # the highlighted finding's action is written out under the table
        table.move_cursor(row=kinds_shown(screen).index("duplicates"))
        await pilot.pause()
        detail = str(screen.query_one("#detail").render())
        assert "→ remove duplicates" in detail and "rows 0, 1, 2, 150, 151, 152" in detail

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DataRowsScreen) and app.screen.loaded)
        rows_screen = app.screen
        shown = rows_screen.query_one("DataTable")
        assert [int(k.value) for k in shown.rows] == [0, 1, 2, 150, 151, 152]
        assert shown.get_cell("150", "c0").plain == shown.get_cell("0", "c0").plain  # a copy of row 0
        await pilot.press("escape")
        assert app.screen is screen

        # a finding about a whole column opens the first rows with that column first
        table.move_cursor(
            row=next(i for i, key in enumerate(table.rows) if table.get_cell(key, "columns").plain == EVIL)
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DataRowsScreen) and app.screen.loaded)
        rows_screen = app.screen
        labels = [c.label.plain for c in rows_screen.query_one("DataTable").columns.values()]
        assert labels[:4] == ["row", "part", EVIL, "label"]
        assert "null" in screen_text(app)
        await pilot.press("escape")
        assert app.screen is screen

        # the mislabeled finding says why its first row is listed, and its rows show each one's reason
        found = screen.findings[[f.kind for f in screen.findings].index("mislabeled")]
        table.move_cursor(row=kinds_shown(screen).index("mislabeled"))
        await pilot.pause()
        assert f"row {found.rows[0]}: {found.reasons[0]}" in str(screen.query_one("#detail").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DataRowsScreen) and app.screen.loaded)
        shown = app.screen.query_one("DataTable")
        for row, score, why in zip(found.rows, found.scores, found.reasons):
            assert shown.get_cell(str(row), "__note").plain == why and "threshold" in why
            assert shown.get_cell(str(row), "__score").plain == f"{score:.3f}"
        await pilot.press("escape")
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetsScreen)


async def test_shift_q_on_the_runs_screen_checks_the_selected_runs_dataset(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "3/3 runs" in screen_text(app))
        await pilot.press("Q")
        screen = app.screen
        assert isinstance(screen, QualityScreen) and screen.dataset == "binary"
        assert "checking" in screen_text(app)
        await pilot.press("escape")  # leaves at once; the check's result is dropped
        assert isinstance(app.screen, RunsScreen)
        await pilot.pause(0.5)
        assert app.is_running


async def test_shift_q_and_f_on_a_runs_detail_open_its_datasets_views(runs_store):
    from mlloop_tui.screens.features import FeaturesScreen
    from mlloop_tui.screens.run_detail import RunDetailScreen

    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "3/3 runs" in screen_text(app))
        run = app.screen.query_one("RunsTable").selected()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.record is not None)
        await pilot.press("Q")
        assert isinstance(app.screen, QualityScreen) and app.screen.dataset == "binary"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("F")
        screen = app.screen
        assert isinstance(screen, FeaturesScreen) and (screen.dataset, screen.model) == ("binary", run.model)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))


async def test_e_exports_the_dataset_summary_with_these_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the dialog proposes a name in the current folder
    app = MlloopApp(planted_store(tmp_path), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quality(pilot)
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, DatasetExportDialog)
        assert dialog.query_one("#path").value == "mlloop-dataset-planted.md"
        await pilot.press("f4", "enter")
        await wait_for(pilot, lambda: app.screen is screen, timeout=30)
    data = json.loads((tmp_path / "mlloop-dataset-planted.json").read_text(encoding="utf-8"))
    assert data["kind"] == "dataset" and data["dataset"]["name"] == "planted"
    assert [f["kind"] for f in data["quality"]] == [f.kind for f in screen.findings]  # these, not a re-check
    assert EVIL in {c for f in data["quality"] for c in f["columns"]}


def test_dataset_export_names_are_safe_and_free(tmp_path):
    assert propose_dataset_name("[b]evil/../x y", "md", tmp_path) == "mlloop-dataset-b-evil-..-x-y.md"
    (tmp_path / "mlloop-dataset-shop.html").write_text("taken")
    assert propose_dataset_name("shop", "html", tmp_path) == "mlloop-dataset-shop-2.html"
    assert propose_dataset_name("???", "json", tmp_path) == "mlloop-dataset-dataset.json"


def test_column_order_puts_the_finding_first_then_the_target():
    names = ("a", "b", "c", "y", "d")
    assert column_order(names, ("c", "a"), "y") == [2, 0, 3, 1, 4]
    assert column_order(names, ("nope",), "y", limit=3) == [3, 0, 1]


class TestSnapshots:
    def test_quality_screen(self, snap_compare, tmp_path):
        app = MlloopApp(planted_store(tmp_path), poll_interval=0.2)

        async def run_before(pilot) -> None:
            await open_quality(pilot)

        assert snap_compare(app, terminal_size=(100, 36), run_before=run_before)

    def test_quality_screen_80x24(self, snap_compare, tmp_path):
        app = MlloopApp(planted_store(tmp_path), poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_quality(pilot)
            screen.query_one(FindingsTable).move_cursor(row=1)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

    def test_affected_rows(self, snap_compare, tmp_path):
        app = MlloopApp(planted_store(tmp_path), poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_quality(pilot)
            table = screen.query_one(FindingsTable)
            table.move_cursor(row=kinds_shown(screen).index("duplicates"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, DataRowsScreen) and pilot.app.screen.loaded)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
