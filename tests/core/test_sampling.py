"""Fitting on a sample: the documented draw, folds inside it, scores equal scikit-learn's, --like, the memory cap."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_validate

from core.analysis.diagnosis import diagnose
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.data.sampling import MEMORY_BUDGET_ENV, allocate, plan_sample, sample_rows_sql
from core.errors import InputError
from core.modeling.evaluation import build_pipeline, make_splitter, run_baselines, scoring
from core.modeling.folds import rerun_like
from core.modeling.models import BASELINES
from core.store.datasets import data_layout, get_dataset
from core.store.runs import get_run, list_runs
from tests.core.test_ranking import imported, ranking_frame


def _key(row: int, seed: int) -> tuple[str, int]:
    """The documented key of a row: md5 of '<row>/<seed>' (ties by row)."""
    return hashlib.md5(f"{row}/{seed}".encode()).hexdigest(), row


def _expected_stratified(y: pd.Series, strata: dict[str, int], seed: int) -> list[int]:
    """The draw written again from the docstring: each class's rows with the smallest keys."""
    rows: list[int] = []
    for label, quota in strata.items():
        ids = [int(r) for r in y.index[y == label]]
        rows += sorted(ids, key=lambda r: _key(r, seed))[:quota]
    return sorted(rows)


def _predicted_rows(store, run_id: int) -> pd.DataFrame:
    with store.read() as con:
        return con.execute(
            "SELECT repeat, fold, row_id FROM fold_predictions WHERE run_id = ? ORDER BY repeat, fold, row_id", [run_id]
        ).df()


def test_allocate_is_proportional_with_every_class_in_every_fold():
    assert allocate(100, [("a", 900), ("b", 90), ("c", 10)], 5) == (("a", 86), ("b", 9), ("c", 5))
    assert allocate(10, [("a", 1), ("b", 1), ("c", 1)], 1) == (("a", 4), ("b", 3), ("c", 3))  # largest remainders
    assert allocate(10, [("a", 50), ("b", 50)], 5) == (("a", 5), ("b", 5))
    assert allocate(12, [("a", 97), ("b", 3)], 5) == (("a", 9), ("b", 3))  # a class smaller than the folds: all of it


def test_a_stratified_sample_is_the_documented_draw_and_scores_equal_plain_sklearn(store, binary_csv):
    info = import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", ["linear"], folds=4, seed=3, sample=100, jobs=1)
    run = get_run(store, run_id)
    s = run.sample
    assert s is not None and (s.size, s.rows, s.of, s.seed, s.how) == (100, 100, info.n_dev, 3, "stratified")
    assert s.describe() == f"fitted on a sample of 100 of {info.n_dev} development rows (seed 3, stratified)"

    X_all, y_all = load_split(store, info, "dev")
    counts = y_all.value_counts()
    strata = dict(s.strata)
    assert sum(strata.values()) == 100 and set(strata) == set(counts.index)
    for label, n in strata.items():
        assert abs(n - 100 * counts[label] / len(y_all)) < 1  # proportional, to the rounding
    rows = _expected_stratified(y_all, strata, 3)

    # every fold's validation rows are sample rows, and each sample row is validated exactly once
    predicted = _predicted_rows(store, run_id)
    assert sorted(predicted["row_id"]) == rows
    # the scores are plain scikit-learn's on the same rows and folds
    X, y = X_all.loc[rows], y_all.loc[rows]
    pipe = build_pipeline(BASELINES["linear"], info, X, {}, 3)
    cv = make_splitter(info.task, 4, 1, 3)
    plain = cross_validate(pipe, X, y, cv=cv, scoring=scoring(info.task), return_train_score=True)
    np.testing.assert_allclose([f.validation["accuracy"] for f in run.fold_scores], plain["test_accuracy"], rtol=1e-12)
    np.testing.assert_allclose([f.train["roc_auc"] for f in run.fold_scores], plain["train_roc_auc"], rtol=1e-12)
    for fold, (_, val) in enumerate(cv.split(X, y)):
        assert sorted(predicted.loc[predicted["fold"] == fold, "row_id"]) == sorted(X.index[val])


def test_the_same_seed_draws_the_same_rows_and_another_seed_others(store, binary_csv):
    info = import_dataset(store, binary_csv, "label")
    first = load_split(store, info, "dev", plan_sample(store, info, 80, 5, seed=0))[0].index
    again = load_split(store, info, "dev", plan_sample(store, info, 80, 5, seed=0))[0].index
    other = load_split(store, info, "dev", plan_sample(store, info, 80, 5, seed=1))[0].index
    assert list(first) == list(again) and len(first) == len(other) == 80
    assert set(first) != set(other)


