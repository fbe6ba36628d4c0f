"""The ML loop in the run detail: curves computed by child processes, the diagnosis, tuning, the locked test set.

Everything is real: the store is a DuckDB file, the runs and curves are real fits on small
data, and ``l``/``v``/``t``/``T`` start real ``mlloop`` child processes that the screen
watches through the store. A store with a dummy, a linear model and a 120-tree forest on the
small binary dataset is built once per module and copied for each test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from core.analysis.curves import learning_curve, load_curve, validation_curve
from core.analysis.diagnosis import diagnose
from core.analysis.holdout import list_test_evaluations
from core.analysis.tuning import search_of_run, searches_from_run
from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines, run_specs
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.confirm import ConfirmDialog
from mlloop_tui.dialogs.new_run import RequestError
from mlloop_tui.dialogs.tune import TuneDialog, build_tune_request, knob_grid
from mlloop_tui.runner import CurveRequest, TuneRequest
from mlloop_tui.screens.run_detail import RunDetailScreen
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.curve_panel import CurvePanel
from mlloop_tui.widgets.diagnosis_panel import DiagnosisPanel
from mlloop_tui.widgets.runs_table import RunsTable
from mlloop_tui.widgets.score_plot import ScorePlot
from tests.conftest import write_binary_csv
from tests.core import loop_data
from tests.tui.conftest import screen_text, shows_section, wait_for
from tests.tui.test_run_detail import fixed_for_snapshots, run_id_of, utc  # noqa: F401  (utc is a fixture)


@pytest.fixture(scope="module")
def loop_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loop")
    store = Store(folder / "base.duckdb")
    import_dataset(store, write_binary_csv(folder / "binary.csv"), "label")
    run_specs(store, "binary", [("dummy", {}), ("linear", {}), ("forest", {"n_estimators": 120})], folds=3, jobs=1)
    with store.write() as con:  # fixed times, so the screen shows the same thing on every machine
        con.execute(
            "UPDATE runs SET duration_s = 0.5 + id / 10, created_at = 1.7e9, started_at = 1.7e9, "
            "finished_at = 1.7e9 + 0.5 + id / 10"
        )
        con.execute("UPDATE fold_results SET fit_time = run_id / 100, score_time = 0.001")  # each run's cost
    return store.path


@pytest.fixture
def loop_store(loop_base: Path, tmp_path: Path) -> Store:
    """dummy (run 1), linear (run 2) and a 120-tree forest (run 3) on the binary data, 3 folds each."""
    path = tmp_path / "loop.duckdb"
    shutil.copy(loop_base, path)
    return Store(path)


async def open_run(pilot, run_id: int, diagnosed: bool = True) -> RunDetailScreen:
    """Open the run's detail and wait until its curves (and, by default, its diagnosis) are shown."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
    app.open_run(run_id)
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, RunDetailScreen)
            and app.screen.loaded
            and app.screen.extras_loaded
            and (not diagnosed or app.screen.query_one(DiagnosisPanel).diagnosis is not None)
        ),
    )
    return app.screen


def flat(app) -> str:
    """The screen's text with wrapped lines joined, to find sentences the layout broke."""
    return " ".join(screen_text(app).split())


def children_done(app) -> bool:
    return not app.launcher.active()


# --------------------------------------------------------------------------- curves


