"""Ranking datasets: import by group, folds and the hold-out split by query, per-query NDCG and MRR."""

from __future__ import annotations

import importlib.util
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score
from sklearn.model_selection import GroupShuffleSplit

from core.analysis.compare import compare_runs
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.data.ranking import load_groups
from core.errors import InputError
from core.modeling.evaluation import run_baselines
from core.modeling.metrics import key_metrics, metrics_for
from core.modeling.ranking import expected_reciprocal_rank
from core.store.datasets import get_dataset, list_datasets
from core.store.predictions import load_predictions
from core.store.runs import get_run

REPO = Path(__file__).resolve().parents[2]


def ranking_frame(n_queries: int = 24, docs: int = 6, seed: int = 0) -> pd.DataFrame:
    """Queries whose relevance (0-3) follows two features plus noise; rows in a random order."""
    rng = np.random.RandomState(seed)
    n = n_queries * docs
    a, b = rng.normal(size=n), rng.normal(size=n)
    latent = 1.2 * a - 0.6 * b + rng.normal(0, 0.7, n)
    frame = pd.DataFrame(
        {
            "qid": np.repeat([f"q{q:02d}" for q in range(n_queries)], docs),
            "a": a.round(4),
            "b": b.round(4),
            "kind": rng.choice(["x", "y"], n),
            "relevance": np.searchsorted([-0.5, 0.5, 1.5], latent),
        }
    )
    frame.loc[frame["qid"] == "q03", "relevance"] = 0  # a query with a single relevance level
    return frame.iloc[rng.permutation(n)].reset_index(drop=True)


@pytest.fixture
def ranking_csv(tmp_path: Path) -> Path:
    path = tmp_path / "queries.csv"
    ranking_frame().to_csv(path, index=False)
    return path


def imported(store, path: Path):
    return import_dataset(store, path, "relevance", task="ranking", group="qid")


def test_import_keeps_the_group_out_of_the_features_and_holds_out_whole_groups(store, ranking_csv):
    info = imported(store, ranking_csv)
    assert info.task == "ranking" and info.group == "qid" and info.classes == ()
    assert get_dataset(store, info.name).group == "qid"
    assert "qid" not in info.feature_names
    X, y = load_split(store, info, "dev")
    assert list(X.columns) == ["a", "b", "kind"] and y.dtype == np.float64
    dev, test = load_groups(store, info, "dev"), load_groups(store, info, "test")
    assert dev.index.equals(X.index)
    assert not set(dev) & set(test) and len(set(dev) | set(test)) == 24
    # the same test groups as GroupShuffleSplit on the file's rows
    frame = pd.read_csv(ranking_csv)
    _, expected = next(GroupShuffleSplit(1, test_size=0.2, random_state=0).split(frame, groups=frame["qid"]))
    assert list(test.index) == sorted(expected)


def direct_scores(y: pd.Series, score: np.ndarray, groups: pd.Series) -> dict[str, float]:
    """Mean per-query ndcg_score and reciprocal rank, single-level queries left out."""
    out: dict[str, list[float]] = {"ndcg_5": [], "ndcg_10": [], "ndcg": [], "mrr": []}
    frame = pd.DataFrame({"rel": y.to_numpy(), "score": score, "g": groups.to_numpy()})
    for _, q in frame.groupby("g"):
        if q["rel"].nunique() < 2:
            continue
        for name, k in (("ndcg_5", 5), ("ndcg_10", 10), ("ndcg", None)):
            out[name].append(ndcg_score([q["rel"]], [q["score"]], k=k))
        ranked = q.sort_values("score", ascending=False)["rel"].to_numpy()
        out["mrr"].append(1 / (1 + int(np.argmax(ranked > 0))))
    return {name: float(np.mean(v)) for name, v in out.items()}


def test_fold_scores_equal_per_query_ndcg_and_no_query_crosses_a_fold(store, ranking_csv):
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold

    from core.modeling.evaluation import build_pipeline
    from core.modeling.models import BASELINES

    info = imported(store, ranking_csv)
    (run_id,) = run_baselines(store, info.name, "linear", folds=3, seed=4)
    run = get_run(store, run_id)
    assert run.status == "done" and key_metrics("ranking")[0].name == "ndcg_10"
    assert any("single relevance level" in w for w in run.warnings)
    X, y = load_split(store, info, "dev")
    groups = load_groups(store, info, "dev")
    pipe = build_pipeline(BASELINES["linear"], info, X, {}, 4)
    splits = GroupKFold(3, shuffle=True, random_state=4).split(X, y, groups=groups)
    for fold, (train, val) in zip(run.fold_scores, splits):
        est = clone(pipe).fit(X.iloc[train], y.iloc[train])
        expected = direct_scores(y.iloc[val], est.predict(X.iloc[val]), groups.iloc[val])
        assert set(fold.validation) == {m.name for m in metrics_for("ranking")}
        for name, value in expected.items():
            assert fold.validation[name] == pytest.approx(value, abs=1e-12), name
    stored = load_predictions(store, run_id, 0)
    fold_of = pd.Series(stored.folds, index=stored.rows)
    per_group = fold_of.groupby(groups.loc[stored.rows].to_numpy()).nunique()
    assert len(per_group) == groups.nunique() and (per_group == 1).all()


