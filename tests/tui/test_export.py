"""The export dialog with the real app, a real store and real files.

The store is the comparison tests' (runs 1-3 on the same folds, run 4 on other folds, run 5 a
shallower tree), built once per session and copied for each test. Each test works in its own
folder (``monkeypatch.chdir``), where the dialog proposes its file names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.analysis.compare import compare_runs
from core.store import Store
from core.store.runs import get_run
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.confirm import ConfirmDialog
from mlloop_tui.dialogs.export import ExportDialog, file_stem, format_of, propose_name, with_format
from mlloop_tui.screens.compare import CompareScreen
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.tui.conftest import wait_for
from tests.tui.test_compare import copy_store, open_compare, shared_compare_store


@pytest.fixture(scope="module")
def export_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_compare_store(tmp_path_factory)


@pytest.fixture
def store(export_base: Path, tmp_path: Path) -> Store:
    return copy_store(export_base, tmp_path)


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder for the test: where proposed names land."""
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def path_input(app):
    return app.screen.query_one("#path")


def status(app) -> str:
    return app.screen.query_one("#status").content.plain


async def runs_ready(pilot) -> RunsTable:
    table = pilot.app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: len(table.shown_ids) == 5)
    return table


async def dialog_ready(pilot) -> ExportDialog:
    """The dialog is up, composed, and its file name has the focus."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, ExportDialog)
            and app.screen.query("#path")
            and app.focused is app.screen.query_one("#path")
        ),
    )
    return app.screen


async def open_dialog(pilot, run_ids: list[int]) -> ExportDialog:
    """The dialog pushed as the app does, with a callback recording what it dismisses with."""
    app = pilot.app
    app.results = []
    app.push_screen(ExportDialog(run_ids), app.results.append)
    return await dialog_ready(pilot)


async def type_name(pilot, name: str) -> None:
    """The proposed name is selected when the dialog opens: typing replaces it."""
    await pilot.press(*name)


def run_numbers(store: Store, run_id: int, metric: str = "accuracy") -> str:
    s = get_run(store, run_id).summaries[metric]
    return f"{s.val_mean:.4f} ± {s.val_std:.4f}"  # as the exports write them


# --------------------------------------------------------------------------- names and formats


def test_proposed_names_never_take_an_existing_file(tmp_path):
    assert file_stem([12]) == "mlloop-run-12"
    assert file_stem([7, 3, 5]) == "mlloop-compare-3-5-7"
    assert file_stem(range(1, 10)) == "mlloop-compare-9-runs-1-to-9"
    assert propose_name([12], "md", tmp_path) == "mlloop-run-12.md"
    (tmp_path / "mlloop-run-12.md").write_text("x")
    (tmp_path / "mlloop-run-12-2.md").write_text("x")
    assert propose_name([12], "md", tmp_path) == "mlloop-run-12-3.md"
    assert propose_name([12], "html", tmp_path) == "mlloop-run-12.html"
    assert format_of("a.HTML") == "html" and format_of("a.txt") is None and format_of("") is None
    assert with_format("report.md", "json") == "report.json"
    assert with_format("report", "html") == "report.html"
    assert with_format("notes.txt", "md") == "notes.txt.md"


# --------------------------------------------------------------------------- writing


async def test_e_on_the_runs_screen_exports_the_selected_run(store, out):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await runs_ready(pilot)
        table.move_cursor(row=table.shown_ids.index(2))
        await pilot.press("e")
        await dialog_ready(pilot)
        assert app.screen.run_ids == [2]
        assert path_input(app).value == "mlloop-run-2.md"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        text = (out / "mlloop-run-2.md").read_text(encoding="utf-8")
        assert text.startswith("# mlloop run 2: linear on binary")
        assert run_numbers(store, 2) in text and run_numbers(store, 2, "roc_auc") in text
        assert any("mlloop-run-2.md" in n.message for n in app._notifications)
        await pilot.press("e")  # again: the first name is taken now
        await dialog_ready(pilot)
        assert path_input(app).value == "mlloop-run-2-2.md"
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen) and sorted(p.name for p in out.iterdir()) == ["mlloop-run-2.md"]


async def test_the_compare_screen_exports_its_comparison_as_html_and_json(store, out):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_ready(pilot)
        screen = await open_compare(pilot, [1, 2])
        await pilot.press("r")  # the exported comparison keeps the reference shown: run 2
        await wait_for(pilot, lambda: screen.comparison.reference_id == 2)
        await pilot.press("e")
        await dialog_ready(pilot)
        assert path_input(app).value == "mlloop-compare-1-2.md"
        await pilot.press("f3")
        assert path_input(app).value == "mlloop-compare-1-2.html"
        assert app.screen.query_one("#hint").content.plain.startswith("HTML")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        page = (out / "mlloop-compare-1-2.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "Reference: run 2 (linear on binary)" in page
        assert run_numbers(store, 1) in page and run_numbers(store, 2) in page

        await pilot.press("e")
        await dialog_ready(pilot)
        await pilot.press("ctrl+t", "ctrl+t")  # md → html → json
        assert path_input(app).value == "mlloop-compare-1-2.json"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        data = json.loads((out / "mlloop-compare-1-2.json").read_text(encoding="utf-8"))
        expected = compare_runs(store, [1, 2], reference=2)
        assert data["kind"] == "comparison" and data["comparison"]["reference"] == 2
        assert data["comparison"]["pairs"][0]["p"] == pytest.approx(expected.pairs[0].p)
        assert data["comparison"]["pairs"][0]["explanation"] == expected.pairs[0].explanation


async def test_the_format_follows_a_typed_extension(store, out):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_ready(pilot)
        await open_dialog(pilot, [3])
        (out / "sub").mkdir()
        await type_name(pilot, "sub/")
        await pilot.press("f3")  # a folder: the proposed name goes in it
        assert path_input(app).value == "sub/mlloop-run-3.html"
        await pilot.press("ctrl+u")
        await type_name(pilot, "tree.json")
        assert app.screen.query_one("#hint").content.plain.startswith("JSON")
        await pilot.press("f2")  # the key rewrites the extension of a typed name
        assert path_input(app).value == "tree.md"
        await pilot.press("f4", "enter")
        await wait_for(pilot, lambda: app.results)
        assert app.results == [out / "tree.json"]
        assert json.loads((out / "tree.json").read_text())["run"]["id"] == 3


async def test_an_existing_file_is_only_replaced_after_a_yes(store, out):
    existing = out / "mlloop-run-2.md"
    existing.write_text("keep me\n")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_ready(pilot)
        dialog = await open_dialog(pilot, [2])
        assert path_input(app).value == "mlloop-run-2-2.md"  # the proposal avoids it
        await type_name(pilot, "mlloop-run-2.md")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is dialog and "kept" in status(app))
        assert existing.read_text() == "keep me\n" and app.results == []
        assert sorted(p.name for p in out.iterdir()) == ["mlloop-run-2.md"]  # no temp file left
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.results)
        assert app.results == [existing]
        assert run_numbers(store, 2) in existing.read_text()


async def test_bad_paths_are_one_line_errors_and_the_dialog_stays(store, out):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_ready(pilot)
        dialog = await open_dialog(pilot, [1, 2])
        await type_name(pilot, "nowhere/x.md")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "does not exist" in status(app))
        assert app.screen is dialog and app.screen.query_one("#status").has_class("-error")
        path_input(app).value = "x.txt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "cannot tell the export format" in status(app))
        assert "unknown extension" in app.screen.query_one("#hint").content.plain
        path_input(app).value = ""
        await pilot.press("enter")
        assert "give a file name" in status(app)
        path_input(app).value = "."
        await pilot.press("enter")
        await wait_for(pilot, lambda: "folder" in status(app) or "extension" in status(app))
        assert app.screen is dialog and list(out.iterdir()) == []
        await pilot.press("escape")
        assert app.results == [None] and isinstance(app.screen, RunsScreen)


async def test_a_tiny_terminal_does_not_crash(store, out):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(30, 8)) as pilot:
        await runs_ready(pilot)
        await open_dialog(pilot, [1, 2, 4])
        await pilot.press("f3", "ctrl+t", "tab", "tab", "escape")
        assert app.results == [None]


# --------------------------------------------------------------------------- snapshot


class TestSnapshots:
    def test_export_dialog(self, snap_compare, store, out):
        (out / "mlloop-run-5.md").write_text("taken\n")  # so the proposal shows the -2 suffix
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            await runs_ready(pilot)
            await pilot.press("e")  # the newest run is selected: run 5
            await dialog_ready(pilot)
            path_input(app).cursor_blink = False
            await pilot.pause(0.2)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
