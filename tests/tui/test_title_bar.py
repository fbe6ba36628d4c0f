"""The title bar and the empty screens name keys as the user's keymap binds them."""

from __future__ import annotations

from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.keymap import key_name
from mlloop_tui.screens.datasets import DatasetsScreen
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.title_bar import TitleBar
from tests.tui.conftest import screen_text, wait_for


def test_keys_are_named_as_hints_write_them():
    assert [key_name(k) for k in ("L", "question_mark", "escape", "ctrl+s", "f2", "space")] == [
        "L",
        "?",
        "Esc",
        "Ctrl+S",
        "F2",
        "space",
    ]


async def test_the_default_keys_are_shown(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "No runs yet" in screen_text(app))
        assert "r runs · d datasets · ? keys" in screen_text(app)
        assert (
            "Press L to load the bundled sample datasets and run the baselines, d to import your own data, "
            "or n to start a run." in " ".join(screen_text(app).split())
        )


async def test_remapped_keys_are_shown_remapped(tmp_path, monkeypatch):
    keymap = tmp_path / "keymap.toml"
    keymap.write_text(
        '[keymap]\n"app.runs" = "R"\n"app.datasets" = "ctrl+d,D"\n"datasets.import" = "I"\n', encoding="utf-8"
    )
    monkeypatch.setenv("MLLOOP_KEYMAP", str(keymap))
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "No runs yet" in screen_text(app))
        shown = " ".join(screen_text(app).split())
        assert "R runs · Ctrl+D datasets · ? keys" in shown
        assert "Ctrl+D to import your own data" in shown
        await pilot.press("D")  # the keys the hints name are the keys that work
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetsScreen) and "No datasets yet" in screen_text(app))
        shown = " ".join(screen_text(app).split())
        assert "R runs · Ctrl+D datasets" in shown and "or press I to import your own CSV" in shown
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))


async def test_the_title_bar_redraws_when_its_detail_changes(tmp_path):
    # No poll after the first: the runs screen sets its own detail when it reads the store and sorts.
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "No runs yet" in screen_text(app) and "sort id" in screen_text(app))
        await pilot.pause(0.2)
        bar = app.screen.query_one(TitleBar)
        bar.detail = "[bold]evil · 3 runs"
        await pilot.pause()
        first = screen_text(app).splitlines()[0]
        assert "mlloop · Runs  [bold]evil · 3 runs" in first and first.rstrip().endswith("? keys")
        bar.detail = "x" * 70  # no room for the hint: it makes way
        await pilot.pause()
        assert "keys" not in screen_text(app).splitlines()[0]