def test_expected_reciprocal_rank_averages_tied_orders():
    rel, score = np.array([0, 2, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.1, 0.5])
    brute = []
    for order in permutations([0, 1, 2, 4]):  # the tied rows in every order, then row 3
        ranked = rel[[*order, 3]]
        brute.append(1 / (1 + int(np.argmax(ranked > 0))))
    assert expected_reciprocal_rank(rel, score) == pytest.approx(np.mean(brute))
    assert expected_reciprocal_rank(np.array([0, 1]), np.array([2.0, 1.0])) == 0.5


def test_compare_two_ranking_runs_gives_a_p_value(store, ranking_csv):
    info = imported(store, ranking_csv)
    ids = run_baselines(store, info.name, "dummy,tree", folds=3)
    comparison = compare_runs(store, ids)
    assert comparison.metric == "ndcg_10"
    (pair,) = comparison.pairs
    assert pair.pairable and 0 <= pair.p <= 1


def test_glm_is_refused_for_ranking_and_left_out_of_all(store, ranking_csv):
    from core.modeling.models import resolve_models

    assert [b.name for b in resolve_models("all", "ranking")] == ["dummy", "linear", "tree", "forest", "boosting"]
    info = imported(store, ranking_csv)
    with pytest.raises(InputError, match="glm does not rank"):
        run_baselines(store, info.name, "glm", folds=3)
    with pytest.raises(InputError, match="19 groups cannot make 10 folds by group"):
        run_baselines(store, info.name, "dummy", folds=10)


def _bad(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (None, {"task": "ranking"}, "--task ranking needs --group"),
        (None, {"group": "qid"}, "--group is for --task ranking"),
        (lambda f: f.assign(relevance=f["relevance"] - 1), {}, "integers >= 0"),
        (lambda f: f.assign(relevance=f["relevance"] + 0.5), {}, "integers >= 0"),
        (lambda f: f.assign(qid=f["qid"].where(f.index > 3)), {}, "missing in 4 labeled rows"),
        (lambda f: f.assign(qid=f["qid"].str[:2]), {}, "has 3 groups; ranking needs at least 10"),
        (None, {"task": "ranking", "group": "relevance"}, "cannot be the target"),
        (None, {"task": "ranking", "group": "nope"}, "no column 'nope'"),
    ],
)
def test_bad_ranking_input_is_one_line_and_leaves_the_store_unchanged(store, tmp_path, change, options, message):
    frame = ranking_frame()
    path = _bad(change(frame) if change else frame, tmp_path / "bad.csv")
    kwargs = options or {"task": "ranking", "group": "qid"}
    with pytest.raises(InputError, match=message) as info:
        import_dataset(store, path, "relevance", **kwargs)
    assert "\n" not in str(info.value)
    assert list_datasets(store) == []


def test_the_ranking_sample_is_regenerated_byte_for_byte(tmp_path: Path):
    script = REPO / "sample_data" / "make_queries.py"
    spec = importlib.util.spec_from_file_location("make_queries", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path)]) == 0
    assert (tmp_path / "queries.csv").read_bytes() == (REPO / "sample_data" / "queries.csv").read_bytes()
    frame = pd.read_csv(tmp_path / "queries.csv")
    assert frame.shape == (2000, 6) and frame["query_id"].nunique() == 200
    assert frame.groupby("query_id").size().eq(10).all()
    assert frame["relevance"].value_counts().sort_index().tolist() == [1257, 344, 189, 210]  # the README's counts
    assert frame.groupby("query_id")["relevance"].nunique().eq(1).sum() == 2


def test_quality_screens_a_ranking_dataset_for_a_leaking_feature(store, tmp_path):
    from core.analysis.quality import check_quality

    frame = ranking_frame()
    frame["leak"] = frame["relevance"] * 2 + np.random.RandomState(1).normal(scale=0.01, size=len(frame))
    info = imported(store, _bad(frame, tmp_path / "leaky.csv"))
    leaks = [f for f in check_quality(store, info, mislabeled=False) if f.kind == "leakage"]
    assert [f.columns for f in leaks] == [("leak",)]


