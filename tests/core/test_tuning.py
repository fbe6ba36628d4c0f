"""Hyper-parameter search: one run per candidate in one group, the run's folds, the best one by its metric."""

from __future__ import annotations

import pytest

from core.analysis.compare import compare_runs
from core.analysis.tuning import get_search, grid_candidates, search_of_run, tune
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines, run_specs
from core.report.serialize import search_to_dict
from core.store.runs import get_run, list_runs
from tests.core import loop_data


def test_grid_search_stores_one_run_per_candidate_in_one_group_and_picks_the_best(store, tmp_path):
    import_dataset(store, loop_data.depth2(tmp_path), "y")
    (base,) = run_baselines(store, "depth2", "tree", params={"tree": {"min_samples_leaf": 2}}, folds=4, seed=3)
    seen = []
    ids = tune(store, base, {"max_depth": [1, 2, 8]}, jobs=2, on_progress=lambda p: seen.append(p.run_id))
    runs = [get_run(store, r) for r in ids]
    assert len(ids) == 3 and len({r.group_id for r in runs}) == 1 and runs[0].group_id != get_run(store, base).group_id
    assert [r.params for r in runs] == [{"min_samples_leaf": 2, "max_depth": d} for d in (1, 2, 8)]
    assert all(r.status == "done" and (r.folds, r.repeats, r.seed) == (4, 1, 3) for r in runs)
    assert len({r.folds_hash for r in runs} | {get_run(store, base).folds_hash}) == 1  # the run's own folds
    assert set(seen) == set(ids)
    search = get_search(store, runs[0].group_id)
    assert search.base_run_id == base and search.metric == "accuracy" and search.greater_is_better
    assert search.best.params["max_depth"] == 2  # the label is a depth-2 rule
    best_mean = max(r.summaries["accuracy"].val_mean for r in runs)
    assert search.best.val_mean == best_mean
    assert search_of_run(store, ids[1]).group_id == search.group_id and search_of_run(store, base) is None
    payload = search_to_dict(search)
    assert payload["best_run"] == search.best.run_id and len(payload["candidates"]) == 3
    # candidates share folds with the run they started from, so they can be compared with a p-value
    assert compare_runs(store, [base, search.best.run_id]).pairs[0].pairable


def test_regression_search_picks_the_lowest_rmse(store, regression_csv):
    import_dataset(store, regression_csv, "y")
    (base,) = run_baselines(store, "regression", "linear", folds=3)
    ids = tune(store, base, {"alpha": [0.01, 1000.0]})
    search = get_search(store, get_run(store, ids[0]).group_id)
    assert search.metric == "rmse" and not search.greater_is_better
    assert search.best.val_mean == min(c.val_mean for c in search.candidates)
    assert search.best.params == {"alpha": 0.01}


def test_random_search_samples_the_grid_without_replacement_and_is_seeded():
    grid = {"a": [1, 2, 3], "b": [None, "x"], "c": [0.1, 1.0]}
    full = grid_candidates(grid)
    assert len(full) == 12 and len({tuple(c.values()) for c in full}) == 12
    assert full[0] == {"a": 1, "b": None, "c": 0.1} and full[1] == {"a": 1, "b": None, "c": 1.0}
    sample = grid_candidates(grid, random=5, seed=7)
    assert len(sample) == 5 and all(c in full for c in sample) and len({str(c) for c in sample}) == 5
    assert sample == grid_candidates(grid, random=5, seed=7) != grid_candidates(grid, random=5, seed=8)
    assert grid_candidates(grid, random=50) == full


def test_random_tune_runs_that_many_candidates(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (base,) = run_baselines(store, "binary", "tree", folds=3)
    ids = tune(store, base, {"max_depth": [1, 2, 3, 4, None], "criterion": ["gini", "entropy"]}, random=3, seed=1)
    assert len(ids) == 3 and len({get_run(store, r).group_id for r in ids}) == 1


def test_run_specs_runs_the_same_model_with_different_params_as_one_group(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    ids = run_specs(store, "binary", [("tree", {"max_depth": 1}), ("tree", {"max_depth": 3}), ("dummy", {})], folds=3)
    runs = [get_run(store, r) for r in ids]
    assert [r.model for r in runs] == ["tree", "tree", "dummy"] and len({r.group_id for r in runs}) == 1
    assert runs[0].summaries["accuracy"].train_mean < runs[1].summaries["accuracy"].train_mean
    with pytest.raises(InputError, match=r"tree \(max_depth=-1\)"):
        run_specs(store, "binary", [("tree", {"max_depth": 1}), ("tree", {"max_depth": -1})], folds=3)


@pytest.mark.parametrize(
    ("grid", "kwargs", "match"),
    [
        ({"depth": [1, 2]}, {}, "unknown parameter 'depth'"),
        ({"max_depth": []}, {}, "no values"),
        ({"max_depth": "3"}, {}, "must be a list"),
        ({"max_depth": [2, "deep"]}, {}, "max_depth"),
        ({}, {}, "no parameter"),
        ({"max_depth": [1, 2]}, {"random": 0}, "positive"),
        ({"max_depth": list(range(1, 300))}, {}, "--random"),
    ],
)
def test_bad_grids_are_refused_before_any_run_exists(store, binary_csv, grid, kwargs, match):
    import_dataset(store, binary_csv, "label")
    (base,) = run_baselines(store, "binary", "tree", folds=3)
    with pytest.raises(InputError, match=match):
        tune(store, base, grid, **kwargs)
    assert [r.id for r in list_runs(store)] == [base]
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == 0
