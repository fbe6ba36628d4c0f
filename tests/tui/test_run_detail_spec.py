"""The run detail screen of a model spec run shows the spec's text and the class it resolved to (issue 10)."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.modeling.specs import parse_model_option
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.tune import TuneDialog
from tests.tui.conftest import screen_text, wait_for
from tests.tui.test_run_detail import open_from_runs_table

SPEC = "sklearn.linear_model.LogisticRegression(C=0.5)"


async def test_the_detail_of_a_spec_run_shows_its_spec_and_tunes_its_estimators_parameters(tmp_path, binary_csv):
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "", model_specs=[parse_model_option(f"lr={SPEC}")], folds=2)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_from_runs_table(pilot, run_id)
        shown = screen_text(app)
        assert f"spec {SPEC}  → sklearn.linear_model._logistic.LogisticRegression" in shown
        await pilot.press("t")  # the tune dialog: the spec is resolved again for its parameter names
        await wait_for(pilot, lambda: isinstance(app.screen, TuneDialog))
        assert app.screen.params == sorted(LogisticRegression().get_params())


async def test_f_on_a_spec_run_computes_the_features_curve_of_its_spec(tmp_path, binary_csv):
    from mlloop_tui.screens.features import FeaturesScreen
    from mlloop_tui.screens.runs import RunsScreen

    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", "", model_specs=[parse_model_option(f"lr={SPEC}")], folds=2)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and "1/1 runs" in screen_text(app))
        await pilot.press("F")  # on the runs table: the selected run's spec, not its name "lr"
        screen = app.screen
        assert isinstance(screen, FeaturesScreen) and screen.model == f"#{run_id}"
        await wait_for(pilot, lambda: screen.curves is not None, timeout=120)
        assert "unknown model" not in screen_text(app)
        await pilot.press("escape")
        await open_from_runs_table(pilot, run_id)
        await pilot.press("F")  # and from the run's detail
        assert isinstance(app.screen, FeaturesScreen) and app.screen.model == f"#{run_id}"
