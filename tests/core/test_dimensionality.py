"""Feature-selection curves and curse-of-dimensionality stats on constructed data (real fits)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from core.analysis.dimensionality import curse_stats, curse_to_dict, k_grid
from core.analysis.feature_selection import curves_to_dict, feature_curve
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.errors import InputError
from core.store.datasets import get_dataset
from tests.conftest import run_mlloop, write_csv


def _frame(X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(X.round(5), columns=[f"f{i:04d}" for i in range(X.shape[1])])
    frame["y"] = np.where(y == 1, "a", "b")
    return frame


@pytest.fixture
def informative(store, tmp_path):
    X, y = make_classification(
        n_samples=300,
        n_features=200,
        n_informative=5,
        n_redundant=0,
        n_repeated=0,
        shuffle=False,
        class_sep=1.5,
        random_state=0,
    )
    import_dataset(store, write_csv(tmp_path / "informative.csv", _frame(X, y)), "y")
    return store


def test_k_grid_is_log_spaced_from_one_to_all():
    assert k_grid(1) == (1,)
    g = k_grid(500)
    assert g[0] == 1 and g[-1] == 500 and list(g) == sorted(set(g)) and len(g) == 12


def test_univariate_peaks_near_the_informative_count(informative):
    points = []
    curves = feature_curve(
        informative,
        "informative",
        methods=("univariate", "importance"),
        ks=(1, 2, 3, 5, 8, 13, 30, 80, 200),
        on_point=points.append,
    )
    uni = curves.method("univariate")
    assert 3 <= uni.best_k <= 13 and uni.one_se_k <= uni.best_k
    by_k = {p.k: p.mean for p in uni.points}
    assert by_k[uni.best_k] > by_k[200] + 0.03  # 195 noise features hurt the linear model
    # The chosen features at the peak are the informative ones (columns 0-4), chosen in every fold.
    top = [f.name for f in uni.chosen if f.frequency == 1.0]
    assert len(set(top) & {f"f{i:04d}" for i in range(5)}) >= min(uni.best_k, 5) - 1
    assert len(points) == 2 * 9 and points[-1].done == points[-1].total == 18
    assert all(p.point.n_folds == 5 for p in points)
    assert curves.method("importance").best_k <= 30
    json.dumps(curves_to_dict(curves), allow_nan=False)


def test_selection_is_inside_the_folds_so_noise_stays_at_chance(store, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1000))
    y = np.array([0, 1] * 30)
    rng.shuffle(y)
    info = import_dataset(store, write_csv(tmp_path / "noise.csv", _frame(X, y)), "y", test_size=0.1)
    ks = (1, 3, 10, 30, 100, 1000)
    curves = feature_curve(store, "noise", methods=("univariate", "l1"), ks=ks, seed=0)
    for m in curves.methods:
        assert m.note is None
        means = [p.mean for p in m.points]
        assert max(means) < 0.72 and np.mean(means) < 0.62, (m.method, means)
    assert curves.method("univariate").points[0].n_folds == 5

    # The same evaluation with the selection done once on ALL the rows first looks predictive:
    # proof that this test would fail if the engine selected outside the folds.
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    from core.modeling.evaluation import make_splitter

    Xd, yd = load_split(store, info, "dev")
    Z = StandardScaler().fit_transform(Xd)
    leaky = SelectKBest(f_classif, k=30).fit(Z, yd).transform(Z)
    cheat = cross_val_score(LogisticRegression(max_iter=1000), leaky, yd, cv=make_splitter("binary", 5, 1, 0))
    inside = {p.k: p.mean for p in curves.method("univariate").points}[30]
    assert cheat.mean() > 0.75 and cheat.mean() > inside + 0.2, (cheat.mean(), inside)


def test_points_equal_an_explicit_pipeline_in_each_fold(store, tmp_path, binary_csv):
    """The engine's shortcut (rank once per fold, take the top k) equals Pipeline(preprocess, SelectKBest(k), model)."""
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    from core.modeling.evaluation import build_pipeline, make_splitter
    from core.modeling.models import BASELINES

    info = import_dataset(store, binary_csv, "label")
    curves = feature_curve(store, "binary", methods=("univariate",), ks=(1, 2, 4), seed=0)
    X, y = load_split(store, info, "dev")
    base = build_pipeline(BASELINES["linear"], get_dataset(store, "binary"), X, {}, 0)
    for p in curves.method("univariate").points:
        pipe = Pipeline(
            [
                ("preprocess", base.named_steps["preprocess"]),
                ("select", SelectKBest(f_classif, k=p.k)),
                ("model", base.named_steps["model"]),
            ]
        )
        ref = cross_val_score(pipe, X, y, cv=make_splitter("binary", 5, 1, 0), scoring="accuracy")
        np.testing.assert_allclose(p.scores, ref, atol=1e-12)


