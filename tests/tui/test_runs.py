"""The runs screen with the real app: live updates, filter, sort, marks, cancel, literal text."""

from __future__ import annotations

import subprocess
import sys

from rich.text import Text

from core.store.runs import list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.tui.conftest import wait_for


def shown_models(app) -> list[str]:
    table = app.screen.query_one(RunsTable)
    return [str(table.get_cell(str(rid), "model")) for rid in table.shown_ids]


async def test_runs_table_lists_runs_and_sorts(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        assert table.shown_ids == sorted(table.shown_ids, reverse=True)  # newest first
        assert table.columns_spec[table.sort_index].key == "id"
        await pilot.press("s")  # next column: group
        await pilot.press("s", "s")  # dataset, model
        assert table.columns_spec[table.sort_index].key == "model"
        assert shown_models(app) == ["tree", "linear", "dummy"]
        await pilot.press("S")
        assert shown_models(app) == ["dummy", "linear", "tree"]
        # sorting by accuracy puts the majority-class dummy last when descending
        acc = next(i for i, c in enumerate(table.columns_spec) if c.key == "m:accuracy")
        table.sort_by(acc, descending=True)
        await pilot.pause()
        assert shown_models(app)[-1] == "dummy"


async def test_filter_by_text_field_and_metric_condition(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        await pilot.press("slash", *"model:tree")
        assert shown_models(app) == ["tree"]
        app.screen.query_one("#filter").value = "accuracy>0.6"
        await pilot.pause()
        assert "dummy" not in shown_models(app) and shown_models(app)
        app.screen.query_one("#filter").value = "nosuchmetric>1"
        await pilot.pause()
        assert app.screen.query_one("#filter").has_class("-invalid")
        await pilot.press("escape")
        assert len(table.shown_ids) == 3


async def test_marks_toggle_and_compare_needs_two(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        await pilot.press("space")
        assert table.marked == {table.shown_ids[0]}
        assert str(table.get_cell(str(table.shown_ids[0]), "mark")) == "✓"
        await pilot.press("c")  # only one marked: a warning, no screen change
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and app.screen.query_one(RunsTable) is table
        assert [n.message for n in app._notifications] == ["Mark two or more runs with space, then press c."]
        await pilot.press("space")  # the cursor moved down after marking: this marks the next run
        assert table.marked == set(table.shown_ids[:2])
        await pilot.press("escape")
        assert table.marked == set() and str(table.get_cell(str(table.shown_ids[0]), "mark")) == " "


async def test_runs_from_another_process_appear_live(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlloop_tui",
                "--store",
                str(runs_store.path),
                "run",
                "binary",
                "--models",
                "forest",
                "--cv",
                "4",
                "--jobs",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await wait_for(pilot, lambda: len(table.shown_ids) == 4, timeout=60)
            new_id = table.shown_ids[0]
            await wait_for(pilot, lambda: str(table.get_cell(str(new_id), "status")) == "done", timeout=120)
        finally:
            proc.wait(timeout=120)
        assert proc.returncode == 0, proc.stderr.read()
        assert "±" in str(table.get_cell(str(new_id), "m:accuracy"))


async def test_a_run_started_in_the_app_streams_and_can_be_cancelled(runs_store, tmp_path):
    from mlloop_tui.runner import RunRequest

    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        # a long run: many folds of a big forest, sequential
        app.start_run(RunRequest("binary", ("forest",), folds=20, repeats=5, seed=1, jobs=1))
        await wait_for(pilot, lambda: len(table.shown_ids) == 4, timeout=60)
        run_id = table.shown_ids[0]
        # a running run shows a progress bar and its folds done, e.g. "█░░░░░ 12/100"
        await wait_for(
            pilot,
            lambda: (
                str(table.get_cell(str(run_id), "status")).endswith("/100")
                and str(table.get_cell(str(run_id), "status"))[0] in "█░"
            ),
            timeout=60,
        )
        # the UI answers keys while the run works: the filter opens, takes text and closes
        await pilot.press("slash", "z", "q")
        assert app.screen.query_one("#filter").value == "zq" and table.shown_ids == []
        await pilot.press("escape")
        assert len(table.shown_ids) == 4 and app.launcher.active()
        table.move_cursor(row=0)
        await pilot.press("x")
        await wait_for(pilot, lambda: str(table.get_cell(str(run_id), "status")) == "cancelled", timeout=60)
        (run,) = [r for r in list_runs(runs_store) if r.id == run_id]
        assert run.status == "cancelled" and run.n_folds_done < 100


async def test_quit_asks_while_a_run_is_in_progress(runs_store):
    from mlloop_tui.dialogs.confirm import ConfirmDialog
    from mlloop_tui.runner import RunRequest

    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        app.start_run(RunRequest("binary", ("forest",), folds=20, repeats=5, jobs=1))
        launched = app.launcher.active()[0]
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 4, timeout=60)  # the child is running
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmDialog) and app.is_running
        await pilot.press("q", "y")
        await pilot.pause(0.5)
    launched.process.wait(timeout=60)
    assert launched.process.returncode == 130


async def test_markup_in_dataset_names_is_shown_literally(tmp_path, binary_csv):
    from tests.conftest import make_runs_store

    evil = tmp_path / "[@click=app.quit]x.csv"
    evil.write_bytes(binary_csv.read_bytes())
    store = make_runs_store(tmp_path / "e.duckdb", evil, "label", models="dummy")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 1)
        cell = table.get_cell(str(table.shown_ids[0]), "dataset")
        assert isinstance(cell, Text) and cell.plain == "[@click=app.qui…"  # literal, cut to the column
        assert not cell.spans
        await pilot.click(RunsTable, offset=(30, 1))
        await pilot.press("down", "up")
        assert app.is_running


def copy_runs(store, copies: int) -> int:
    """Each run ``copies`` more times (new ids, same scores), as a store used for months has."""
    with store.write() as con:
        for k in range(1, copies + 1):
            con.execute(f"INSERT INTO runs SELECT * REPLACE (id + {k * 1000} AS id) FROM runs WHERE id < 1000")
            con.execute(
                f"INSERT INTO fold_results SELECT * REPLACE (run_id + {k * 1000} AS run_id) "
                "FROM fold_results WHERE run_id < 1000"
            )
            con.execute(
                f"INSERT INTO fold_scores SELECT * REPLACE (run_id + {k * 1000} AS run_id) "
                "FROM fold_scores WHERE run_id < 1000"
            )
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]


