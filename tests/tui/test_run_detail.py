"""The run detail screen with the real app, real stores and real runs.

One store with a dummy, a GLM and a tree run on the bundled penguins data is built once per
module (fitting takes seconds) and copied for each test, so every test has its own file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.text import Text

from core.store import Store
from core.store.runs import get_run, list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.run_detail import RunDetailScreen
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.diagnosis_panel import DiagnosisPanel
from mlloop_tui.widgets.fold_table import FoldTable, ScoreSummaryTable
from mlloop_tui.widgets.glm_table import GlmTable
from mlloop_tui.widgets.runs_table import RunsTable
from tests.concurrency import WRITER_LOCK_TIMEOUT, make_slow_diagnosis_store, start_writer, stop_writer
from tests.conftest import SAMPLES, make_runs_store
from tests.tui.conftest import screen_text, wait_for

EVIL = ("[bold]x", "[@click=app.quit]y", "\x1b[31mz\u202e")  # an escape and a right-to-left override
EVIL_SHOWN = ("[bold]x", "[@click=app.quit]y", "\\x1b[31mz\\u202e")  # control characters made visible


@pytest.fixture(scope="module")
def penguins_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("penguins") / "base.duckdb"
    make_runs_store(path, SAMPLES / "penguins.csv", "species", models="dummy,glm,tree")
    return path


@pytest.fixture
def penguins_store(penguins_base: Path, tmp_path: Path) -> Store:
    """dummy (run 1), glm (run 2) and tree (run 3) on penguins, 3 folds each."""
    path = tmp_path / "penguins.duckdb"
    shutil.copy(penguins_base, path)
    return Store(path)


def run_id_of(store: Store, model: str) -> int:
    return next(r.id for r in list_runs(store) if r.model == model)


async def open_from_runs_table(pilot, run_id: int) -> RunDetailScreen:
    """Select the run in the runs table and press enter, as a user does."""
    app = pilot.app
    table = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: run_id in table.shown_ids)
    table.move_cursor(row=table.shown_ids.index(run_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded)
    screen = app.screen
    if not screen.missing:  # the diagnosis and curves above the tables: wait, so the page stops moving
        panel = screen.query_one(DiagnosisPanel)
        await wait_for(pilot, lambda: screen.extras_loaded and (panel.diagnosis is not None or panel.message))
    return screen


def plain_column(table, key: str) -> list[str]:
    cells = list(table.get_column(key))
    assert all(isinstance(c, Text) for c in cells)  # never a str that would be parsed as markup
    return [c.plain for c in cells]


def fixed_for_snapshots(store: Store) -> Store:
    """Overwrite what changes between machines and runs: timings, versions, hashes."""
    with store.write() as con:
        con.execute("UPDATE fold_results SET fit_time = 0.25 + fold_index / 100, score_time = 0.01")
        con.execute("""UPDATE runs SET versions = '{"python": "3.11", "scikit-learn": "1.9", "statsmodels": "0.15"}',
                       dataset_hash = repeat('ab', 32)""")
        con.execute("UPDATE datasets SET file_hash = repeat('ab', 32)")
    return store


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    """Times are shown in local time: make it UTC, and put the real zone back afterwards."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# --------------------------------------------------------------------------- content and keys


