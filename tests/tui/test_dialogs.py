"""Every dialog is a :class:`~mlloop_tui.dialogs.base.Dialog`: one frame, one close key, one stylesheet."""

from __future__ import annotations

import pytest

from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.base import Dialog, StartDialog
from mlloop_tui.dialogs.confirm import ConfirmDialog
from mlloop_tui.dialogs.export import ExportDialog
from mlloop_tui.dialogs.export_dataset import DatasetExportDialog
from mlloop_tui.dialogs.import_file import ImportDialog
from mlloop_tui.dialogs.keys import KeysDialog
from mlloop_tui.dialogs.new_run import NewRunDialog
from mlloop_tui.dialogs.tune import TuneDialog
from tests.tui.conftest import wait_for

DIALOGS = {
    "confirm": lambda: ConfirmDialog("Really?"),
    "export": lambda: ExportDialog([1]),
    "export_dataset": lambda: DatasetExportDialog("shop"),
    "import": lambda: ImportDialog(),
    "keys": lambda: KeysDialog(),
    "new_run": lambda: NewRunDialog(),
    "tune": lambda: TuneDialog(1, "tree", "max_depth=1,2"),
}


def test_every_dialog_module_builds_on_the_base():
    import importlib
    import pkgutil

    import mlloop_tui.dialogs as package

    screens = []
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        screens += [
            v
            for v in vars(loaded).values()
            if isinstance(v, type)
            and v.__module__ == loaded.__name__
            and v.__name__.endswith("Dialog")
            and v not in (Dialog, StartDialog)  # the bases themselves
        ]
    assert len(screens) == 8  # confirm, export, export_dataset, import, keys, new_run, target, tune
    assert all(issubclass(s, Dialog) for s in screens)
    assert not any("DEFAULT_CSS" in vars(s) for s in screens)  # their look is in styles/dialogs.tcss


@pytest.mark.parametrize("name", DIALOGS)
async def test_escape_closes_every_dialog_with_none(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    results = []
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = DIALOGS[name]()
        app.push_screen(dialog, results.append)
        await wait_for(pilot, lambda: app.screen is dialog and dialog.query("#frame"))
        assert dialog.query_one("#frame").styles.border.top[0] == "thick"  # dialogs.tcss is loaded
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not dialog)
    assert results == [None]


async def test_the_close_key_is_remapped_once_for_every_dialog(tmp_path, monkeypatch):
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('[keymap]\n"dialog.cancel" = "f9"\n', encoding="utf-8")
    monkeypatch.setenv("MLLOOP_KEYMAP", str(keymap))
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        for dialog in (NewRunDialog(), ImportDialog()):
            app.push_screen(dialog)
            await wait_for(pilot, lambda dialog=dialog: app.screen is dialog and dialog.query("#frame"))
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert app.screen is dialog  # escape is no longer the close key
            await pilot.press("f9")
            await wait_for(pilot, lambda dialog=dialog: app.screen is not dialog)
