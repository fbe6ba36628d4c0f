"""A store the app cannot read: the runs screen says why as soon as the app starts, and the app
keeps working (no crash, the other screens open) and leaves the file as it was."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from core.errors import StoreError
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.runs import RunsScreen
from tests.badfiles import BAD_STORES, make_bad_store
from tests.tui.conftest import wait_for


@pytest.mark.parametrize("kind", BAD_STORES)
async def test_the_runs_screen_shows_a_store_error_at_start(kind, tmp_path):
    folder = tmp_path / "[@click=app.quit]store"  # markup in the path is shown as written
    folder.mkdir()
    path = make_bad_store(kind, folder)
    with pytest.raises(StoreError) as raised:
        Store(path).change_stamp()
    message = str(raised.value)
    assert str(folder) in message
    before = path.read_bytes()
    app = MlloopApp(Store(path), poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.screen.query_one("#empty", Static)
        await wait_for(pilot, lambda: panel.has_class("visible") and message in str(panel.content), timeout=10)
        assert str(panel.content).count("\n") == 0  # one line (the panel wraps it)
        assert [n.message for n in app._notifications if n.severity == "error"] == [message]
        assert "(reading…)" not in app.screen.query_one("TitleBar").detail
        # the app keeps working: another screen opens, and the runs screen still says why
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DatasetsScreen")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert message in str(app.screen.query_one("#empty", Static).content)
        assert app.is_running
    assert path.read_bytes() == before