@pytest.fixture
def unbalanced(store, tmp_path):
    """6,000 rows of three classes (70/25/5 %): large enough that a sample of 300 ranks only the rows
    under each class's key cut."""
    rng = np.random.default_rng(5)
    n = 6000
    frame = pd.DataFrame({"x": rng.normal(size=n).round(4), "k": rng.choice(["u", "v"], size=n)})
    frame["label"] = rng.choice(["common", "middle", "rare"], size=n, p=[0.7, 0.25, 0.05])
    path = tmp_path / "unbalanced.csv"
    frame.to_csv(path, index=False)
    return import_dataset(store, path, "label")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_key_cut_draws_the_documented_sample(store, unbalanced, seed):
    """DuckDB ranks only the keys below each class's cut; the rows drawn are still each class's smallest keys."""
    sample = plan_sample(store, unbalanced, 300, 5, seed)
    y_all = load_split(store, unbalanced, "dev")[1]
    expected = _expected_stratified(y_all, dict(sample.strata), seed)
    with store.read() as con:  # the query with the cuts alone finds every row: no second query
        sql, args = sample_rows_sql(data_layout(con, unbalanced), unbalanced, sample)
        assert [r for (r,) in con.execute(f"SELECT __row FROM ({sql}) ORDER BY __row", args).fetchall()] == expected
    assert list(load_split(store, unbalanced, "dev", sample)[0].index) == expected


def test_a_class_short_of_its_quota_under_the_cut_gets_the_exact_draw(store, unbalanced, monkeypatch):
    """Should a class keep fewer rows under its cut than its quota, the rows are drawn again without cuts."""
    import core.data.sampling as sampling

    sample = plan_sample(store, unbalanced, 300, 5, 4)
    y_all = load_split(store, unbalanced, "dev")[1]
    expected = _expected_stratified(y_all, dict(sample.strata), 4)
    monkeypatch.setattr(sampling, "_key_cut", lambda quota, n: "'08'")  # keeps about 3 % of each class's rows
    assert list(load_split(store, unbalanced, "dev", sample)[0].index) == expected


def test_a_sample_read_that_runs_out_of_its_memory_limit_is_read_again_without_it(store, unbalanced, monkeypatch):
    """The draw reads every development row on a DuckDB instance limited to what it needs; should that
    be too little, the rows are the same, read again on the process's own instance, and no temporary
    folder is left behind."""
    import tempfile
    from pathlib import Path

    import core.data.frames as frames

    sample = plan_sample(store, unbalanced, 300, 5, 6)
    expected = list(load_split(store, unbalanced, "dev", sample)[0].index)
    folders = set(Path(tempfile.gettempdir()).glob("mlloop-read-*"))
    limits = []

    def too_small(columns: int, rows: int) -> int:
        limits.append((columns, rows))
        return 256 * 2**10  # not even one block beside the scan's

    monkeypatch.setattr(frames, "sample_read_memory", too_small)
    assert list(load_split(store, unbalanced, "dev", sample)[0].index) == expected
    assert limits == [(len(unbalanced.feature_names) + 1, 300)]
    assert set(Path(tempfile.gettempdir()).glob("mlloop-read-*")) == folders


def test_a_regression_sample_is_uniform_and_its_repeated_folds_equal_sklearn(store, regression_csv):
    info = import_dataset(store, regression_csv, "y")
    (run_id,) = run_baselines(store, "regression", ["linear"], folds=3, repeats=2, seed=7, sample=60, jobs=1)
    run = get_run(store, run_id)
    assert run.sample is not None and run.sample.how == "uniform" and run.sample.rows == 60
    X_all, y_all = load_split(store, info, "dev")
    rows = sorted(sorted((int(r) for r in X_all.index), key=lambda r: _key(r, 7))[:60])
    predicted = _predicted_rows(store, run_id)
    assert sorted(predicted.loc[predicted["repeat"] == 1, "row_id"]) == rows
    X, y = X_all.loc[rows], y_all.loc[rows]
    cv = make_splitter(info.task, 3, 2, 7)
    plain = cross_validate(build_pipeline(BASELINES["linear"], info, X, {}, 7), X, y, cv=cv, scoring=scoring(info.task))
    np.testing.assert_allclose([f.validation["rmse"] for f in run.fold_scores], -plain["test_rmse"], rtol=1e-12)


def test_a_ranking_sample_takes_whole_groups(store, tmp_path):
    path = tmp_path / "queries.csv"
    ranking_frame(n_queries=30).to_csv(path, index=False)
    info = imported(store, path)
    (run_id,) = run_baselines(store, info.name, ["linear"], folds=3, sample=40, jobs=1)
    run = get_run(store, run_id)
    assert run.status == "done" and run.sample is not None and run.sample.how == "groups"
    frame = pd.read_csv(path)
    dev_rows = set(load_split(store, info, "dev")[0].index)
    sampled = set(_predicted_rows(store, run_id)["row_id"])
    groups = frame.loc[sorted(sampled), "qid"].unique()
    whole = {r for r in dev_rows if frame.loc[r, "qid"] in set(groups)}
    assert sampled == whole  # whole queries only
    assert run.sample.rows == len(sampled) and 40 <= len(sampled) < 40 + 6  # the last query taken whole
    assert "by whole groups" in run.sample.describe()


