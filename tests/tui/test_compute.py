"""Dataset analyses run in child processes (``python -m mlloop_tui.compute``): their results come
back line by line, their errors as one line, and nothing of them outlives the screen."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from core.analysis.dimensionality import CurseStats, curse_stats
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.compute import Failed, decode
from mlloop_tui.runner import CurseRequest, FeaturesRequest, QualityRequest
from mlloop_tui.screens.features import FeaturesScreen
from mlloop_tui.screens.quality import QualityScreen
from mlloop_tui.screens.runs import RunsScreen
from tests.tui.conftest import screen_text, wait_for


def group_members(pgid: int) -> list[int]:
    """The processes of a group that still run (zombies waiting for their reaper do not)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def wait_until_gone(pgid: int, timeout: float = 10.0) -> None:
    """SIGKILL has been sent; the kernel may take a moment to tear the workers down."""
    end = time.monotonic() + timeout
    while group_members(pgid) and time.monotonic() < end:
        time.sleep(0.05)
    assert not group_members(pgid)


def run_child(request, store: Store) -> subprocess.CompletedProcess:
    return subprocess.run(request.argv(store.path), capture_output=True, text=True, timeout=120, check=False)


def test_the_child_sends_what_the_engine_computes(runs_store):
    done = run_child(CurseRequest("binary"), runs_store)
    assert done.returncode == 0, done.stderr
    events = [decode(line) for line in done.stdout.splitlines()]
    assert len(events) == 1 and isinstance(events[0], CurseStats)
    assert events[0] == curse_stats(runs_store, "binary")


def test_an_error_in_the_child_is_one_line_and_a_failure(runs_store):
    done = run_child(QualityRequest("no such dataset"), runs_store)
    assert done.returncode == 1
    assert [decode(line) for line in done.stdout.splitlines()] == [Failed("no dataset 'no such dataset'")]


def test_a_dataset_named_like_an_option_is_a_dataset(runs_store):
    done = run_child(QualityRequest("--jobs"), runs_store)
    assert [decode(line) for line in done.stdout.splitlines()] == [Failed("no dataset '--jobs'")]


async def test_leaving_the_screens_kills_their_children_and_workers(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "3/3 runs" in screen_text(app))
        await pilot.press("Q")  # left at once, while the child imports the engine
        screen = app.screen
        assert isinstance(screen, QualityScreen)
        child = screen.computations[0]
        assert child.process.args[:3] == [sys.executable, "-m", "mlloop_tui.compute"] and group_members(child.pid)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        wait_until_gone(child.pid)

        await pilot.press("F")  # left while the child's worker processes fit
        screen = app.screen
        assert isinstance(screen, FeaturesScreen)
        await wait_for(pilot, lambda: screen.done > 0, timeout=60)
        child = next(c for c in screen.computations if isinstance(c.request, FeaturesRequest))
        assert len(group_members(child.pid)) > 1  # the child and its workers
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        wait_until_gone(child.pid)
        assert all(c.killed for c in screen.computations)


async def test_quitting_kills_the_children_and_errors_show_as_one_line(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "3/3 runs" in screen_text(app))
        app.push_screen(QualityScreen("gone"))
        await wait_for(pilot, lambda: isinstance(app.screen, QualityScreen) and app.screen.done, timeout=60)
        assert "no dataset 'gone'" in str(app.screen.query_one("#status").render())
        await pilot.press("escape")
        await pilot.press("F")
        screen = app.screen
        assert isinstance(screen, FeaturesScreen)
        child = screen.computations[0]
        await pilot.press("q")
    assert not app.is_running and child.killed
    wait_until_gone(child.pid)
