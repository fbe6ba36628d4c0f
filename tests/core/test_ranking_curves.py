"""A ranking run's learning curve: its training sets are whole queries and its sizes count queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import ndcg_score

from core.analysis.curve_settings import MIN_QUERIES, TrainingSets
from core.analysis.curves import RunContext, learning_curve, load_curve
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines
from tests.conftest import mlloop_main

QUERIES = Path(__file__).resolve().parents[2] / "sample_data" / "queries.csv"


def ndcg_10(y, score, queries) -> float:
    """Mean NDCG@10 over the queries with more than one relevance level, one ``ndcg_score`` each."""
    values = [
        ndcg_score([y[queries == q]], [score[queries == q]], k=10)
        for q in np.unique(queries)
        if len(np.unique(y[queries == q])) > 1
    ]
    return float(np.mean(values))


@pytest.fixture
def ranking_run(store):
    import_dataset(store, QUERIES, "relevance", task="ranking", group="query_id")
    (run_id,) = run_baselines(store, "queries", "linear", folds=3)
    return run_id


def test_training_sets_are_whole_queries_and_sizes_count_them(store, ranking_run):
    ctx = RunContext.load(store, ranking_run)
    queries = ctx.groups.loc[ctx.y.index].to_numpy()
    sets = TrainingSets(ctx.dataset, ctx.y, ctx.splits, ctx.groups)
    sizes = sets.sizes()
    per_fold = [len(np.unique(queries[train])) for train, _ in ctx.splits]
    assert sizes[0] == MIN_QUERIES and sizes[-1] == min(per_fold) < min(len(train) for train, _ in ctx.splits) / 5
    for fold, (train, _) in enumerate(ctx.splits):
        for size in sizes:
            subset = sets.subset(train, size, (0, fold, size))
            drawn = set(queries[subset])
            assert len(drawn) == size  # the size is a number of queries ...
            assert set(subset) == {i for i in train if queries[i] in drawn}  # ... each with all its training rows
    with pytest.raises(InputError, match=rf"training size 2 is outside {MIN_QUERIES}\.\.\d+ .*training queries"):
        sets.sizes([2])


def test_the_curve_stores_query_counts_and_each_point_is_the_fit_on_those_queries(store, ranking_run):
    curve = learning_curve(store, ranking_run, jobs=1)
    ctx = RunContext.load(store, ranking_run)
    sets = TrainingSets(ctx.dataset, ctx.y, ctx.splits, ctx.groups)
    assert curve.param == "train_queries" and [s.value for s in curve.settings] == sets.sizes()
    assert load_curve(store, ranking_run, "learning").points == curve.points  # read back under the same name
    queries = ctx.groups.loc[ctx.y.index].to_numpy()
    size = curve.settings[1].value
    for fold, (train, val) in enumerate(ctx.splits):
        rows = sets.subset(train, size, (ctx.run.seed, fold, size))
        model = clone(ctx.pipeline(ctx.run.params)).fit(ctx.X.iloc[rows], ctx.y.iloc[rows])
        expected = ndcg_10(ctx.y.to_numpy()[val], model.predict(ctx.X.iloc[val]), queries[val])
        point = next(p for p in curve.points if p.value == size and p.fold_index == fold)
        assert point.validation["ndcg_10"] == pytest.approx(expected, abs=1e-12)


def test_the_cli_says_queries(store, ranking_run, capsys):
    assert mlloop_main(store, "curve", str(ranking_run), "--jobs", "1") == 0
    out = capsys.readouterr().out
    assert f"learning curve of run {ranking_run}: ndcg_10 against training queries" in out
    assert mlloop_main(store, "curve", str(ranking_run), "--sizes", "2") == 2
    assert "training size 2 is outside" in capsys.readouterr().err
