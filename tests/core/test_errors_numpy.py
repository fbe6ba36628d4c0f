"""Error analysis without pandas: the same numbers as an independent pandas reference, and a process
that never imports pandas, scikit-learn or statsmodels (nor SciPy for classification)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.analysis.errors import analyse_run, cell_rows, slice_rows
from core.data.frames import load_arrays, load_split
from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.store.datasets import get_dataset
from core.store.predictions import load_predictions
from tests.conftest import write_csv

HEAVY = {"pandas", "sklearn", "statsmodels", "pyarrow", "scipy"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A binary, a three-class and a regression run over a categorical feature and numeric ones (one
    with few values), each with missing values."""
    from core.store import Store

    tmp = tmp_path_factory.mktemp("errors-numpy")
    store = Store(tmp / "store.duckdb")
    rng = np.random.default_rng(7)
    n = 600
    x = rng.normal(size=n)
    level = rng.choice([1.0, 2.0, 3.0], size=n)
    color = rng.choice(["red", "green", "blue", "[b]grey"], size=n).astype(object)
    x[rng.random(n) < 0.1] = np.nan
    level[rng.random(n) < 0.08] = np.nan
    color[rng.random(n) < 0.07] = None
    score = np.nan_to_num(x) + (color == "red") + np.isnan(level) + rng.normal(size=n)
    features = {"x": x.round(4), "level": level, "color": color}
    targets = {
        "binary": np.where(score > 0.3, "pos", "neg"),
        "multi": np.array(["a", "b", "c"])[np.digitize(score, [-0.5, 0.8])],
        "regression": (3 * score).round(4),
    }
    ids = {}
    for name, target in targets.items():
        import_dataset(store, write_csv(tmp / f"{name}.csv", pd.DataFrame({**features, "y": target})), "y")
        (ids[name],) = run_baselines(store, name, ["linear"], folds=3, jobs=1)
    return store, tmp / "store.duckdb", ids


def test_load_arrays_are_load_splits_columns(runs):
    store, _, _ = runs
    info = get_dataset(store, "binary")
    X, y = load_split(store, info, "dev")
    data = load_arrays(store, info, "dev")
    assert list(data.features) == list(X.columns) == ["x", "level", "color"]
    assert np.array_equal(data.rows, X.index.to_numpy())
    for name, values in data.features.items():
        assert values.dtype == X[name].dtype
        assert pd.Series(values, dtype=values.dtype).equals(X[name].reset_index(drop=True))
    assert data.y.dtype == object and list(data.y) == list(y)


@pytest.mark.parametrize("name", ["binary", "multi", "regression"])
@pytest.mark.parametrize("min_slice", [30, 40])
def test_analysis_equals_a_pandas_reference(runs, name, min_slice):
    store, _, ids = runs
    info = get_dataset(store, name)
    X, y = load_split(store, info, "dev")
    p = load_predictions(store, ids[name], len(info.classes))
    X, y = X.loc[p.rows], y.loc[p.rows]
    a = analyse_run(store, ids[name], top=20, min_slice=min_slice)
    assert a.n_rows == len(y) == info.n_dev
    if info.classes:
        predicted = pd.Series(np.array(info.classes)[p.labels], index=y.index)
        crosstab = pd.crosstab(pd.Categorical(y, info.classes), pd.Categorical(predicted, info.classes), dropna=False)
        assert a.classification is not None
        assert [list(r) for r in a.classification.confusion] == crosstab.to_numpy().tolist()
        for s, c in zip(a.classification.per_class, info.classes):
            assert s.support == (y == c).sum() and s.recall == pytest.approx(
                ((y == c) & (predicted == c)).mean() / (y == c).mean()
            )
        errors = (predicted != y).astype(float)
        assert a.overall_error == pytest.approx(errors.mean())
        for t in info.classes:  # the screen's rows of a confusion-matrix cell
            assert cell_rows(store, ids[name], t, info.classes[0]) == list(
                y.index[(y == t) & (predicted == info.classes[0])]
            )
    else:
        errors = (y - p.values).abs()
        assert a.overall_error == pytest.approx(errors.mean())
    expected, tested = _reference_slices(X, errors, bool(info.classes), min_slice)
    assert a.slices and a.slices_tested == tested
    assert [(s.feature, s.description, s.n) for s in a.slices] == [e[:3] for e in expected]
    for s, e in zip(a.slices, expected):
        assert (s.error, s.rest_error, s.statistic, s.p) == pytest.approx(e[3:], rel=1e-9)
    for s in a.slices:  # the screen's rows of a slice
        assert slice_rows(store, ids[name], s.feature, s.description) == list(_reference_rows(X, s))


