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


async def wait_for(pilot, condition, timeout: float = 30.0, step: float = 0.05, seen=None) -> None:
    """Pause the pilot until ``condition()`` holds (workers and the store poll keep running);
    ``seen()`` says what there was instead, when the time is up."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time" + (f": {seen()}" if seen else ""))
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


def shows_section(app, selector, *texts: str) -> bool:
    """Whether the screen, scrolled to its section ``selector`` (a CSS selector or a widget type),
    shows every one of ``texts``.

    Scrolls again on each call: sections above may still be filling in (a diagnosis, a curve), and
    one scroll made before they grew leaves the section below the fold."""
    screen = app.screen
    section = screen.query_one(selector)
    screen.query_one("#body").scroll_to_widget(section, top=True, animate=False)
    text = screen_text(app)
    return all(t in text for t in texts)
