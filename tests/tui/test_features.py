"""The feature-selection / curse-of-dimensionality screen with the real app, store and fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from core.data.importing import import_dataset
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.datasets import DatasetsScreen
from mlloop_tui.screens.features import FeaturesScreen
from mlloop_tui.screens.runs import RunsScreen
from tests.conftest import write_csv
from tests.tui.conftest import screen_text, wait_for


def features_csv(path: Path) -> Path:
    """150 rows, 20 features of which 4 carry the signal; one feature named like markup."""
    X, y = make_classification(
        n_samples=150,
        n_features=20,
        n_informative=4,
        n_redundant=0,
        shuffle=False,
        n_clusters_per_class=1,
        random_state=0,
    )
    names = [f"f{i}" for i in range(20)]
    names[0] = "[bold]evil"
    frame = pd.DataFrame(X.round(4), columns=names)
    frame["label"] = np.where(y == 1, "yes", "no")
    return write_csv(path, frame)


def features_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, features_csv(tmp_path / "wide.csv"), "label")
    return store


async def open_features(pilot) -> FeaturesScreen:
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DatasetsScreen) and pilot.app.screen.profile)
    await pilot.press("F")
    screen = pilot.app.screen
    assert isinstance(screen, FeaturesScreen)
    return screen


def finished(screen: FeaturesScreen) -> bool:
    return screen.curves is not None and screen.curse is not None


def plotted(screen: FeaturesScreen) -> int:
    return sum(len(points) for points in screen.points.values())


async def test_the_curve_grows_while_computing_keys_respond_and_best_k_is_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where e's export goes
    app = MlloopApp(features_store(tmp_path), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_features(pilot)
        progress = screen.query_one("#progress")
        assert "computing" in str(progress.render())
        # an intermediate state: some points plotted, not all (univariate is complete long before
        # the forests of "importance" have ranked their folds)
        await wait_for(pilot, lambda: 0 < screen.done < screen.total, timeout=60, step=0.01)
        assert f"computing {screen.done}/{screen.total} points" in str(progress.render())
        seen = plotted(screen)
        assert 0 < seen < screen.total
        # keys respond during the computation: m switches the method in view
        title = screen.query_one("#chosen-title")
        assert "univariate" in str(title.render())
        await pilot.press("m")
        assert "l1" in str(title.render())
        await wait_for(pilot, lambda: finished(screen), timeout=60)
        assert plotted(screen) == screen.total > seen
        assert "done: " in str(progress.render())
        # each method's best k; the chosen features of the method in view, by name, literally
        best = {m.method: m.best_k for m in screen.curves.methods}
        assert all(k is not None and 1 <= k <= 20 for k in best.values())
        assert f"l1 at best k={best['l1']}" in str(title.render())
        shown = screen_text(app)  # the methods table is right under the plot
        assert "best k" in shown and "1-SE k" in shown and "importance" in shown
        table = screen.query_one("#chosen")
        names = [table.get_cell(key, "name").plain for key in table.rows]
        assert len(names) >= best["l1"] and set(names) <= {"[bold]evil", *(f"f{i}" for i in range(1, 20))}
        assert "samples per feature" in str(screen.query_one("#curse").render())
        # e exports the dataset's summary with these curves
        await pilot.press("e")
        dialog = app.screen
        assert dialog.query_one("#path").value == "mlloop-dataset-wide.md"
        await pilot.press("f4", "enter")
        await wait_for(pilot, lambda: app.screen is screen, timeout=60)
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetsScreen)
    data = json.loads((tmp_path / "mlloop-dataset-wide.json").read_text(encoding="utf-8"))
    assert {m: v["best_k"] for m, v in data["features"]["methods"].items()} == best
    assert data["curse"]["n_features"] == 20


async def test_shift_f_uses_the_runs_model_and_escape_stops_the_computation(runs_store):
    app = MlloopApp(runs_store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "3/3 runs" in screen_text(app))
        run = app.screen.query_one("RunsTable").selected()
        await pilot.press("F")
        screen = app.screen
        assert isinstance(screen, FeaturesScreen)
        assert (screen.dataset, screen.model) == ("binary", run.model)
        await pilot.press("escape")  # at once, while the curves are computed
        assert isinstance(app.screen, RunsScreen)
        workers = [w for w in app.workers if w.node is screen]
        assert all(w.is_cancelled or w.is_finished for w in workers)
        await pilot.pause(0.5)
        assert app.is_running


class TestSnapshots:
    def test_features_screen(self, snap_compare, tmp_path):
        app = MlloopApp(features_store(tmp_path), poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_features(pilot)
            await wait_for(pilot, lambda: finished(screen), timeout=60)
            await pilot.press("m", "m")  # importance

        assert snap_compare(app, terminal_size=(100, 40), run_before=run_before)

    def test_features_screen_80x24_scrolled_to_the_curse(self, snap_compare, tmp_path):
        app = MlloopApp(features_store(tmp_path), poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_features(pilot)
            await wait_for(pilot, lambda: finished(screen), timeout=60)
            screen.query_one("#body").scroll_end(animate=False)
            await pilot.pause()

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