async def test_the_learning_curve_grows_while_its_child_process_computes_it(loop_store):
    forest = run_id_of(loop_store, "forest")
    app = MlloopApp(loop_store, poll_interval=0.2)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_run(pilot, forest)
        panel = screen.query_one("#learning", CurvePanel)
        assert panel.curve is None and panel.query_one(ScorePlot).has_class("hidden")
        assert "No learning curve yet: l computes it" in panel.caption.plain
        assert screen.query_one(DiagnosisPanel).diagnosis.more_data_helps is None

        await pilot.press("l")
        [child] = app.launcher.active()
        assert child.request == CurveRequest(forest, "learning")
        seen: list[tuple[int, int, str]] = []

        def progress() -> bool:
            if panel.curve is not None:
                state = (len(panel.curve.points), panel.curve.n_expected, panel.caption.plain)
                if not seen or seen[-1] != state:
                    seen.append(state)
            return children_done(app) and panel.curve is not None and panel.curve.complete

        await wait_for(pilot, progress, timeout=90)
        assert child.process.returncode == 0, child.error_line()
        # the plot grew point by point: partial states shown while the child ran, counts never shrink
        expected = seen[-1][1]
        assert expected == 18  # 6 training sizes × 3 folds
        partial = [s for s in seen if 0 < s[0] < expected]
        assert partial, seen
        assert all("computing… (l cancels)" in caption for _, _, caption in partial)
        assert [s[0] for s in seen] == sorted(s[0] for s in seen)
        await wait_for(pilot, lambda: "computing" not in panel.caption.plain)
        assert panel.caption.plain.startswith("learning curve · 18/18 points (3 folds)")
        assert not panel.query_one(ScorePlot).has_class("hidden")
        stored = load_curve(loop_store, forest, "learning")
        assert panel.curve.points == stored.points and stored.complete
        # the diagnosis picked the curve up: it now says whether more data helps
        await wait_for(pilot, lambda: screen.query_one(DiagnosisPanel).diagnosis.more_data_helps is not None)
        assert (
            screen.query_one(DiagnosisPanel).diagnosis.more_data_helps == diagnose(loop_store, forest).more_data_helps
        )

        await pilot.press("l")  # complete: nothing to start
        assert children_done(app)


async def test_a_validation_curve_can_be_cancelled_and_keeps_its_points(loop_store):
    forest = run_id_of(loop_store, "forest")
    app = MlloopApp(loop_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, forest)
        panel = screen.query_one("#validation", CurvePanel)
        assert "No validation curve yet: v computes it over the complexity knob min_samples_leaf" in panel.caption.plain
        await pilot.press("v")
        [child] = app.launcher.active()
        assert screen.check_action("cancel_run", ()) is True  # x cancels the curve of a finished run
        await wait_for(pilot, lambda: panel.curve is not None and len(panel.curve.points) >= 2, timeout=60)
        assert child.process.poll() is None, "the curve finished before it could be cancelled"
        await pilot.press("x")
        await wait_for(pilot, lambda: children_done(app), timeout=30)
        assert child.process.returncode == 130, child.error_line()
        stored = load_curve(loop_store, forest, "validation")
        await wait_for(pilot, lambda: "incomplete: v computes the rest" in panel.caption.plain)
        assert len(panel.curve.points) == len(stored.points) >= 2 and panel.curve.n_expected == 18
        assert screen.check_action("cancel_run", ()) is False

        # v again finishes it, reusing the kept points; the best setting is marked in the caption
        await pilot.press("v")
        await wait_for(
            pilot,
            lambda: children_done(app) and panel.curve.complete and "computing" not in panel.caption.plain,
            timeout=90,
        )
        full = validation_curve(loop_store, forest)  # everything stored: nothing is fitted here
        assert full.n_computed == 0 and panel.curve.points == full.points
        assert f"best min_samples_leaf={full.best_setting.label}" in panel.caption.plain
        assert "this run 1" in panel.caption.plain


# --------------------------------------------------------------------------- diagnosis


async def test_the_diagnosis_panel_shows_the_bottleneck_the_engine_computes(tmp_path):
    store = Store(tmp_path / "circles.duckdb")
    import_dataset(store, loop_data.circles(tmp_path), "y")
    _, linear, tree = run_baselines(store, "circles", "dummy,linear,tree", folds=5, jobs=1)
    expected = diagnose(store, linear)
    assert expected.bottleneck == "training"
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_run(pilot, linear)
        shown = screen.query_one(DiagnosisPanel).diagnosis
        assert shown.bottleneck == "training" and shown.advice == expected.advice
        wanted = (
            "bottleneck: training (the avoidable bias)",
            f"{expected.avoidable_bias:.3f}",
            f"(best run {tree})",
            "1. a more expressive model: tree reached",
            f"mlloop compare {linear} {tree}",
        )
        await wait_for(pilot, lambda: shows_section(app, DiagnosisPanel, *wanted))

        # a run without finished folds cannot be diagnosed: one dim line says why
        with store.write() as con:
            for table in ("fold_results", "fold_scores"):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", [tree])
        await pilot.press("escape")
        screen = await open_run(pilot, tree, diagnosed=False)
        await wait_for(pilot, lambda: shows_section(app, DiagnosisPanel, f"run {tree} has no finished folds"))
        assert screen.query_one(DiagnosisPanel).diagnosis is None


