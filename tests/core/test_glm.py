"""The statsmodels GLM estimators: same numbers as statsmodels, scikit-learn compatible, and
hard cases (separation, singular designs, non-convergence) reported instead of raised."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import Ridge
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from core.modeling.glm import GLMClassifier, GLMRegressor
from tests.conftest import REPO


def _table(est) -> pd.DataFrame:
    return pd.DataFrame([vars(c) for c in est.summary_.coefficients])


def _assert_matches(est, res, n_outputs: int = 1) -> None:
    """Our coefficient table equals a statsmodels result's (row order: output, then term)."""
    table = _table(est)
    params = np.asarray(res.params).reshape(-1, n_outputs)
    np.testing.assert_allclose(table["coef"], params.T.ravel(), rtol=1e-6, atol=1e-10)
    for ours, theirs in [("std_err", res.bse), ("z", res.tvalues), ("p", res.pvalues)]:
        np.testing.assert_allclose(table[ours], np.asarray(theirs).reshape(-1, n_outputs).T.ravel(), rtol=1e-6)
    assert est.summary_.llf == pytest.approx(res.llf, rel=1e-9)
    assert est.summary_.aic == pytest.approx(res.aic, rel=1e-9)
    assert est.summary_.df_resid == res.df_resid and est.summary_.n_obs == res.nobs


def test_binary_logit_equals_statsmodels():
    data = sm.datasets.spector.load_pandas()
    X, y = data.exog, data.endog.map({0.0: "no", 1.0: "yes"})
    est = GLMClassifier().fit(X, y)
    res = sm.GLM(data.endog, sm.add_constant(X), family=sm.families.Binomial()).fit()
    _assert_matches(est, res)
    ci = np.asarray(res.conf_int())
    np.testing.assert_allclose(_table(est)[["ci_low", "ci_high"]], ci, rtol=1e-6)
    assert list(_table(est)["term"]) == ["Intercept", "GPA", "TUCE", "PSI"]
    s = est.summary_
    assert (s.family, s.link, s.converged, s.warnings) == ("binomial", "logit", True, ())
    assert s.deviance == pytest.approx(res.deviance) and s.null_deviance == pytest.approx(res.null_deviance)
    assert list(est.classes_) == ["no", "yes"] and list(est.feature_names_in_) == ["GPA", "TUCE", "PSI"]
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], res.predict(sm.add_constant(X)), rtol=1e-9)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(est.predict(X)) == list(np.where(proba[:, 1] > 0.5, "yes", "no"))
    np.testing.assert_allclose(est.decision_function(X), np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6)


def test_gaussian_equals_statsmodels_and_ridge_equals_sklearn():
    X, y = load_diabetes(return_X_y=True)
    est = GLMRegressor().fit(X, y)
    res = sm.GLM(y, sm.add_constant(X), family=sm.families.Gaussian()).fit()
    _assert_matches(est, res)
    assert (est.summary_.family, est.summary_.link) == ("gaussian", "identity")
    assert est.summary_.deviance == pytest.approx(res.deviance)
    assert list(_table(est)["term"]) == ["Intercept"] + [f"x{i}" for i in range(10)]
    np.testing.assert_allclose(est.predict(X[:20]), res.predict(sm.add_constant(X)[:20]), rtol=1e-9)

    ridge = GLMRegressor(alpha=0.01).fit(X, y)
    expected = Ridge(alpha=0.01 * len(y)).fit(X, y)
    np.testing.assert_allclose(ridge.coef_, expected.coef_, rtol=1e-6)
    assert ridge.intercept_ == pytest.approx(expected.intercept_, rel=1e-9)
    assert np.isnan(_table(ridge)["std_err"]).all() and np.isnan(ridge.summary_.aic)
    assert any("standard errors" in w for w in ridge.fit_warnings_)


def test_penalised_logit_equals_statsmodels_ridge():
    data = sm.datasets.spector.load_pandas()
    est = GLMClassifier(alpha=0.05).fit(data.exog, data.endog)
    model = sm.GLM(data.endog, sm.add_constant(data.exog), family=sm.families.Binomial())
    res = model.fit_regularized(alpha=np.array([0, 0.05, 0.05, 0.05]), L1_wt=0.0)
    np.testing.assert_allclose(_table(est)["coef"], res.params, rtol=1e-4)
    assert est.summary_.converged
    assert est.summary_.llf == pytest.approx(model.loglike(res.params), rel=1e-6)


def _iris(columns=slice(None)):
    data = load_iris(as_frame=True)
    return data.data.iloc[:, columns], data.target.map(dict(enumerate(data.target_names)))


@pytest.mark.parametrize("dataset", ["iris", "anes96"])
def test_multinomial_equals_statsmodels_mnlogit(dataset):
    if dataset == "iris":  # one feature: with more, setosa is separable (see the test below)
        X, y = _iris([0])
    else:  # statsmodels' own MNLogit example: 7 classes, 5 features
        data = sm.datasets.anes96.load_pandas()
        X, y = data.exog[["logpopul", "selfLR", "age", "educ", "income"]], data.endog.astype(int)
    est = GLMClassifier().fit(X, y)
    codes = np.unique(y, return_inverse=True)[1]
    res = sm.MNLogit(codes, sm.add_constant(X.to_numpy())).fit(maxiter=100, disp=False)
    _assert_matches(est, res, n_outputs=len(est.classes_) - 1)
    s = est.summary_
    assert (s.family, s.converged, s.warnings) == (f"multinomial (reference: {est.classes_[0]})", True, ())
    assert s.deviance == pytest.approx(-2 * res.llf) and s.null_deviance == pytest.approx(-2 * res.llnull)
    assert [c.label for c in s.coefficients][:: X.shape[1] + 1] == [str(c) for c in est.classes_[1:]]
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba, res.predict(sm.add_constant(X.to_numpy())), rtol=1e-9)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_multinomial_quasi_separation_on_iris_is_reported():
    X, y = _iris()
    est = GLMClassifier().fit(X, y)
    codes = np.unique(y, return_inverse=True)[1]
    res = sm.MNLogit(codes, sm.add_constant(X.to_numpy())).fit(maxiter=100, disp=False)
    np.testing.assert_allclose(_table(est)["coef"], res.params.T.ravel(), rtol=1e-6)
    assert est.summary_.warnings == (
        "did not converge within maxiter=100 iterations",
        "possible separation: 50 of 150 observations are fitted with probability numerically 1; "
        "coefficients and standard errors are unreliable",
    )
    np.testing.assert_allclose(est.predict_proba(X), res.predict(sm.add_constant(X.to_numpy())), atol=1e-9)
    assert (est.predict(X) == y).mean() > 0.95


