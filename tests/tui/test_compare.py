"""The comparison screen with the real app, a real store and real runs.

One store is built once per session (fitting takes seconds) and copied for each test:
dummy (run 1), linear (run 2) and tree (run 3) cross-validated on the same 3 folds, so they
pair; dummy again on other folds (run 4, seed 9), which cannot be paired with them; and a
tree with ``max_depth=2`` (run 5) on the first folds, whose parameters differ from run 3's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.text import Text

from core.analysis.compare import compare_runs
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.compare import CompareScreen, CompareTable
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.runs_table import RunsTable
from tests.conftest import make_runs_store, write_binary_csv
from tests.tui.conftest import screen_text, wait_for

EVIL = "[@click=app.quit]x"


def build_compare_store(path: Path) -> Path:
    """Runs 1-3 (dummy, linear, tree; seed 0), 4 (dummy, seed 9), 5 (tree, max_depth=2; seed 0),
    with fixed timings so that every screen showing them is deterministic."""
    from core.modeling.evaluation import run_baselines

    store = make_runs_store(path, write_binary_csv(path.parent / "binary.csv"), "label")
    run_baselines(store, "binary", "dummy", folds=3, seed=9)
    run_baselines(store, "binary", "tree", folds=3, seed=0, params={"tree": {"max_depth": 2}})
    with store.write() as con:
        con.execute(
            "UPDATE runs SET duration_s = 0.5 + id / 10, created_at = 1.7e9, started_at = 1.7e9, "
            "finished_at = 1.7e9 + 0.5 + id / 10"
        )
        con.execute("UPDATE fold_results SET fit_time = run_id / 100, score_time = 0.001")  # each run's cost
    return path


def shared_compare_store(factory: pytest.TempPathFactory) -> Path:
    """The store of :func:`build_compare_store`, built once per test session (and worker)."""
    path = factory.getbasetemp() / "compare-base" / "base.duckdb"
    if not path.exists():
        building = factory.mktemp("compare-building") / "base.duckdb"
        build_compare_store(building)
        path.parent.mkdir(exist_ok=True)
        shutil.copy(building, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
    return path


def copy_store(base: Path, folder: Path) -> Store:
    path = folder / "compare.duckdb"
    shutil.copy(base, path)
    return Store(path)


@pytest.fixture(scope="module")
def compare_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_compare_store(tmp_path_factory)


@pytest.fixture
def store(compare_base: Path, tmp_path: Path) -> Store:
    return copy_store(compare_base, tmp_path)


async def open_compare(pilot, run_ids: list[int]) -> CompareScreen:
    app = pilot.app
    app.open_comparison(run_ids)
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.loaded)
    return app.screen


def plain(widget) -> str:
    content = widget.content
    assert isinstance(content, Text)  # never a string that could be parsed as markup
    return content.plain


def cells(table: CompareTable, row: str) -> list[str]:
    values = table.get_row(row)[1:]
    assert all(isinstance(v, Text) for v in values)
    return [v.plain for v in values]


# --------------------------------------------------------------------------- side by side


async def test_marked_runs_open_side_by_side_with_their_test(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(table.shown_ids) == 5)
        table.move_cursor(row=table.shown_ids.index(2))
        await pilot.press("space", "space")  # marks run 2, then the next row down: run 1
        assert table.marked == {1, 2}
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.loaded)
        screen = app.screen
        expected = compare_runs(store, [1, 2])
        (pair,) = expected.pairs
        assert screen.comparison == expected
        assert pair.pairable and 0 < pair.p < 1
        shown = screen_text(app)
        assert "dummy" in shown and "linear" in shown
        assert f"p = {pair.p:.3g}" in shown  # visible at 80×24 without scrolling
        assert f"p = {pair.p:.3g}" in plain(screen.query_one("#pair-0"))
        assert plain(screen.query_one("#explanation-0")) == pair.explanation
        # models differ and nothing else does: the parameter table is just the model
        params = screen.query_one("#params", CompareTable)
        assert params.row_keys == ["model"] and cells(params, "model") == ["dummy", "linear"]
        # every metric, with mean ± std per run and the delta against the reference (run 1)
        scores = screen.query_one("#scores", CompareTable)
        assert scores.row_keys == list(expected.metrics)
        acc = expected.runs[1].summaries["accuracy"]
        assert (
            cells(scores, "accuracy")[1] == f"★{acc.val_mean:.3f}±{acc.val_std:.3f} "
            f"{expected.deltas[2]['accuracy']:+.3f}"
        )
        assert cells(scores, "accuracy")[0].endswith("ref")
        # the folds of the chosen metric, lined up
        folds = screen.query_one("#folds", CompareTable)
        assert folds.row_keys == ["0", "1", "2"]
        first = [f"{r.fold_scores[0].validation['accuracy']:.3f}" for r in expected.runs]
        assert [c.lstrip("★") for c in cells(folds, "0")] == first
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_r_cycles_the_reference_and_the_deltas_flip(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, [1, 2, 3])
        before = screen.comparison
        assert before.reference_id == 1
        scores = screen.query_one("#scores", CompareTable)
        delta = before.deltas[2]["accuracy"]
        assert cells(scores, "accuracy")[1].endswith(f"{delta:+.3f}")
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.comparison.reference_id == 2)
        after = screen.comparison
        assert after == compare_runs(store, [1, 2, 3], reference=2)
        assert after.deltas[1]["accuracy"] == pytest.approx(-delta)
        assert cells(scores, "accuracy")[0].endswith(f"{-delta:+.3f}")
        assert cells(scores, "accuracy")[1].endswith("ref")
        assert [p.a_id for p in after.pairs] == [1, 3] and all(p.b_id == 2 for p in after.pairs)
        assert plain(screen.query_one("#explanation-0")) == after.pairs[0].explanation
        assert "ref run 2" in screen_text(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.comparison.reference_id == 3)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.comparison.reference_id == 1)


async def test_m_cycles_the_metric_of_the_test_and_the_folds(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, [1, 2])
        assert screen.comparison.metric == "accuracy"
        await pilot.press("m")
        await wait_for(pilot, lambda: screen.comparison.metric == "balanced_accuracy")
        expected = compare_runs(store, [1, 2], metric="balanced_accuracy")
        assert screen.comparison == expected
        assert f"p = {expected.pairs[0].p:.3g}" in plain(screen.query_one("#pair-0"))
        assert "balanced accuracy" in plain(screen.query_one("#significance-title"))
        folds = screen.query_one("#folds", CompareTable)
        shown = [c.lstrip("★") for c in cells(folds, "0")]
        assert shown == [f"{r.fold_scores[0].validation['balanced_accuracy']:.3f}" for r in expected.runs]
        for _ in range(4):  # round the five classification metrics, back to accuracy
            await pilot.press("m")
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: screen.comparison.metric == "accuracy")


async def test_a_toggles_every_parameter(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, [3, 5])  # tree with default depth vs max_depth=2
        params = screen.query_one("#params", CompareTable)
        assert params.row_keys == ["model", "param:max_depth"]
        assert cells(params, "param:max_depth") == ["(default)", "2"]
        assert "those that differ" in plain(screen.query_one("#params-title"))
        await pilot.press("a")
        assert params.row_keys == ["model", "dataset", "cv", "status", "param:max_depth"]
        assert cells(params, "dataset") == ["binary", "binary"]
        assert "all" in plain(screen.query_one("#params-title"))
        await pilot.press("a")
        assert params.row_keys == ["model", "param:max_depth"]


async def test_runs_on_other_folds_get_the_reason_instead_of_a_p_value(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, [1, 2, 4])
        expected = compare_runs(store, [1, 2, 4])
        paired, other = expected.pairs
        assert paired.pairable and not other.pairable and other.reason.startswith("different folds")
        head = plain(screen.query_one("#pair-1"))
        assert "no p-value" in head and "different folds" in head and "p =" not in head
        assert plain(screen.query_one("#explanation-1")) == other.explanation
        assert f"p = {paired.p:.3g}" in plain(screen.query_one("#pair-0"))
        assert not screen.query_one("#folds-note").has_class("hidden")
        assert "run 4" in plain(screen.query_one("#folds-note"))
        assert "cv" in screen.query_one("#params", CompareTable).row_keys  # the CV scheme differs


async def test_runs_on_another_dataset_are_not_tested_and_names_stay_literal(store, tmp_path):
    from core.data.importing import import_dataset
    from core.modeling.evaluation import run_baselines

    evil = tmp_path / f"{EVIL}.csv"
    write_binary_csv(evil)
    import_dataset(store, evil, "label")
    (other_id,) = run_baselines(store, EVIL, "dummy", folds=3)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, [1, other_id])
        (pair,) = screen.comparison.pairs
        assert pair.reason.startswith("different datasets")
        head = plain(screen.query_one("#pair-0"))
        assert "no p-value" in head and "p =" not in head
        explanation = screen.query_one("#explanation-0").content
        assert explanation.plain == pair.explanation and EVIL in explanation.plain and not explanation.spans
        params = screen.query_one("#params", CompareTable)
        assert cells(params, "dataset") == ["binary", EVIL]
        await pilot.press("tab", "tab", "enter", "down")
        assert app.is_running and isinstance(app.screen, CompareScreen)


async def test_the_comparison_follows_the_store(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, [1, 2])
        before = screen.comparison.pairs[0].p
        with store.write() as con:  # as if run 2 were rescored by another process
            con.execute(
                "UPDATE fold_scores SET validation = validation - 0.1 "
                "WHERE run_id = 2 AND metric = 'accuracy' AND fold_index = 0"
            )
            con.execute("UPDATE runs SET finished_at = finished_at + 1 WHERE id = 2")
        await wait_for(pilot, lambda: screen.comparison.pairs[0].p != before)
        expected = compare_runs(store, [1, 2])
        assert screen.comparison == expected
        assert f"p = {expected.pairs[0].p:.3g}" in plain(screen.query_one("#pair-0"))


async def test_a_missing_run_is_a_message_and_tiny_terminals_do_not_crash(store):
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(30, 8)) as pilot:
        screen = await open_compare(pilot, [1, 99])
        assert screen.comparison is None and "99" in plain(screen.query_one("#message"))
        await pilot.press("escape")
        screen = await open_compare(pilot, [1, 2, 4])
        await pilot.press("r", "m", "a", "tab", "down", "right")
        await wait_for(pilot, lambda: screen.comparison.reference_id == 2)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


# --------------------------------------------------------------------------- snapshot


class TestSnapshots:
    def test_compare_screen(self, snap_compare, store):
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            await open_compare(pilot, [1, 2, 4])
            await pilot.pause(0.2)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