# --------------------------------------------------------------------------- tuning


def test_the_tune_request_is_checked_in_the_dialog():
    assert knob_grid("max_depth", (1, 2, None)) == "max_depth=1,2,null"
    assert knob_grid(None, ()) == ""
    request = build_tune_request(4, "C=0.1,1\n\n max_iter = 50,100 \n", "", ["C", "max_iter"])
    assert request == TuneRequest(4, ("C=0.1,1", "max_iter=50,100"))
    assert request.command()[:2] == ["tune", "4"] and "--param=C=0.1,1" in request.command()
    assert build_tune_request(4, "C=1,2,3", "2").random == 2
    for text, random, message in [
        ("", "", "at least one"),
        ("C", "", "expected NAME=V1"),
        ("nope=1", "", "unknown parameter 'nope'"),
        ("C=1\nC=2", "", "given twice"),
        ("C=1,,2", "", "empty value"),
        ("C=1", "x", "whole number"),
        ("C=1", "0", "at least 1"),
        ("C=" + ",".join(map(str, range(15))) + "\nmax_iter=" + ",".join(map(str, range(15))), "", "225 candidates"),
    ]:
        with pytest.raises(RequestError, match=message):
            build_tune_request(4, text, random, ["C", "max_iter"])


async def test_tune_from_the_dialog_creates_candidate_runs(loop_store):
    linear = run_id_of(loop_store, "linear")
    app = MlloopApp(loop_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, linear)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TuneDialog))
        dialog = app.screen
        area = dialog.query_one("#grid", TextArea)
        assert area.text == "C=0.001,0.01,0.1,1.0,10.0,100.0"  # the knob and its grid, from core.modeling.models
        area.text = "C=0.1,1\nnot_a_param=1"
        await pilot.press("ctrl+s")
        assert app.screen is dialog and "unknown parameter 'not_a_param'" in screen_text(app)
        area.text = "C=0.01,0.1,10"
        dialog.query_one("#random", Input).value = "2"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        [child] = app.launcher.active()
        assert child.request == TuneRequest(linear, ("C=0.01,0.1,10",), random=2)

        box = screen.query_one("#search")
        await wait_for(pilot, lambda: children_done(app) and not box.has_class("hidden"), timeout=90)
        assert child.process.returncode == 0, child.error_line()
        [search] = searches_from_run(loop_store, linear)
        assert len(search.candidates) == 2 and search.grid == {"C": [0.01, 0.1, 10]}
        await wait_for(
            pilot, lambda: all(c.status == "done" for c in search_of_run(loop_store, search.run_ids[0]).candidates)
        )
        await wait_for(
            pilot,
            lambda: shows_section(
                app, "#search", "started from this run · 2 candidates of linear", *map(str, search.run_ids), "★ best"
            ),
        )

        # the candidates are ordinary runs: the runs table lists them
        await pilot.press("escape")
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: set(search.run_ids) <= set(table.shown_ids))
        # a candidate's own detail shows the search it belongs to, itself marked
        app.open_run(search.run_ids[0])
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.extras_loaded)
        await wait_for(pilot, lambda: shows_section(app, "#search", "a candidate · 2 candidates", "this run"))


# --------------------------------------------------------------------------- the locked test set


