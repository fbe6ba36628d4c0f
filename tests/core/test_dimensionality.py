"""Feature-selection curves and curse-of-dimensionality stats on constructed data (real fits)."""

from __future__ import annotations

import json
import os

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


def test_a_sample_draws_the_curves_on_its_rows_as_an_explicit_pipeline_on_them(store, binary_csv):
    """``sample``: the folds split the drawn rows only, and each point equals the explicit pipeline's
    cross-validation on exactly those rows; the note says what the rows were."""
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    from core.data.sampling import plan_sample
    from core.modeling.evaluation import build_pipeline, make_splitter
    from core.modeling.models import BASELINES

    info = import_dataset(store, binary_csv, "label")
    curves = feature_curve(store, "binary", methods=("univariate",), ks=(1, 3), folds=4, seed=2, sample=100)
    drawn = plan_sample(store, info, 100, 4, 2)
    assert drawn is not None and curves.n_samples == 100
    assert curves.notes == (f"fitted on a sample of 100 of {info.n_dev} development rows (seed 2, stratified)",)
    X, y = load_split(store, info, "dev", drawn)
    base = build_pipeline(BASELINES["linear"], info, X, {}, 2)
    for p in curves.method("univariate").points:
        steps = [base.steps[0], ("select", SelectKBest(f_classif, k=p.k)), base.steps[-1]]
        ref = cross_val_score(Pipeline(steps), X, y, cv=make_splitter("binary", 4, 1, 2), scoring="accuracy")
        np.testing.assert_allclose(p.scores, ref, atol=1e-12)
    whole = feature_curve(store, "binary", methods=("univariate",), ks=(1,), folds=4, sample="all")
    assert whole.n_samples == info.n_dev and whole.notes == ()


def test_the_memory_budget_samples_the_curves_and_the_curse_stats(store, binary_csv):
    """A dataset over the memory budget is never loaded whole: both views draw the rows that fit, and
    say so; samples per feature still count every development row."""
    info = import_dataset(store, binary_csv, "label")
    curves = feature_curve(store, "binary", methods=("univariate",), ks=(1,), folds=3, memory=4800)
    # 3 features, 8 bytes, a fit's 4 copies and the 3 folds' rows: 4,800 bytes hold 28 rows (a run: 50)
    assert curves.n_samples == 28 and "over the memory budget of 4,800 bytes (--memory)" in curves.notes[0]
    stats = curse_stats(store, "binary", memory=4800)
    assert "fitted on a sample of 50 rows" in stats.notes[0]
    assert stats.n_samples == info.n_dev and stats.samples_per_feature == pytest.approx(info.n_dev / stats.n_features)
    assert curse_stats(store, "binary").notes == ()  # within the default budget: every row, no note
    with pytest.raises(InputError, match="below 2 folds × 2 classes"):
        curse_stats(store, "binary", sample=3)


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


def test_cli_features_on_a_sample_says_so_once(tmp_path):
    db = tmp_path / "s.duckdb"
    X, y = make_classification(n_samples=150, n_features=6, n_informative=3, n_redundant=0, random_state=0)
    csv = write_csv(tmp_path / "small.csv", _frame(X, y))
    assert run_mlloop("import", str(csv), "--target", "y", store=db).returncode == 0
    r = run_mlloop(
        "features", "small", "--jobs", "1", "--cv", "3", "--methods", "univariate", "--sample", "60", store=db
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("note: fitted on a sample of 60 of 120 development rows (seed 0, stratified)") == 1, r.stdout
    assert "60 rows" in r.stdout and "(120 rows / 6 features)" in r.stdout


def test_the_app_computation_and_the_dataset_export_apply_the_memory_budget(tmp_path, binary_csv):
    """The app's features view runs ``mlloop_tui.compute``; it and ``export --dataset`` take the default
    budget (here ``$MLLOOP_MEMORY_BUDGET``), so a large dataset is sampled there too, with the note."""
    import subprocess
    import sys

    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    budget = {"MLLOOP_MEMORY_BUDGET": "4800"}
    r = run_mlloop("export", "--dataset", "binary", "-o", str(tmp_path / "binary.md"), store=db, env=budget)
    assert r.returncode == 0, r.stderr
    assert "over the memory budget of 4,800 bytes" in (tmp_path / "binary.md").read_text()  # Markdown escapes the rest
    computed = subprocess.run(
        [sys.executable, "-m", "mlloop_tui.compute", "--store", str(db), "curse", "binary"],
        capture_output=True,
        text=True,
        env={**os.environ, **budget},
    )
    assert computed.returncode == 0, computed.stderr
    (event,) = [json.loads(line) for line in computed.stdout.splitlines() if '"curse"' in line]
    assert "fitted on a sample of 50 rows" in event["curse"]["notes"][0]


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
        ["features", "small", "--sample", "5"],
        ["features", "small", "--sample", "lots"],
        ["features", "small", "--memory", "lots"],
    ):
        r = run_mlloop(*bad, store=db)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (bad, r.stderr)