async def test_a_big_store_shows_its_newest_runs_first_then_all(runs_store, monkeypatch):
    from core.store.run_listing import RunListing
    from mlloop_tui.screens.runs import FIRST_READ, RunsScreen

    n_runs = copy_runs(runs_store, FIRST_READ // 3 + 10)
    assert n_runs > FIRST_READ
    newest = [r.id for r in list_runs(runs_store)]
    assert [r.id for r in list_runs(runs_store, limit=FIRST_READ)] == newest[:FIRST_READ]
    shown: list[tuple[list[int], bool]] = []
    show = RunsScreen._show

    def spy(self, listing: RunListing, partial=False):
        shown.append((listing.order([], "id", True), partial))
        return show(self, listing, partial)

    monkeypatch.setattr(RunsScreen, "_show", spy)
    app = MlloopApp(runs_store, poll_interval=3600)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.run_count == n_runs)
        assert shown[0] == (newest[:FIRST_READ], True)
        assert shown[-1] == (newest, False)
        assert table.shown_ids == newest
        detail = app.screen.query_one("TitleBar").detail
        assert detail.startswith(f"{n_runs}/{n_runs} runs") and "reading" not in detail


def column_x(table: RunsTable, key: str) -> int:
    """The x offset, in the table, of the middle of a column's header (cells are padded by one)."""
    index = next(i for i, c in enumerate(table.ordered_columns) if c.key.value == key)
    left = sum(c.get_render_width(table) for c in table.ordered_columns[:index])
    return left + table.ordered_columns[index].get_render_width(table) // 2 - int(table.scroll_x)