def test_feature_curves_refuse_a_ranking_dataset_in_one_line(store, ranking_csv):
    from core.analysis.feature_selection import feature_curve

    info = imported(store, ranking_csv)
    with pytest.raises(InputError, match="feature curves do not support ranking datasets yet"):
        feature_curve(store, info, model="linear")


def test_a_regressor_spec_ranks_and_a_classifier_spec_is_refused(store, ranking_csv):
    from core.modeling.specs import parse_model_option

    info = imported(store, ranking_csv)
    with pytest.raises(InputError, match="is a classifier; a ranking dataset needs a regressor"):
        run_baselines(
            store,
            info.name,
            [],
            folds=3,
            model_specs=[parse_model_option("lr=sklearn.linear_model.LogisticRegression()")],
        )
    spec = parse_model_option("ridge=sklearn.linear_model.Ridge(alpha=3.0)")
    (run_id,) = run_baselines(store, info.name, [], folds=3, model_specs=[spec])
    assert get_run(store, run_id).status == "done"


RANKER = '''
import numpy as np
from sklearn.linear_model import Ridge


class GroupRidge(Ridge):
    """A ranker-shaped estimator: fit needs each query's row count, the rows sorted by query."""

    def fit(self, X, y, group=None):
        if group is None or int(np.sum(group)) != len(y) or min(group) < 1:
            raise ValueError(f"bad group sizes: {group!r}")
        return super().fit(X, y)


def build():
    return GroupRidge()
'''


def test_a_spec_whose_fit_takes_group_gets_query_sizes_in_query_order(store, ranking_csv, tmp_path):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    from core.modeling.ranking import query_order, ranking_scorers
    from core.modeling.specs import parse_model_option

    info = imported(store, ranking_csv)
    X, y = load_split(store, info, "dev")
    groups = load_groups(store, info, "dev")

    class Ranker(Ridge):
        def fit(self, X, y, group=None):
            return super().fit(X, y)

    rows = X.iloc[::2]
    Xs, ys, params = query_order(Pipeline([("model", Ranker())]), rows, y.loc[rows.index], ranking_scorers(groups))
    assert list(params) == ["model__group"]
    expected = groups.loc[rows.index].value_counts().sort_index()
    assert list(params["model__group"]) == expected.tolist()
    assert groups.loc[Xs.index].tolist() == sorted(groups.loc[rows.index]) and ys.index.equals(Xs.index)
    assert query_order(Pipeline([("model", Ridge())]), rows, y, ranking_scorers(groups))[2] == {}

    (tmp_path / "ranker.py").write_text(RANKER)
    spec = parse_model_option(f"rk={tmp_path / 'ranker.py'}:build")
    (run_id,) = run_baselines(store, info.name, [], folds=3, model_specs=[spec])
    run = get_run(store, run_id)
    assert run.status == "done", run.error
    from core.analysis.holdout import evaluate_on_test

    assert set(evaluate_on_test(store, run_id).scores) == {"ndcg_5", "ndcg_10", "ndcg", "mrr"}


QID_RANKER = '''
import numpy as np
from sklearn.linear_model import Ridge


class QidRidge(Ridge):
    """A ranker-shaped estimator whose fit takes qid (each row's query), sorted, and no group."""

    def fit(self, X, y, qid=None):
        if qid is None or len(qid) != len(y) or np.any(np.diff(qid) < 0):
            raise ValueError(f"bad qid: {qid!r}")
        return super().fit(X, y)


def build():
    return QidRidge()
'''


def test_a_spec_whose_fit_takes_qid_gets_each_rows_query_in_query_order(store, ranking_csv, tmp_path):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    from core.modeling.ranking import query_order, ranking_scorers
    from core.modeling.specs import parse_model_option

    info = imported(store, ranking_csv)
    X, y = load_split(store, info, "dev")
    groups = load_groups(store, info, "dev")

    class Ranker(Ridge):
        def fit(self, X, y, qid=None):
            return super().fit(X, y)

    rows = X.iloc[::3]
    Xs, ys, params = query_order(Pipeline([("m", Ranker())]), rows, y.loc[rows.index], ranking_scorers(groups))
    assert list(params) == ["m__qid"] and len(params["m__qid"]) == len(Xs)
    assert np.all(np.diff(params["m__qid"]) >= 0) and ys.index.equals(Xs.index)
    # one number per query: rows share a qid exactly when they share a group
    assert pd.Series(groups.loc[Xs.index].to_numpy()).groupby(params["m__qid"]).nunique().eq(1).all()
    assert groups.loc[Xs.index].tolist() == sorted(groups.loc[rows.index])

    (tmp_path / "qid.py").write_text(QID_RANKER)
    spec = parse_model_option(f"q={tmp_path / 'qid.py'}:build")
    (run_id,) = run_baselines(store, info.name, [], folds=3, model_specs=[spec])
    assert get_run(store, run_id).status == "done", get_run(store, run_id).error


