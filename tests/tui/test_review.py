"""The label-review screen with the real app, store and fits: walk, decide, undo, leave, continue, finish."""

from __future__ import annotations

from pathlib import Path

from core.analysis.review import current_review, open_review
from core.data.importing import import_dataset
from core.store import Store
from core.store.datasets import get_dataset
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.confirm import ConfirmDialog
from mlloop_tui.dialogs.keys import KeysDialog
from mlloop_tui.screens.datasets import DatasetsScreen
from mlloop_tui.screens.quality import QualityScreen
from mlloop_tui.screens.review import ReviewScreen, probability_lines
from tests.core.test_review import noisy_csv
from tests.tui.conftest import screen_text, wait_for


def noisy_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, noisy_csv(tmp_path / "noisy.csv")[0], "label")
    return store


async def open_review_screen(pilot) -> ReviewScreen:
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DatasetsScreen) and pilot.app.screen.profile)
    await pilot.press("R")
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    await wait_for(pilot, lambda: screen.loaded, timeout=120)
    return screen


def decisions(store: Store) -> list[tuple[int, str, str | None]]:
    review = current_review(store, "noisy")
    assert review is not None
    return [(d.row, d.decision, d.label) for d in review.decisions]


async def test_walk_decide_undo_leave_and_continue_then_finish(tmp_path):
    store = noisy_store(tmp_path)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await open_review_screen(pilot)  # no review was open: a child process made one
        items = screen.review.items
        assert current_review(store, "noisy").items == items
        values = screen.query_one("#values")
        assert values.row_count == 7  # every column of the row: six features and the label
        assert f"row {items[0].row} · label {items[0].label}" in screen_text(app)

        await pilot.press("k")  # keep the first row
        await pilot.press("r")  # relabel the second: the picker lists the other classes
        assert screen.has_class("-picking")
        choice = next(c for c in screen.review.classes if c != items[1].label)
        await pilot.press("enter")
        await pilot.press("d")  # drop the third ...
        await pilot.press("u")  # ... no: undo goes back to it
        assert screen.current().row == items[2].row
        await pilot.press("right")  # browse without deciding
        assert screen.current().row == items[3].row
        await pilot.press("left")
        assert screen.current().row == items[2].row
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.pending == 0)
        assert decisions(store) == [
            (items[0].row, "keep", None),
            (items[1].row, "relabel", choice),
            (items[2].row, "skip", None),
        ]
        await pilot.press("question_mark")  # the keys list names the review's keys by id
        await wait_for(pilot, lambda: isinstance(app.screen, KeysDialog) and app.screen.query("#keys"))
        keys = app.screen.query_one("#keys")
        ids = {keys.get_row_at(i)[1].plain for i in range(keys.row_count)}
        assert {"review.keep", "review.relabel", "review.drop", "review.skip", "review.undo", "review.finish"} <= ids
        await pilot.press("escape")

        await pilot.press("q")  # leaves the review, not the app
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetsScreen))
        assert app.is_running

        screen = await open_review_screen(pilot)  # opening again continues at the first undecided row
        assert screen.position == 3 and screen.current().row == items[3].row
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetsScreen), timeout=60)
    version = get_dataset(store, "noisy@2")
    assert current_review(store, "noisy") is None
    from core.data.frames import load_split

    assert load_split(store, version)[1].loc[items[1].row] == choice


async def test_the_quality_screen_opens_the_review(tmp_path):
    store = noisy_store(tmp_path)
    open_review(store, "noisy")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 36)) as pilot:
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetsScreen) and app.screen.profile)
        await pilot.press("Q")
        assert isinstance(app.screen, QualityScreen)
        await pilot.press("R")
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.dataset == "noisy"
        await wait_for(pilot, lambda: screen.loaded, timeout=60)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QualityScreen))


def test_probabilities_are_literal_and_mark_the_label_and_the_model():
    text = probability_lines(("[bold]x", "b"), (0.25, 0.75), "[bold]x")
    lines = text.plain.splitlines()
    assert lines[0].startswith("[bold]x") and lines[0].endswith("← label")
    assert "0.750" in lines[1] and lines[1].endswith("← model")


class TestSnapshots:
    def test_review_screen(self, snap_compare, tmp_path):
        store = noisy_store(tmp_path)
        open_review(store, "noisy")
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_review_screen(pilot)
            await pilot.press("k")
            await wait_for(pilot, lambda: screen.pending == 0)

        assert snap_compare(app, terminal_size=(100, 36), run_before=run_before)


async def test_a_review_over_the_memory_budget_says_early_in_its_line_what_it_judged(tmp_path, monkeypatch):
    """Over the budget the queue judges a sample: the status line says so before the probabilities'
    source, so an 80-column terminal, which cuts the line's end, still shows it."""
    store = noisy_store(tmp_path)
    monkeypatch.setenv("MLLOOP_MEMORY_BUDGET", str(100 * 6 * 8 * 4))  # six features: 100 rows fit
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review_screen(pilot)  # computed in a child process, which has the same budget
        n_dev = get_dataset(store, "noisy").n_dev
        assert screen.review.sample is not None and screen.review.sample.rows == 100
        status = str(screen.query_one("#status").render())
        assert f"0 decided · judged on 100 of {n_dev} rows" in status
