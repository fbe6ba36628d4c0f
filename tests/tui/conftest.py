"""Helpers for the app's Pilot and snapshot tests (``async def`` tests run under pytest-asyncio)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console


@pytest.fixture(autouse=True)
def _no_user_keymap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The user's own keymap must not change what tests press or what snapshots show."""
    monkeypatch.setenv("MLLOOP_KEYMAP", str(tmp_path / "no-keymap.toml"))


async def wait_for(pilot, condition, timeout: float = 30.0, step: float = 0.05) -> None:
    """Pause the pilot until ``condition()`` holds (workers and the store poll keep running)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(step)


def screen_text(app) -> str:
    """The screen as the terminal shows it, as plain text (what the SVG snapshots draw)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)