QUERIES = REPO / "sample_data" / "queries.csv"
RANKERS = {
    "xgbr": ("xgboost", "xgboost.XGBRanker(n_estimators=20, max_depth=3, n_jobs=1)"),
    "lgbmr": ("lightgbm", "lightgbm.LGBMRanker(n_estimators=20, num_leaves=7, n_jobs=1, verbose=-1)"),
}


def test_xgboost_and_lightgbm_rankers_score_the_per_query_ndcg_of_their_folds_and_compare(store):
    """XGBRanker and LGBMRanker fit on each fold's rows sorted by query with group sizes; their fold
    NDCG is a direct per-query ndcg_score of that fit on the fold's validation queries."""
    for module, _ in RANKERS.values():
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[boosting]')")
    from lightgbm import LGBMRanker
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold
    from xgboost import XGBRanker

    from core.modeling.evaluation import build_pipeline
    from core.modeling.models import BASELINES
    from core.modeling.specs import parse_model_option

    info = import_dataset(store, QUERIES, "relevance", task="ranking", group="query_id")
    specs = [parse_model_option(f"{name}={text}") for name, (_, text) in RANKERS.items()]
    ids = run_baselines(store, info.name, [], folds=2, seed=2, model_specs=specs, jobs=1)
    X, y = load_split(store, info, "dev")
    groups = load_groups(store, info, "dev")
    estimators = [
        XGBRanker(n_estimators=20, max_depth=3, n_jobs=1),
        LGBMRanker(n_estimators=20, num_leaves=7, n_jobs=1, verbose=-1),
    ]
    for run_id, estimator in zip(ids, estimators):
        run = get_run(store, run_id)
        assert run.status == "done", run.error
        pipe = build_pipeline(BASELINES["linear"], info, X).set_params(model=estimator)
        splits = GroupKFold(2, shuffle=True, random_state=2).split(X, y, groups=groups)
        for fold, (train, val) in zip(run.fold_scores, splits):
            by_query = groups.iloc[train].sort_values(kind="stable")  # the training rows, query by query
            sizes = by_query.value_counts(sort=False).loc[by_query.unique()].to_numpy()
            est = clone(pipe).fit(X.loc[by_query.index], y.loc[by_query.index], model__group=sizes)
            expected = direct_scores(y.iloc[val], est.predict(X.iloc[val]), groups.iloc[val])
            for name in ("ndcg_5", "ndcg_10", "ndcg"):  # (direct_scores' MRR breaks the trees' tied scores by row)
                assert fold.validation[name] == pytest.approx(expected[name], abs=1e-12), (run.model, name)
    (pair,) = compare_runs(store, ids).pairs
    assert pair.pairable and 0 <= pair.p <= 1


def test_xgbranker_needs_rows_sorted_by_query_and_group_sizes_equal_its_qid_form(store):
    """Why query_order sorts: XGBoost refuses a qid that is not sorted, and on sorted rows the group
    sizes mlloop passes fit the same model as each row's qid."""
    pytest.importorskip("xgboost", reason="xgboost is not installed (pip install -e '.[boosting]')")
    from xgboost import XGBRanker
    from xgboost.core import XGBoostError

    frame = pd.read_csv(QUERIES).iloc[:400]
    X, y = frame[["bm25", "clicks", "age_days"]], frame["relevance"]
    qid = frame["query_id"].str[1:].astype(int).to_numpy()
    shuffled = np.random.RandomState(0).permutation(len(frame))
    with pytest.raises(XGBoostError, match="must be sorted in non-decreasing order"):
        XGBRanker(n_estimators=5, n_jobs=1).fit(X.iloc[shuffled], y.iloc[shuffled], qid=qid[shuffled])
    by_qid = XGBRanker(n_estimators=5, n_jobs=1).fit(X, y, qid=qid)
    by_group = XGBRanker(n_estimators=5, n_jobs=1).fit(X, y, group=np.bincount(qid)[np.unique(qid)])
    np.testing.assert_array_equal(by_qid.predict(X), by_group.predict(X))


def test_query_ndcg_is_ndcg_score_with_ties_and_cutoffs():
    from core.modeling.ranking import query_ndcg

    rng = np.random.RandomState(0)
    for _ in range(150):
        n = rng.randint(2, 16)
        relevance = rng.randint(0, 4, n).astype(float)
        score = np.round(rng.normal(size=n), rng.randint(0, 3))  # 0 decimals: many ties
        for k in (None, 1, 5, 10):
            expected = ndcg_score(relevance[None, :], score[None, :], k=k)
            assert query_ndcg(relevance, score, k) == pytest.approx(expected, abs=1e-12), (relevance, score, k)