def _labels(column: pd.Series) -> pd.Series:
    """Each row's slice, as pandas would name it: value, quintile bin, or missing."""
    if column.dtype == object:
        return column.map(lambda v: f"= {v}").where(column.notna(), "missing")
    present = column.dropna()
    if present.nunique() <= 10:
        return column.map(lambda v: f"= {v:.4g}").where(column.notna(), "missing")
    edges = np.unique(np.quantile(present, np.linspace(0, 1, 6)))
    names = [
        f"in [{lo:.4g}, {hi:.4g}{']' if i == len(edges) - 2 else ')'}"
        for i, (lo, hi) in enumerate(zip(edges, edges[1:]))
    ]
    bins = pd.cut(column, [-np.inf, *edges[1:-1], np.inf], right=False, labels=names)
    return bins.astype(object).where(column.notna(), "missing")


def _reference_slices(X: pd.DataFrame, errors: pd.Series, classification: bool, min_size: int):
    """Each feature's weakest slice by scipy's tests on pandas groups, ranked; and how many were tested."""
    best, tested = [], 0
    for feature in X.columns:
        labels = _labels(X[feature])
        found = []
        for label, inside in labels.groupby(labels, sort=False).groups.items():
            e_in, e_out = errors.loc[inside], errors.drop(inside)
            if len(e_in) < min_size or len(e_out) < 2:
                continue
            tested += 1
            if classification:
                pooled = errors.mean()
                se = np.sqrt(pooled * (1 - pooled) * (1 / len(e_in) + 1 / len(e_out)))
                if se == 0:
                    continue
                stat = (e_in.mean() - e_out.mean()) / se
                p = stats.norm.sf(stat)
            else:
                if e_in.var() + e_out.var() == 0:
                    continue
                stat, p = stats.ttest_ind(e_in, e_out, equal_var=False, alternative="greater")
            if stat > 0:
                found.append((feature, label, len(e_in), e_in.mean(), e_out.mean(), stat, p))
        if found:
            best.append(min(found, key=lambda f: (f[6], -f[3])))
    return sorted(best, key=lambda f: (f[6], -f[3]))[:20], tested


def _reference_rows(X: pd.DataFrame, s) -> pd.Index:
    labels = _labels(X[s.feature])
    return labels.index[labels == s.description]


@pytest.mark.parametrize("name", ["binary", "regression"])
def test_mlloop_errors_imports_no_pandas_sklearn_nor_scipy(runs, name):
    _, db, ids = runs
    for extra in ([], ["--json"]):
        out = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "mlloop_tui",
                "--store",
                str(db),
                "errors",
                str(ids[name]),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "Weakest slices" in out.stdout or '"slices"' in out.stdout
        imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
        assert "numpy" in imported and "duckdb" in imported  # the check sees what the command imports
        assert not HEAVY & imported  # Welch's t included: core.analysis.slices.student_t_cdf


def test_student_t_cdf_equals_scipy():
    """Welch's t p-values without SciPy: equal to scipy.special.stdtr to 1e-9 (relative) for the
    degrees of freedom a slice test meets (up to 100,000), 1e-7 beyond."""
    from scipy.special import stdtr

    from core.analysis.slices import student_t_cdf

    rng = np.random.default_rng(0)
    for top, rtol in ((1e5, 1e-9), (1e7, 1e-7)):
        df = np.exp(rng.uniform(0, np.log(top), 20_000))
        t = rng.normal(size=20_000) * rng.choice([1e-6, 0.1, 1, 3, 10, 40], 20_000)
        ours = np.array([student_t_cdf(float(a), float(b)) for a, b in zip(t, df)])
        np.testing.assert_allclose(ours, stdtr(df, t), rtol=rtol, atol=1e-300)
    assert student_t_cdf(0.0, 3.0) == 0.5
    assert student_t_cdf(-math.inf, 2.0) == 0.0 and student_t_cdf(math.inf, 2.0) == 1.0