async def test_open_a_glm_run_shows_scores_folds_and_coefficients(penguins_store, tmp_path, monkeypatch):
    glm_id = run_id_of(penguins_store, "glm")
    stored = get_run(penguins_store, glm_id)
    monkeypatch.chdir(tmp_path)  # where the export dialog proposes its file
    app = MlloopApp(penguins_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_from_runs_table(pilot, glm_id)
        assert screen.run_id == glm_id and screen.record == stored

        # the fold table holds exactly the stored fold scores
        folds = screen.query_one(FoldTable)
        assert folds.fold_indexes == [f.index for f in stored.fold_scores]
        assert folds.metrics == ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"]
        for f in stored.fold_scores:
            row = folds.get_row(str(f.index))
            assert [c.plain for c in row[:4]] == [str(f.fold + 1), str(f.repeat + 1), str(f.n_train), str(f.n_val)]
            for metric in folds.metrics:
                assert folds.get_cell(str(f.index), f"train:{metric}").plain == f"{f.train[metric]:.3f}"
                assert folds.get_cell(str(f.index), f"val:{metric}").plain == f"{f.validation[metric]:.3f}"

        # the summary: mean ± std per metric, and the gap judged by the metric's direction
        summary = screen.query_one(ScoreSummaryTable)
        acc = stored.summaries["accuracy"]
        assert summary.get_cell("accuracy", "val").plain == f"{acc.val_mean:.3f}±{acc.val_std:.3f}"
        assert summary.get_cell("log_loss", "metric").plain == "log loss ↓"
        loss = stored.summaries["log_loss"]
        gap = summary.get_cell("log_loss", "gap").plain
        assert gap.strip().startswith(f"{loss.train_mean - loss.val_mean:+.3f}")
        assert ("train better" in gap) == (loss.train_mean < loss.val_mean)  # lower is better for a loss

        # the GLM: a multinomial (three species), so a class column; Intercept and every term
        glm = screen.query_one(GlmTable)
        assert glm.multinomial and glm.row_count == len(stored.glm.coefficients)
        terms = plain_column(glm, "term")
        assert terms == [c.term for c in stored.glm.coefficients]
        assert "Intercept" in terms and {"bill_length_mm", "flipper_length_mm", "body_mass_g"} <= set(terms)
        assert set(plain_column(glm, "class")) == {"Chinstrap", "Gentoo"}  # Adelie is the reference
        shown = screen_text(app)
        assert "glm on penguins · done" in shown and "(defaults)" in shown and "3 folds × 1 repeat" in shown

        # keys: g and f reach the tables; tab cycles focus; e exports this run; x is off when done
        await pilot.press("g")
        assert app.focused is glm and "Intercept" in screen_text(app)
        await pilot.press("down", "pagedown", "ctrl+end")
        assert glm.cursor_row == glm.row_count - 1
        await pilot.press("f")
        assert app.focused is folds
        await pilot.press("e")  # the real export dialog, for this run; enter writes its proposed file
        from mlloop_tui.dialogs.export import ExportDialog

        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog) and app.screen.query("#path"))
        assert app.screen.run_ids == [glm_id]
        assert app.screen.query_one("#path").value == f"mlloop-run-{glm_id}.md"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        written = (tmp_path / f"mlloop-run-{glm_id}.md").read_text(encoding="utf-8")
        assert written.startswith(f"# mlloop run {glm_id}: glm on penguins")
        assert f"{acc.val_mean:.4f} ± {acc.val_std:.4f}" in written  # its accuracy, as exports write it
        assert "| Chinstrap | Intercept | " in written  # and its GLM coefficient table
        assert screen.check_action("cancel_run", ()) is False
        await pilot.press("x")  # not running: nothing happens
        assert app.screen is screen

        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        assert app.screen.query_one(RunsTable).selected_id() == glm_id


async def test_a_tree_run_has_no_glm_section_and_a_missing_run_says_so(penguins_store):
    app = MlloopApp(penguins_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_from_runs_table(pilot, run_id_of(penguins_store, "tree"))
        assert not screen.query_one("#glm").display or screen.query_one("#glm").has_class("hidden")
        assert screen.check_action("focus_table", ("#glm-table", "#glm")) is False
        await pilot.press("escape")
        for _ in range(3):  # closed before (or while) its worker reads: no error, back on the runs
            app.open_run(run_id_of(penguins_store, "glm"))
            await pilot.press("escape")
        await pilot.pause(0.3)
        assert isinstance(app.screen, RunsScreen) and app.is_running
        app.open_run(999)
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded)
        assert app.screen.missing and "no run with id 999" in screen_text(app)
        await pilot.press("e", "x", "f", "g", "tab")  # nothing to act on: no crash
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_a_running_run_shows_its_folds_live_and_x_cancels_it(penguins_store):
    app = MlloopApp(penguins_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 3)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlloop_tui",
                "--store",
                str(penguins_store.path),
                "run",
                "penguins",
                "--models",
                "forest",
                "--cv",
                "10",
                "--repeats",
                "5",
                "--jobs",
                "1",
                "--param",
                "forest.n_estimators=300",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await wait_for(pilot, lambda: len(table.shown_ids) == 4, timeout=60)
            screen = await open_from_runs_table(pilot, table.shown_ids[0])
            assert screen.record.model == "forest"
            folds = screen.query_one(FoldTable)
            await wait_for(pilot, lambda: screen.record.n_folds_done >= 1, timeout=60)
            await wait_for(pilot, lambda: screen.record.status == "running", timeout=60)
            first = len(folds.fold_indexes)
            await wait_for(pilot, lambda: len(folds.fold_indexes) >= first + 2, timeout=60)
            assert "running" in screen_text(app) and "/50 folds" in screen_text(app)
            assert screen.check_action("cancel_run", ()) is True
            await pilot.press("x")
            await wait_for(pilot, lambda: screen.record.status == "cancelled", timeout=60)
        finally:
            proc.wait(timeout=60)
        assert proc.returncode == 130, proc.stderr.read()
        await pilot.pause(0.5)
        stored = get_run(penguins_store, screen.run_id)
        assert folds.fold_indexes == [f.index for f in stored.fold_scores]  # kept folds, all shown
        assert 2 <= stored.n_folds_done < 50