async def test_the_locked_test_set_asks_first_and_warns_from_the_second_evaluation(loop_store):
    linear, forest = run_id_of(loop_store, "linear"), run_id_of(loop_store, "forest")
    app = MlloopApp(loop_store, poll_interval=0.2)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_run(pilot, linear)
        assert screen.query_one("#test-result").has_class("hidden")
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "has not been used yet" in app.screen.question and "has not been used yet" in screen_text(app)
        await pilot.press("n")  # no: nothing is evaluated
        await pilot.pause(0.3)
        assert app.screen is screen and children_done(app) and not list_test_evaluations(loop_store)

        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(screen.evaluations) == 1, timeout=60)
        [evaluation] = list_test_evaluations(loop_store)
        assert evaluation.run_id == linear and evaluation.ordinal == 1 and evaluation.warning is None
        shown = screen.query_one("#test-result")
        assert not shown.has_class("hidden")
        # the section is drawn on the next refresh after the evaluation is read
        await wait_for(
            pilot,
            lambda: (
                f"test accuracy {evaluation.scores['accuracy']:.3f}" in flat(app)
                and "evaluation 1 on this" in flat(app)
            ),
        )
        await wait_for(pilot, lambda: screen.query_one(DiagnosisPanel).diagnosis.test_error is not None)

        # another run on the same dataset: the dialog says the test set is used, and the result warns
        await pilot.press("escape")
        screen = await open_run(pilot, forest)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = app.screen.question
        assert "has been used 1 time already" in question and "no longer an unbiased" in question
        await pilot.press("y")
        await wait_for(pilot, lambda: len(screen.evaluations) == 1, timeout=60)
        second = list_test_evaluations(loop_store, run_id=forest)[-1]
        assert second.ordinal == 2 and second.warning
        await wait_for(
            pilot,
            lambda: (
                "evaluation 2 on this dataset" in flat(app) and "⚠ this is evaluation 2 on the test set" in flat(app)
            ),
        )
        d = screen.query_one(DiagnosisPanel)
        await wait_for(pilot, lambda: d.diagnosis.test_error is not None)
        assert d.diagnosis == diagnose(loop_store, forest)


# --------------------------------------------------------------------------- size and snapshots


async def test_a_tiny_terminal_with_curves_and_a_diagnosis_does_not_crash(loop_store):
    forest = run_id_of(loop_store, "forest")
    learning_curve(loop_store, forest)
    app = MlloopApp(loop_store, poll_interval=0.2)
    async with app.run_test(size=(30, 8)) as pilot:
        screen = await open_run(pilot, forest)
        await pilot.press("l", "pagedown", "pagedown", "end", "home")
        for size in [(20, 5), (120, 40), (10, 3), (80, 24), (30, 8)]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
        assert app.is_running and app.screen is screen


async def settled(pilot, screen) -> None:
    """Until both curves and the diagnosis that reads them are on screen and nothing is loading:
    a diagnosis landing after the scroll would move the page under the snapshot."""

    def ready() -> bool:
        d = screen.query_one(DiagnosisPanel).diagnosis
        return (
            screen.query_one("#validation", CurvePanel).curve is not None
            and d is not None
            and d.more_data_helps is not None
            and not any(w.is_running for w in screen.workers)
        )

    await wait_for(pilot, ready)


def _curve_store(store: Store) -> Store:
    forest = run_id_of(store, "forest")
    learning_curve(store, forest)
    validation_curve(store, forest)
    return fixed_for_snapshots(store)


class TestSnapshots:
    def test_diagnosis_and_learning_curve_100x40(self, snap_compare, loop_store, utc):  # noqa: F811
        store = _curve_store(loop_store)
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_run(pilot, run_id_of(store, "forest"))
            await settled(pilot, screen)
            screen.query_one("#body").scroll_to_widget(screen.query_one(DiagnosisPanel), top=True, animate=False)
            await pilot.pause(0.3)

        assert snap_compare(app, terminal_size=(100, 40), run_before=run_before)

    def test_curves_80x24(self, snap_compare, loop_store, utc):  # noqa: F811
        store = _curve_store(loop_store)
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_run(pilot, run_id_of(store, "forest"))
            await settled(pilot, screen)
            screen.query_one("#body").scroll_to_widget(screen.query_one("#learning"), top=True, animate=False)
            await pilot.pause(0.3)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

    def test_validation_curve_80x24(self, snap_compare, loop_store, utc):  # noqa: F811
        store = _curve_store(loop_store)
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_run(pilot, run_id_of(store, "forest"))
            await settled(pilot, screen)
            screen.query_one("#body").scroll_to_widget(screen.query_one("#validation"), top=True, animate=False)
            await pilot.pause(0.3)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