@pytest.mark.parametrize("n_classes", [2, 3])
def test_perfect_separation_is_reported_and_predictions_work(n_classes):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = np.digitize(x[:, 0], np.quantile(x[:, 0], np.linspace(0, 1, n_classes + 1)[1:-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape a fit
        est = GLMClassifier().fit(x, y)
    assert any("separation" in w for w in est.fit_warnings_), est.fit_warnings_
    proba = est.predict_proba(x)
    assert np.isfinite(proba).all() and (est.predict(x) == y).all()


def test_separation_error_of_older_statsmodels_falls_back_to_a_small_penalty(monkeypatch):
    """statsmodels < 0.14 raised PerfectSeparationError where newer versions warn."""
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    fit = sm.GLM.fit

    def old_fit(self, *args, maxiter=100, **kwargs):  # maxiter=0 only evaluates given params
        if maxiter:
            raise PerfectSeparationError("Perfect separation detected, results not available")
        return fit(self, *args, maxiter=maxiter, **kwargs)

    monkeypatch.setattr(sm.GLM, "fit", old_fit)
    x = np.arange(20.0).reshape(-1, 1)
    est = GLMClassifier().fit(x, x[:, 0] > 9.5)
    assert any("PerfectSeparationError" in w and "penalty" in w for w in est.fit_warnings_)
    assert (est.predict(x) == (x[:, 0] > 9.5)).all() and np.isnan(_table(est)["std_err"]).all()


@pytest.mark.parametrize("n_classes", [2, 3, 0])
def test_singular_design_is_reported_and_still_fitted(n_classes):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90)})
    X["a_copy"] = X["a"]
    X["const"] = 3.0
    y = rng.integers(0, n_classes, 90) if n_classes else X["a"] + rng.normal(size=90)
    est = (GLMClassifier() if n_classes else GLMRegressor()).fit(X, y)
    (warning,) = [w for w in est.fit_warnings_ if "singular" in w]
    assert warning == "singular design: rank 3 of 5 columns; collinear terms not estimated: a_copy, const"
    table = _table(est).set_index("term")
    assert table.loc[["a_copy", "const"], "coef"].isna().all()
    assert table.loc[["Intercept", "a", "b"], "std_err"].notna().all()
    pred = est.predict_proba(X) if n_classes else est.predict(X)
    assert np.isfinite(pred).all()
    # the same model as leaving the aliased columns out
    X_reduced = X[["a", "b"]]
    reduced = clone(est).fit(X_reduced, y)
    np.testing.assert_allclose(pred, reduced.predict_proba(X_reduced) if n_classes else reduced.predict(X_reduced))


def test_non_convergence_is_reported():
    X, y = load_diabetes(return_X_y=True)
    est = GLMClassifier(maxiter=1).fit(X, y > np.median(y))
    assert est.summary_.converged is False
    assert "did not converge within maxiter=1 iterations" in est.fit_warnings_


def test_non_finite_input_is_a_clear_error():
    X = np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="NaN"):
        GLMClassifier().fit(X, [0, 1, 0])
    with pytest.raises(ValueError, match="infinity"):
        GLMRegressor().fit(np.nan_to_num(X, nan=np.inf), [0.0, 1.0, 2.0])


def test_pipeline_cross_validation_and_clone():
    data = sm.datasets.anes96.load_pandas()
    X, y = data.exog, np.where(data.endog >= 4, "republican", "democrat")
    pipe = Pipeline([("scale", StandardScaler()), ("model", GLMClassifier())]).set_output(transform="pandas")
    scores = cross_validate(
        pipe,
        X,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring=["accuracy", "roc_auc", "neg_log_loss"],
        error_score="raise",
    )
    assert (scores["test_roc_auc"] > 0.6).all() and (scores["test_neg_log_loss"] < 0).all()
    copy = clone(pipe.set_params(model__alpha=0.1))
    assert copy.get_params()["model__alpha"] == 0.1 and not hasattr(copy.named_steps["model"], "coef_")
    fitted = copy.fit(X, y)
    assert [c.term for c in fitted.named_steps["model"].summary_.coefficients][:2] == ["Intercept", "logpopul"]


def test_importing_the_module_loads_no_statsmodels_and_pickles_resolve_in_a_fresh_process():
    X, y = load_iris(return_X_y=True)
    est = GLMClassifier().fit(X[:, :1], y)
    code = (
        "import sys, pickle\nimport core.modeling.glm\n"
        "assert 'statsmodels' not in sys.modules, sorted(sys.modules)\n"
        "est = pickle.loads(sys.stdin.buffer.read())\n"
        "print(type(est).__name__, *est.predict([[4.5], [7.5]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(est), capture_output=True, cwd=REPO)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().split() == ["GLMClassifier", "0", "2"]


@parametrize_with_checks([GLMClassifier(), GLMRegressor()])  # no check needs an exemption
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