async def test_markup_and_escapes_in_column_and_class_names_are_shown_literally(tmp_path):
    import csv

    path = tmp_path / "[bold]evil.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*EVIL, "label"])
        for i in range(60):
            writer.writerow(
                [
                    round((i * 37 % 11) / 3, 2),
                    round((i * 13 % 7) / 2, 2),
                    i % 5,
                    ["[red]a", "b", "[@click=app.quit]c"][(i * 7 + i // 4) % 3],
                ]
            )
    store = make_runs_store(tmp_path / "e.duckdb", path, "label", models="glm")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_from_runs_table(pilot, run_id_of(store, "glm"))
        glm = screen.query_one(GlmTable)
        terms = plain_column(glm, "term")
        assert terms[0] == "Intercept" and set(EVIL_SHOWN) <= set(terms)
        assert all(not cell.spans for cell in glm.get_column("term") if cell.plain != "Intercept")
        assert set(plain_column(glm, "class")) == {"[red]a", "b"}  # "[@click=app.quit]c" sorts first: the reference
        # click and move over every part of the page: no markup action fires, nothing crashes
        await pilot.press("g")
        for row in range(4):
            await pilot.click(GlmTable, offset=(4, 1 + row))
            await pilot.click(GlmTable, offset=(16, 1 + row))
            await pilot.press("down")
        await pilot.press("shift+tab", "shift+tab", "shift+tab")  # glm -> folds -> summary -> the page
        assert app.focused is screen.query_one("#body")
        await pilot.press("home")  # the page's top: the run and the dataset
        await pilot.click("#facts", offset=(50, 0))
        await pilot.pause()
        assert app.is_running and app.screen is screen
        shown = screen_text(app)
        assert "[bold]evil" in shown and "\x1b" not in shown and "\x1b" not in app.export_screenshot()
        await pilot.press("g")
        shown = screen_text(app)
        assert all(name in shown for name in EVIL_SHOWN) and "[@click=app.quit]c" in shown


async def test_tiny_terminal_and_quick_resizes_do_not_crash(penguins_store):
    app = MlloopApp(penguins_store, poll_interval=0.2)
    async with app.run_test(size=(30, 8)) as pilot:
        screen = await open_from_runs_table(pilot, run_id_of(penguins_store, "glm"))
        await pilot.press("tab", "down", "pagedown", "g", "right", "end", "f", "pageup", "shift+tab")
        for size in [(20, 5), (120, 40), (10, 3), (80, 24), (3, 2), (200, 60), (30, 8)]:
            await pilot.resize_terminal(*size)
        await pilot.pause(0.3)
        assert app.is_running and app.screen is screen and app.size == (30, 8)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


# --------------------------------------------------------------------------- snapshots


class TestSnapshots:
    def test_tree_run_detail(self, snap_compare, penguins_store, utc):
        store = fixed_for_snapshots(penguins_store)
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            await open_from_runs_table(pilot, run_id_of(store, "tree"))
            await pilot.pause(0.2)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

    def test_glm_run_detail(self, snap_compare, tmp_path, binary_csv, utc):
        store = fixed_for_snapshots(make_runs_store(tmp_path / "glm.duckdb", binary_csv, "label", models="glm"))
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            await open_from_runs_table(pilot, run_id_of(store, "glm"))
            await pilot.press("g")
            await pilot.pause(0.2)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_the_detail_screen_diagnosing_a_large_run_never_makes_a_writer_fail(tmp_path):
    """Fitting the dummy for the diagnosis takes seconds; the screen must not hold the store meanwhile."""
    store = Store(make_slow_diagnosis_store(tmp_path / "slow.duckdb"))
    stop = tmp_path / "stop"
    writer = start_writer(store, stop)
    try:
        app = MlloopApp(store)
        async with app.run_test(size=(80, 24)) as pilot:
            start = time.monotonic()
            screen = await open_from_runs_table(pilot, 1)
            took = time.monotonic() - start
            assert screen.query_one(DiagnosisPanel).diagnosis is not None
    finally:
        writes = stop_writer(writer, stop)
    assert took > 2 * WRITER_LOCK_TIMEOUT, "too quick to hold the store past the writer's lock timeout"
    assert writes > 5