def test_regression_rfe_and_bad_input(store, tmp_path, regression_csv):
    import_dataset(store, regression_csv, "y")
    curves = feature_curve(store, "regression", model="tree", methods=("rfe", "l1"), folds=3)
    assert curves.metric == "rmse" and not curves.greater_is_better
    for m in curves.methods:
        assert m.note is None and all(p.mean > 0 for p in m.points)
        best = min(m.points, key=lambda p: p.mean)
        assert m.best_k == best.k
    with pytest.raises(InputError):
        feature_curve(store, "regression", methods=("magic",))
    with pytest.raises(InputError):
        feature_curve(store, "regression", model="nope")


def test_curse_stats_on_random_data(store, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 300))
    y = rng.integers(0, 2, size=200)
    import_dataset(store, write_csv(tmp_path / "random.csv", _frame(X, y)), "y")
    s = curse_stats(store, "random")
    assert s.n_features == 300 and s.n_samples == 160
    assert s.samples_per_feature == pytest.approx(160 / 300) and "more features" in s.warning
    # Isotropic noise: variance is spread, about as many components as rows are needed.
    assert s.components_for[0.9] > 100 and s.components_for[0.9] <= s.components_for[0.99] <= 160
    rc = s.relative_contrast
    assert s.contrast_dims[0] == 1 and s.contrast_dims[-1] == 300
    assert all(a > b for a, b in zip(rc[1:], rc[2:])) and rc[-1] < 0.5 < rc[1]
    json.dumps(curse_to_dict(s), allow_nan=False)


def test_curse_stats_low_dimensional_structure(store, tmp_path):
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(300, 2))
    X = latent @ rng.normal(size=(2, 20)) + rng.normal(scale=0.01, size=(300, 20))
    y = (latent[:, 0] > 0).astype(int)
    import_dataset(store, write_csv(tmp_path / "lowrank.csv", _frame(X, y)), "y")
    s = curse_stats(store, "lowrank")
    assert s.components_for[0.95] == 2 and s.warning is None and s.samples_per_feature == 12.0


def test_cli_features(tmp_path):
    db = tmp_path / "s.duckdb"
    X, y = make_classification(n_samples=120, n_features=12, n_informative=3, n_redundant=0, random_state=0)
    csv = write_csv(tmp_path / "small.csv", _frame(X, y))
    assert run_mlloop("import", str(csv), "--target", "y", store=db).returncode == 0
    r = run_mlloop("features", "small", "--jobs", "1", "--cv", "3", "--methods", "univariate,l1", store=db)
    assert r.returncode == 0, r.stderr
    assert "univariate: best k=" in r.stdout and "relative contrast" in r.stdout
    r = run_mlloop("features", "small", "--json", "--jobs", "1", "--methods", "univariate,rfe", store=db)
    data = json.loads(r.stdout)
    assert set(data["curves"]["methods"]) == {"univariate", "rfe"}
    uni = data["curves"]["methods"]["univariate"]
    assert uni["best_k"] in data["curves"]["ks"] and uni["one_se_k"] <= uni["best_k"]
    assert {"k", "mean", "std", "n_folds", "scores"} <= set(uni["points"][0])
    assert {"samples_per_feature", "components_for", "relative_contrast"} <= set(data["curse"])
    for bad in (
        ["features", "nope"],
        ["features", "small", "--model", "nope"],
        ["features", "small", "--methods", "x"],
    ):
        r = run_mlloop(*bad, store=db)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (bad, r.stderr)
