"""The app's demo: one child process fits every sample's runs in one pool, the runs fill in live, x
cancels them all; a run started meanwhile queues behind it and starts once it is done."""

from __future__ import annotations

from core.data.samples import SAMPLES
from core.store import Store
from core.store.runs import ACTIVE, list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.runner import RunRequest
from mlloop_tui.widgets.runs_table import RunsTable
from tests.tui.conftest import wait_for


async def test_the_demo_runs_in_one_child_live_and_a_run_started_meanwhile_waits_its_turn(tmp_path):
    store = Store(tmp_path / "demo.duckdb")
    app = MlloopApp(store, poll_interval=0.2, load_samples=True)
    n_runs = 6 * len(SAMPLES)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == n_runs, timeout=120)
        (demo,) = app.launcher.launched  # one child for every sample
        assert demo.request.command()[1 : 1 + len(SAMPLES)] == [s.name for s in SAMPLES]

        def statuses() -> list[str]:
            return [str(table.get_cell(str(rid), "status")) for rid in table.shown_ids]

        # live: folds land in some runs while others still wait for theirs
        await wait_for(pilot, lambda: any(s == "done" or s[0] == "█" for s in statuses()), timeout=120)
        assert demo.process.poll() is None and any(s[0] in "█░" for s in statuses())
        app.start_run(RunRequest("penguins", ("dummy",), folds=2, jobs=1))
        await wait_for(pilot, lambda: len(table.shown_ids) == n_runs + 1, timeout=60)
        queued = table.shown_ids[0]
        assert str(table.get_cell(str(queued), "status")) == "queued"  # it waits for the demo's pool
        table.move_cursor(row=table.shown_ids.index(next(r for r in table.shown_ids if r != queued)))
        await pilot.press("x")  # cancels the demo's child: every one of its runs

        def seen() -> str:
            children = [(c.request.command()[:2], c.process.poll(), c.error_line()) for c in app.launcher.launched]
            return f"statuses {statuses()}, children {children}"

        await wait_for(pilot, lambda: str(table.get_cell(str(queued), "status")) == "done", timeout=300, seen=seen)
    runs = list_runs(store)
    demo_runs = [r for r in runs if r.id != queued]
    assert {r.pid for r in demo_runs} == {demo.pid} and not {r.status for r in demo_runs} & set(ACTIVE)
    assert "cancelled" in {r.status for r in demo_runs}, [(r.model, r.status, r.error) for r in demo_runs]
    unfinished = [(r.id, r.model, r.status, r.error, r.started_at, r.pid) for r in demo_runs if r.finished_at is None]
    assert not unfinished, (unfinished, f"the demo child ended with {demo.process.returncode}: {demo.error_line()}")
    (after,) = [r for r in runs if r.id == queued]
    assert after.started_at >= max(r.finished_at for r in demo_runs)  # its turn came once the demo's ended
