"""The user's keymap file and the command palette, with the real app and a real store.

The autouse fixture in ``tests/tui/conftest.py`` points ``$MLLOOP_KEYMAP`` at a missing file;
these tests point it at a file of their own, as a user does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.keys import KeysDialog
from mlloop_tui.keymap import KEYMAP_ENV, load_keymap
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.tui.conftest import wait_for

REMAP = """
[keymap]
"runs.filter" = "f"
"app.quit" = "ctrl+q"
"""


@pytest.fixture
def keymap_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keymap.toml"
    path.write_text(REMAP, encoding="utf-8")
    monkeypatch.setenv(KEYMAP_ENV, str(path))
    return path


def shown_models(app) -> list[str]:
    table = app.screen.query_one(RunsTable)
    return [str(table.get_cell(str(rid), "model")) for rid in table.shown_ids]


async def palette_command(pilot, name: str) -> None:
    """Open the palette, type ``name``, wait until it is the first command listed, press enter."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*name)
    commands = app.screen.query_one(CommandList)
    await wait_for(
        pilot, lambda: commands.option_count and str(commands.get_option_at_index(0).prompt).startswith(name)
    )
    await pilot.press("enter")


async def runs_ready(pilot) -> RunsTable:
    table = pilot.app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: len(table.shown_ids) == 3)
    return table


# --------------------------------------------------------------------------- the keymap file


def test_the_keymap_file_is_read_and_a_broken_one_is_ignored(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text(REMAP, encoding="utf-8")
    assert load_keymap(path) == {"runs.filter": "f", "app.quit": "ctrl+q"}
    path.write_text('[keymap]\n"runs.filter" = ', encoding="utf-8")  # a TOML syntax error
    assert load_keymap(path) == {}
    path.write_bytes(b"\xff\xfe[keymap]")
    assert load_keymap(path) == {}
    assert load_keymap(tmp_path / "missing.toml") == {}


async def test_remapped_keys_work_and_the_old_ones_no_longer_do(runs_store, keymap_file):
    from mlloop_tui.dialogs.confirm import ConfirmDialog
    from mlloop_tui.runner import RunRequest

    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await runs_ready(pilot)
        box = app.screen.query_one("#filter")
        await pilot.press("slash")  # the old filter key: nothing
        assert app.focused is table and box.value == ""
        await pilot.press("q")  # the old quit key: still running, no question asked
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, RunsScreen)
        await pilot.press("f")  # the new filter key
        assert app.focused is box
        await pilot.press(*"tree", "enter")
        assert shown_models(app) == ["tree"] and app.focused is table
        # the keys list shows the new keys under their ids
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysDialog) and app.screen.query("#keys"))
        keys = app.screen.query_one("#keys")
        by_id = {keys.get_row_at(i)[1].plain: keys.get_row_at(i)[0].plain for i in range(keys.row_count)}
        assert by_id["runs.filter"] == "f" and by_id["app.quit"] == "^q"
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        # ctrl+q is now mlloop's quit, which asks while a run is in progress (Textual's own
        # ctrl+q would quit at once), and cancels the run on yes
        app.start_run(RunRequest("binary", ("forest",), folds=20, repeats=5, jobs=1))
        launched = app.launcher.active()[0]
        try:
            await wait_for(pilot, lambda: table.run_count == 4, timeout=60)  # the child runs (filtered out)
            await pilot.press("ctrl+q")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("n")
            assert isinstance(app.screen, RunsScreen) and app.is_running
            await pilot.press("ctrl+q", "y")
            await wait_for(pilot, lambda: not app.is_running)
        finally:
            if not app.is_running and launched.process.poll() is None:
                launched.process.wait(timeout=60)  # the app cancelled it: it ends on its own
            elif launched.process.poll() is None:
                launched.process.kill()
    assert launched.process.returncode == 130  # cancelled, not left working


async def test_a_remapped_filter_key_can_still_be_typed_in_the_filter(runs_store, keymap_file):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_ready(pilot)
        await pilot.press("f", *"forest")  # "f" opens the filter; then the word is typed
        assert app.screen.query_one("#filter").value == "forest"


async def test_slash_opens_the_filter_and_is_typed_in_it(runs_store, binary_csv):
    """Dataset names may contain "/": the filter key opens the box, and inside the box it is a character."""
    from core.data.importing import import_dataset
    from core.modeling.evaluation import run_baselines

    import_dataset(runs_store, binary_csv, "label", name="a/b")
    run_baselines(runs_store, "a/b", "dummy", folds=3, jobs=1)
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        table = pilot.app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 4)
        box = app.screen.query_one("#filter")
        assert app.focused is table
        await pilot.press("slash")  # from the table: the filter opens, empty
        assert app.focused is box and box.value == ""
        await pilot.press("a", "slash", "b")
        assert box.value == "a/b" and not box.has_class("-invalid")
        assert [table.record(rid).dataset for rid in table.shown_ids] == ["a/b"]
        await pilot.press("enter")
        assert app.focused is table and "filter: a/b" in app.screen.query_one("TitleBar").detail


# --------------------------------------------------------------------------- the command palette


async def test_the_command_palette_runs_a_command_by_its_name(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_ready(pilot)
        await palette_command(pilot, "Keys (?)")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysDialog))
        await pilot.press("escape")
        await palette_command(pilot, "Datasets (d)")  # a command of the app: switch to the datasets
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DatasetsScreen")


async def test_the_command_palette_names_a_remapped_key_and_runs_its_action(runs_store, keymap_file):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await runs_ready(pilot)
        await palette_command(pilot, "Filter (f)")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        box = app.screen.query_one("#filter")
        await wait_for(pilot, lambda: app.focused is box)
        assert table is app.screen.query_one(RunsTable)