async def test_clicking_a_header_sorts_by_its_column_as_s_does(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        await pilot.click(RunsTable, offset=(column_x(table, "model"), 0))  # row 0: the header
        await pilot.pause()
        assert table.columns_spec[table.sort_index].key == "model" and table.descending
        assert shown_models(app) == ["tree", "linear", "dummy"]  # what s s s s gives (above)
        await pilot.click(RunsTable, offset=(column_x(table, "model"), 0))  # the same header: reversed, as S
        await pilot.pause()
        assert shown_models(app) == ["dummy", "linear", "tree"] and not table.descending
        await pilot.click(RunsTable, offset=(column_x(table, "m:accuracy"), 0))  # another: its column, same way
        await pilot.pause()
        accuracy = {r.model: r.summaries["accuracy"].val_mean for r in list_runs(runs_store)}
        assert shown_models(app) == sorted(accuracy, key=accuracy.get)
        assert shown_models(app)[0] == "dummy"
        assert "sort accuracy ↑" in app.screen.query_one("TitleBar").detail


async def test_a_filter_of_several_terms_shows_the_runs_matching_all_of_them(runs_store):
    runs = {r.model: r for r in list_runs(runs_store)}
    with runs_store.write() as con:
        con.execute("UPDATE runs SET status = 'cancelled' WHERE id = ?", [runs["tree"].id])
    accuracy = {model: r.summaries["accuracy"].val_mean for model, r in runs.items()}
    assert accuracy["dummy"] < accuracy["linear"]
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        box = app.screen.query_one("#filter")
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        await pilot.press("slash", *"status:done")
        assert shown_models(app) == ["linear", "dummy"]  # the cancelled tree is out
        # a bound equal to a run's mean: >= and <= keep that run
        await pilot.press("space", *f"accuracy>={accuracy['linear']!r}")
        assert shown_models(app) == ["linear"]
        assert "filter: status:done accuracy>=" in app.screen.query_one("TitleBar").detail
        box.value = f"status:done accuracy<={accuracy['dummy']!r}"
        await pilot.pause()
        assert shown_models(app) == ["dummy"]
        box.value = "status:done model:tree"  # each term matches some run, none matches both
        await pilot.pause()
        assert shown_models(app) == []
        box.value = "status:done binary lin"  # plain words: in the dataset, model or status
        await pilot.pause()
        assert shown_models(app) == ["linear"] and not box.has_class("-invalid")
        # a bad term: the box says so, a warning names it, and the runs shown stay as they were
        box.value = "status:done binary lin acc>=1"
        await pilot.pause()
        assert box.has_class("-invalid") and shown_models(app) == ["linear"]
        assert any("unknown metric 'acc'" in n.message for n in app._notifications)
        box.value = "status:done binary lin accuracy>=x"
        await pilot.pause()
        assert box.has_class("-invalid") and shown_models(app) == ["linear"]
        assert any("'x' is not a number" in n.message for n in app._notifications)
        box.value = "status:done binary lin accuracy>=1"  # valid again, and no run reaches it
        await pilot.pause()
        assert not box.has_class("-invalid") and shown_models(app) == []


async def test_ctrl_q_quits_at_once_when_nothing_is_working(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, timeout=10)


async def test_ctrl_q_also_asks_while_a_run_is_in_progress(runs_store):
    from mlloop_tui.dialogs.confirm import ConfirmDialog
    from mlloop_tui.runner import RunRequest

    app = MlloopApp(runs_store, poll_interval=0.2)
    launched = None
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            app.start_run(RunRequest("binary", ("forest",), folds=20, repeats=5, jobs=1))
            launched = app.launcher.active()[0]
            table = app.screen.query_one(RunsTable)
            await wait_for(pilot, lambda: len(table.shown_ids) == 4, timeout=60)  # the child is running
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog) and app.is_running
            stack = len(app.screen_stack)
            await pilot.press("ctrl+q")  # again: the same question, not a second one over it
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog) and len(app.screen_stack) == stack
            await pilot.press("n")
            assert isinstance(app.screen, RunsScreen) and app.is_running
    finally:
        if launched is not None and launched.process.poll() is None:
            launched.process.kill()
            launched.process.wait(timeout=60)
