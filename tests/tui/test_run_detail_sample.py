"""The run detail of a run fitted on a sample says so in one line (mlloop run --sample, issue 11 part 2)."""

from __future__ import annotations

from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.store import Store
from mlloop_tui.app import MlloopApp
from tests.tui.conftest import screen_text
from tests.tui.test_run_detail import open_from_runs_table


async def test_the_detail_of_a_sampled_run_says_what_it_was_fitted_on(tmp_path, binary_csv):
    store = Store(tmp_path / "s.duckdb")
    info = import_dataset(store, binary_csv, "label")
    (sampled,) = run_baselines(store, "binary", "dummy", folds=3, seed=4, sample=90)
    (whole,) = run_baselines(store, "binary", "dummy", folds=3)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_from_runs_table(pilot, sampled)
        line = f"fitted on a sample of 90 of {info.n_dev} development rows (seed 4, stratified)"
        assert line in screen_text(app)
        await pilot.press("escape")
        await open_from_runs_table(pilot, whole)
        assert "fitted on a sample" not in screen_text(app)
