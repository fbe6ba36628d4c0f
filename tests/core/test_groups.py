"""Several datasets' runs in one pool of workers, and what a run's time says: its folds' cost beside
its group's wall time."""

from __future__ import annotations

import pytest

from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines
from core.store.runs import get_run, list_runs


def _scores(store, run_ids):
    out = {}
    for run_id in run_ids:
        run = get_run(store, run_id)
        out[run.dataset, run.model] = [(f.index, f.n_train, f.train, f.validation) for f in run.fold_scores]
    return out


def test_two_datasets_in_one_pool_score_as_each_run_alone(store, binary_csv, regression_csv):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    pooled = run_baselines(store, ["binary", "regression"], "dummy,linear,tree", folds=3, seed=1, jobs=2)
    runs = [get_run(store, r) for r in pooled]
    assert {r.status for r in runs} == {"done"} and all(r.n_folds_done == 3 for r in runs)
    groups = {r.dataset: r.group_id for r in runs}  # one group per dataset
    assert len(set(groups.values())) == 2 and {(r.dataset, r.group_id) for r in runs} == set(groups.items())
    alone = [
        r for name in ("binary", "regression") for r in run_baselines(store, name, "dummy,linear,tree", folds=3, seed=1)
    ]
    assert _scores(store, pooled) == _scores(store, alone)


def test_the_pool_runs_the_dummies_then_the_slowest_folds_of_every_dataset(store, binary_csv, regression_csv):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    folds = []
    run_baselines(
        store,
        ["regression", "binary"],
        "dummy,tree",
        folds=3,
        jobs=1,  # in this process, in the order the pool starts them
        on_progress=lambda p: folds.append((p.model, get_run(store, p.run_id).dataset)) if p.fold else None,
    )
    # one batch: both datasets' dummies (nil cost: the first scores), then both trees, the bigger
    # dataset's first; one pool per dataset, one after the other, would give dummy, tree, dummy, tree
    assert (
        folds
        == [("dummy", "regression")] * 3
        + [("dummy", "binary")] * 3
        + [("tree", "binary")] * 3
        + [("tree", "regression")] * 3
    )


def test_a_run_costs_its_folds_fit_and_score_times_within_its_groups_wall_time(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    walls_while_working = []

    def on_progress(p) -> None:
        if p.status == "running":
            walls_while_working.append(get_run(store, p.run_id).group_wall_s)

    run_ids = run_baselines(
        store,
        "binary",
        "dummy,forest",
        folds=3,
        jobs=1,
        params={"forest": {"n_estimators": 300}},  # a forest costs seconds, a dummy milliseconds
        on_progress=on_progress,
    )
    assert walls_while_working == [None] * 6  # a group's wall time is known once it is done
    dummy, forest = (get_run(store, r) for r in run_ids)
    for run in (dummy, forest):
        assert run.cost_s == pytest.approx(sum(f.fit_time + f.score_time for f in run.fold_scores))
        assert run.group_wall_s == pytest.approx(max(dummy.finished_at, forest.finished_at) - run.started_at)
    # one process fitted the folds one after the other: together they cost no more than the group's wall time
    assert dummy.cost_s + forest.cost_s <= forest.group_wall_s
    # a dummy's time is its own folds', a fraction of its group's (on a quiet machine: milliseconds)
    assert dummy.cost_s < forest.cost_s / 2 and dummy.cost_s < dummy.group_wall_s / 4
    listed = {r.id: r for r in list_runs(store)}  # the listing says the same
    assert [(listed[r].cost_s, listed[r].group_wall_s) for r in run_ids] == [
        (dummy.cost_s, dummy.group_wall_s),
        (forest.cost_s, forest.group_wall_s),
    ]


def test_several_datasets_bad_input_stores_nothing(store, binary_csv, regression_csv):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    with pytest.raises(InputError, match="'binary' is given twice"):
        run_baselines(store, ["binary", "regression", "binary"], "dummy")
    with pytest.raises(InputError, match="unknown parameter class_weight for tree"):  # a regression tree has none
        run_baselines(store, ["binary", "regression"], "dummy,tree", params={"tree": {"class_weight": "balanced"}})
    assert list_runs(store) == []
