"""A ranking run's learning curve in the run detail is plotted against training queries, not rows."""

from __future__ import annotations

from core.analysis.curves import learning_curve
from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.screens.run_detail import RunDetailScreen
from mlloop_tui.screens.runs import RunsScreen
from mlloop_tui.widgets.curve_panel import CurvePanel
from tests.core.test_ranking_curves import QUERIES
from tests.tui.conftest import screen_text, wait_for


async def test_the_learning_curve_of_a_ranking_run_counts_training_queries(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, QUERIES, "relevance", task="ranking", group="query_id")
    (run_id,) = run_baselines(store, "queries", "linear", folds=2)
    learning_curve(store, run_id, jobs=1)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        app.open_run(run_id)
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.extras_loaded)
        panel = app.screen.query_one("#learning", CurvePanel)
        await wait_for(pilot, lambda: panel.curve is not None and panel.curve.complete)
        panel.scroll_visible(animate=False)
        await pilot.pause(0.2)
        assert "training queries" in screen_text(app)
