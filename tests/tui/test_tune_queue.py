"""A search started from the app (``t``) queues like the app's runs (``mlloop tune --queue``): while another
process holds the store's run queue its candidates are shown ``queued``, ``x`` cancels them while they
wait, and they run once the queue is free (issue 11). A curve (``l``) and a test evaluation (``T``) wait
for the queue the same way (``--queue``), and say so when they start."""

from __future__ import annotations

import fcntl
from typing import IO

from textual.widgets import TextArea

from core.analysis.curves import load_curve
from core.analysis.holdout import list_test_evaluations
from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.store import Store
from core.store.run_queue import queue_file
from core.store.runs import list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.confirm import ConfirmDialog
from mlloop_tui.dialogs.tune import TuneDialog
from mlloop_tui.screens.run_detail import RunDetailScreen
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.tui.conftest import wait_for


async def start_tune(pilot, run_id: int, grid: str):
    """``t`` on the run's detail, ``grid`` in the dialog, ctrl+s; back on the runs table. Returns the child."""
    app = pilot.app
    before = list(app.launcher.launched)
    app.open_run(run_id)
    await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.extras_loaded)
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TuneDialog), timeout=60)
    app.screen.query_one("#grid", TextArea).text = grid
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    (child,) = [c for c in app.launcher.launched if c not in before]
    assert "--queue" in child.process.args
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
    return child


def tree_with_queue_held(tmp_path, binary_csv) -> tuple[Store, int, IO[str]]:
    """A store with a tree run, and its run queue's lock held as another process's group would hold it."""
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    (tree,) = run_baselines(store, "binary", "tree", folds=2)
    lock = queue_file(store).open("a")
    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return store, tree, lock


def statuses(store: Store, pid: int) -> list[str]:
    return [r.status for r in list_runs(store) if r.pid == pid]


async def test_a_search_from_the_app_waits_queued_can_be_cancelled_and_runs_when_the_queue_is_free(
    tmp_path, binary_csv, monkeypatch
):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    store, tree, lock = tree_with_queue_held(tmp_path, binary_csv)
    try:
        app = MlloopApp(store, poll_interval=0.2)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(RunsTable)

            def shown(pid: int) -> list[str]:
                ids = [r.id for r in list_runs(store) if r.pid == pid]
                return [str(table.get_cell(str(rid), "status")) for rid in ids if rid in table.shown_ids]

            # a first search waits, shown queued; x on one of its candidates cancels it while it waits
            first = await start_tune(pilot, tree, "max_depth=1,2")
            await wait_for(pilot, lambda: shown(first.pid) == ["queued", "queued"], timeout=120)
            candidate = next(r.id for r in list_runs(store) if r.pid == first.pid)
            table.move_cursor(row=table.shown_ids.index(candidate))
            await pilot.press("x")
            await wait_for(pilot, lambda: first.process.poll() is not None, timeout=120)
            assert first.process.returncode == 130, first.error_line()
            await wait_for(pilot, lambda: shown(first.pid) == ["cancelled", "cancelled"], timeout=60)

            # a second one waits too, and runs once the queue is free
            second = await start_tune(pilot, tree, "max_depth=3,4")
            await wait_for(pilot, lambda: shown(second.pid) == ["queued", "queued"], timeout=120)
            assert second.process.poll() is None and statuses(store, second.pid) == ["queued", "queued"]
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            await wait_for(pilot, lambda: second.process.poll() is not None, timeout=300)
            assert second.process.returncode == 0, second.error_line()
            await wait_for(pilot, lambda: shown(second.pid) == ["done", "done"], timeout=60)
    finally:
        lock.close()
    runs = [r for r in list_runs(store) if r.pid == second.pid]
    assert sorted(r.params["max_depth"] for r in runs) == [3, 4] and all(r.n_folds_done == 2 for r in runs)
    cancelled = [r for r in list_runs(store) if r.pid == first.pid]
    assert [r.n_folds_done for r in cancelled] == [0, 0]  # it never fitted: it was cancelled while waiting


async def test_a_curve_and_a_test_evaluation_from_the_app_wait_while_the_queue_is_held(tmp_path, binary_csv):
    store, tree, lock = tree_with_queue_held(tmp_path, binary_csv)
    try:
        app = MlloopApp(store, poll_interval=0.2)
        messages: list[str] = []  # every notification, kept: on a loaded machine the first expired before the second
        notify = app.notify

        def kept(message, *args, **kwargs):
            messages.append(message)
            notify(message, *args, **kwargs)

        app.notify = kept
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
            app.open_run(tree)
            await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.extras_loaded)
            await pilot.press("l")
            await pilot.press("T")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30)
            await pilot.press("y")
            await wait_for(pilot, lambda: len(app.launcher.active()) == 2)
            assert f"computing the learning curve of run {tree} once the runs at work are done" in messages[-2]
            assert f"evaluating run {tree} on the locked test set once the runs at work are done" in messages[-1]
            await pilot.pause(3)  # either fits in well under a second on 240 rows, were it not waiting
            assert all(c.process.poll() is None and "--queue" in c.process.args for c in app.launcher.active())
            assert load_curve(store, tree, "learning") is None and list_test_evaluations(store) == []
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            await wait_for(pilot, lambda: not app.launcher.active(), timeout=120)
            assert all(c.process.returncode == 0 for c in app.launcher.launched), [
                c.error_line() for c in app.launcher.launched
            ]
    finally:
        lock.close()
    assert load_curve(store, tree, "learning") is not None and len(list_test_evaluations(store)) == 1