def test_like_carries_the_sample_and_can_drop_it(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    (first,) = run_baselines(store, "binary", ["tree"], folds=3, seed=2, sample=90, jobs=1)
    (again,) = rerun_like(store, "binary", first)
    (whole,) = rerun_like(store, "binary", first, sample="all")
    a, b = get_run(store, first), get_run(store, again)
    assert b.sample == a.sample and b.folds_hash == a.folds_hash
    assert list(_predicted_rows(store, again)["row_id"]) == list(_predicted_rows(store, first)["row_id"])
    assert get_run(store, whole).sample is None and get_run(store, whole).fold_scores[0].n_val > 30


def test_the_memory_cap_samples_with_a_note(store, binary_csv, monkeypatch):
    info = import_dataset(store, binary_csv, "label")
    per_row = len(info.feature_names) * 8 * 4  # three features: 96 bytes a row in the pipeline
    monkeypatch.setenv(MEMORY_BUDGET_ENV, str(per_row * 60))
    (capped,) = run_baselines(store, "binary", ["dummy"], folds=3, jobs=1)
    s = get_run(store, capped).sample
    assert s is not None and s.rows == 60 and s.how == "stratified"
    assert s.note is not None and "memory budget" in s.note and f"${MEMORY_BUDGET_ENV}" in s.note
    (every,) = run_baselines(store, "binary", ["dummy"], folds=3, jobs=1, sample="all")
    assert get_run(store, every).sample is None
    monkeypatch.setenv(MEMORY_BUDGET_ENV, str(per_row * info.n_dev))
    (fits,) = run_baselines(store, "binary", ["dummy"], folds=3, jobs=1)
    assert get_run(store, fits).sample is None


@pytest.mark.parametrize(
    ("sample", "folds", "fragment"),
    [(0, 5, "positive"), (-3, 5, "positive"), ("many", 5, "number of rows"), (10**6, 5, "more than"), (9, 5, "× 2")],
)
def test_bad_samples_store_nothing(store, binary_csv, sample, folds, fragment):
    import_dataset(store, binary_csv, "label")
    with pytest.raises(InputError, match=fragment):
        run_baselines(store, "binary", ["dummy"], folds=folds, sample=sample, jobs=1)
    assert list_runs(store) == []


def test_a_ranking_sample_with_fewer_groups_than_folds_is_refused(store, tmp_path):
    path = tmp_path / "queries.csv"
    ranking_frame().to_csv(path, index=False)
    info = imported(store, path)
    with pytest.raises(InputError, match="takes 2 groups"):
        run_baselines(store, info.name, ["dummy"], folds=5, sample=7, jobs=1)
    assert list_runs(store) == []


def test_the_diagnosis_says_whether_more_rows_would_help(store, tmp_path):
    rng = np.random.default_rng(0)
    n, k = 3000, 40  # 40 features: a linear model still learns at 320 training rows
    X = rng.normal(size=(n, k))
    y = np.where(X @ rng.normal(size=k) + rng.normal(scale=0.3, size=n) > 0, "a", "b")
    frame = pd.DataFrame(X.round(4), columns=[f"x{i}" for i in range(k)]).assign(y=y)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    import_dataset(store, tmp_path / "wide.csv", "y")
    linear, dummy = run_baselines(store, "wide", ["linear", "dummy"], folds=5, sample=400, jobs=1)

    rising = diagnose(store, linear, compute_curve=True)
    assert rising.more_data_helps is True
    note = next(n for n in rising.notes if "fitted on a sample of 400" in n)
    assert "more rows would help: re-run with a larger --sample or without it" in note
    command = f"mlloop run wide --like {linear} --sample 800"
    assert command in note
    assert any(a.kind == "more_data" and a.command == command for a in rising.advice)

    flat = diagnose(store, dummy, compute_curve=True)
    assert flat.more_data_helps is False
    assert any("fitted on a sample of 400" in n and "more rows are unlikely to help" in n for n in flat.notes)
    assert get_dataset(store, "wide").n_dev > 800


def test_tune_curves_and_the_test_set_fit_on_the_runs_sample(store, binary_csv):
    from core.analysis.curves import learning_curve
    from core.analysis.holdout import evaluate_on_test
    from core.analysis.tuning import tune

    import_dataset(store, binary_csv, "label")
    (run_id,) = run_baselines(store, "binary", ["tree"], folds=3, seed=5, sample=75, jobs=1)
    sample = get_run(store, run_id).sample
    candidates = tune(store, run_id, {"max_depth": [2, 3]}, jobs=1)
    assert [get_run(store, c).sample for c in candidates] == [sample, sample]
    assert [get_run(store, c).folds_hash for c in candidates] == [get_run(store, run_id).folds_hash] * 2
    curve = learning_curve(store, run_id, jobs=1)
    assert max(p.x for p in curve.points) <= 75 and any("fitted on a sample of 75" in n for n in curve.notes)
    assert evaluate_on_test(store, run_id).n_train == 75


def test_the_default_memory_budget_is_a_quarter_of_the_ram(monkeypatch):
    import os

    from core.data.sampling import memory_budget

    monkeypatch.delenv(MEMORY_BUDGET_ENV, raising=False)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_budget() == (int(ram * 0.25), "25% of RAM")
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "2GB")
    with pytest.raises(InputError, match="MLLOOP_MEMORY_BUDGET must be a number of bytes"):
        memory_budget()
