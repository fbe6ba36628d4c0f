"""statsmodels GLMs as scikit-learn estimators: ``GLMClassifier`` and ``GLMRegressor``.

Why: statsmodels gives the inference a baseline report wants (standard errors, p-values,
deviance, AIC); scikit-learn gives pipelines and cross-validation. Each estimator fits with
statsmodels (a binomial logit, a multinomial logit or a Gaussian GLM), then keeps only numbers:
the coefficients, from which numpy computes predictions (fast inside cross-validation), and a
``core.types.GlmSummary``. No statsmodels object outlives ``fit``.

Hard cases are reported, not raised or printed: a singular design (its aliased columns are
left out of the fit and reported), separation, non-convergence and statsmodels' own warnings
become one-line strings in ``fit_warnings_`` (also ``summary_.warnings``).

statsmodels is imported inside ``fit``; this module itself is only imported when a GLM
pipeline is built (``core.modeling.models``), so neither library slows the CLI's start.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import replace
from numbers import Integral, Real
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval

from core.data.messages import listed
from core.text import error_line, first_line
from core.types import GlmCoefficient, GlmSummary

# A column whose part orthogonal to the columns before it is below this fraction of its norm
# is aliased (a combination of them, or constant): it is not estimated.
COLLINEAR_TOL = 1e-7
# An observation fitted with probability this close to 1 points at separation (runaway coefficients).
SEPARATION_EPS = 1e-10
# The L2 penalty of the fallback fit when the unpenalised one fails outright.
RESCUE_ALPHA = 1e-6
Z_95 = 1.959963984540054


class _GLM(BaseEstimator):  # type: ignore[misc]  # scikit-learn has no types: its base classes are Any
    """What both estimators share: the parameters, the fit and the linear predictor."""

    coef_: NDArray[np.float64]  # set by fit, as are intercept_, summary_ and fit_warnings_
    intercept_: NDArray[np.float64] | float

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "maxiter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, alpha: float = 0.0, maxiter: int = 100):
        self.alpha = alpha
        self.maxiter = maxiter

    def _fit_coefficients(
        self, X: NDArray[np.float64], y: NDArray[Any], family: str, classes: tuple[str, ...] = ()
    ) -> NDArray[np.float64]:
        """Fit, set ``summary_`` and ``fit_warnings_``; return (1 + n_features, n_outputs) coefficients."""
        names = getattr(self, "feature_names_in_", None)
        terms = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(X.shape[1])]
        beta, self.summary_ = _fit(X, y, family, terms, float(self.alpha), int(self.maxiter), classes)
        self.fit_warnings_ = self.summary_.warnings
        return beta

    def _linear_predictor(self, X: Any) -> NDArray[np.float64]:
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        checked: NDArray[np.float64] = validate_data(self, X, reset=False, dtype=np.float64)
        return checked @ self.coef_.T + self.intercept_


class GLMClassifier(ClassifierMixin, _GLM):  # type: ignore[misc]  # scikit-learn has no types
    """Logistic regression fitted by statsmodels: a binomial GLM (logit link) for two classes,
    a multinomial logit (``MNLogit``) against the first class for more.

    Parameters: ``alpha`` > 0 adds the L2 penalty ``alpha / 2 * |slopes|^2`` to the mean
    negative log-likelihood (the intercept is not penalised; standard errors are then not
    available); ``maxiter`` bounds the solver's iterations.

    Attributes: ``classes_``; ``coef_``, (1, n_features) for two classes, else
    (n_classes, n_features) with zeros for the reference class; ``intercept_``;
    ``n_features_in_``; ``feature_names_in_`` (DataFrame input only); ``summary_``, a
    ``core.types.GlmSummary``; ``fit_warnings_``, a tuple of one-line strings.
    """

    classes_: NDArray[Any]  # the labels, sorted

    def fit(self, X: Any, y: Any) -> Self:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        self._validate_params()
        _check_has_columns(X)
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"GLMClassifier needs samples of at least 2 classes; got only one class: {self.classes_[0]!r}"
            )
        if len(self.classes_) == 2:
            beta = self._fit_coefficients(X, codes.astype(float), "binomial")
            self.intercept_, self.coef_ = beta[0], beta[1:].T
        else:
            beta = self._fit_coefficients(X, codes, "multinomial", tuple(str(c) for c in self.classes_))
            self.intercept_ = np.r_[0.0, beta[0]]
            self.coef_ = np.vstack([np.zeros(X.shape[1]), beta[1:].T])
        return self

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Log-odds of ``classes_[1]`` (two classes) or of each class against the reference."""
        scores = self._linear_predictor(X)
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        scores = self._linear_predictor(X)
        if len(self.classes_) == 2:
            scores = np.column_stack([np.zeros(len(scores)), scores])
        return _softmax(scores)

    def predict(self, X: Any) -> NDArray[Any]:
        proba = self.predict_proba(X)
        labels: NDArray[Any] = self.classes_[np.argmax(proba, axis=1)]
        return labels


class GLMRegressor(RegressorMixin, _GLM):  # type: ignore[misc]  # scikit-learn has no types
    """Linear regression fitted by statsmodels: a Gaussian GLM with the identity link.

    Parameters: ``alpha`` > 0 makes it ridge regression, the same fit as scikit-learn's
    ``Ridge(alpha=alpha * n_samples)`` (standard errors are then not available); ``maxiter``
    bounds the solver's iterations.

    Attributes: ``coef_`` (n_features,), ``intercept_``, ``n_features_in_``,
    ``feature_names_in_`` (DataFrame input only), ``summary_`` and ``fit_warnings_``.
    """

    def fit(self, X: Any, y: Any) -> Self:
        from sklearn.utils.validation import validate_data

        self._validate_params()
        _check_has_columns(X)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, ensure_min_samples=2)
        beta = self._fit_coefficients(X, y, "gaussian")[:, 0]
        self.intercept_, self.coef_ = float(beta[0]), beta[1:]
        return self

    def predict(self, X: Any) -> NDArray[np.float64]:
        return self._linear_predictor(X)


def _check_has_columns(X: Any) -> None:
    """Say why there is nothing to fit when no column is left: scikit-learn's own check fails on a
    table without columns with "at least one array or dtype is required"."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 0:
        raise ValueError(
            "no feature left to fit: every feature column is empty or holds a single value (a GLM codes a "
            "text column's categories against its first, so one category leaves no column); found 0 "
            f"feature(s) (shape=({shape[0]}, 0)) while a minimum of 1 is required."
        )


def _fit(
    X: NDArray[np.float64],
    y: NDArray[Any],
    family: str,
    terms: list[str],
    alpha: float,
    maxiter: int,
    classes: tuple[str, ...] = (),
) -> tuple[NDArray[np.float64], GlmSummary]:
    """Fit ``family`` with an intercept; return (1 + n_features, n_outputs) coefficients
    (aliased terms 0) and the summary. ``classes`` names a multinomial's classes, reference first."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    multinomial = family == "multinomial"
    design = np.column_stack([np.ones(len(X)), X])
    names = ["Intercept", *terms]
    keep = _independent_columns(design)
    aliased = [j for j in range(len(names)) if j not in keep]
    notes = []
    if aliased:
        notes.append(
            f"singular design: rank {len(keep)} of {len(names)} columns; "
            f"collinear terms not estimated: {listed([names[j] for j in aliased])}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params, bse, converged, stats = _estimate(design[:, keep], y, family, alpha, maxiter, notes)
    # statsmodels' ConvergenceWarning says "check mle_retvals", which callers never see: restate it.
    converged = converged and not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    if not converged:
        notes.append(f"did not converge within maxiter={maxiter} iterations")

    shape = (len(names), params.shape[1])
    beta, stderr = np.zeros(shape), np.full(shape, np.nan)
    beta[keep], stderr[keep] = params, bse
    if family != "gaussian":
        proba = _softmax(np.column_stack([np.zeros(len(y)), design @ beta]))
        n_perfect = int(np.sum(proba[np.arange(len(y)), y.astype(int)] > 1 - SEPARATION_EPS))
        if n_perfect:
            notes.append(
                f"possible separation: {n_perfect} of {len(y)} observations are fitted with "
                "probability numerically 1; coefficients and standard errors are unreliable"
            )
    notes += [
        f"{w.category.__name__}: {first_line(w.message)[:200]}"
        for w in caught
        if not issubclass(w.category, ConvergenceWarning)
    ]
    table = beta.copy()
    table[aliased] = np.nan  # not estimated; predictions use 0
    summary = GlmSummary(
        family=f"multinomial (reference: {classes[0]})" if multinomial else family,
        link="identity" if family == "gaussian" else "logit",
        n_obs=len(y),
        converged=converged,
        warnings=tuple(dict.fromkeys(notes)),
        coefficients=_coefficients(names, table, stderr, classes[1:] if multinomial else ("",)),
        **stats,
    )
    return beta, summary


def _estimate(
    design: NDArray[np.float64], y: NDArray[Any], family: str, alpha: float, maxiter: int, notes: list[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool, dict[str, float]]:
    """statsmodels' fit on a full-rank design: (n_columns, n_outputs) coefficients and standard
    errors, whether it converged, and the fit statistics. Appends to ``notes`` what it must say.

    statsmodels computes its statistics lazily, so the caller's warning capture must cover
    this whole function.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    multinomial, k = family == "multinomial", design.shape[1]
    if multinomial:
        model = sm.MNLogit(y, design)
    else:
        sm_family = sm.families.Binomial() if family == "binomial" else sm.families.Gaussian()
        model = sm.GLM(y, design, family=sm_family)
    penalty = alpha
    if alpha == 0:
        try:
            res = model.fit(maxiter=maxiter, disp=False)
            failure = "" if np.isfinite(res.params).all() else "non-finite coefficients"
        except (np.linalg.LinAlgError, PerfectSeparationError) as e:  # older statsmodels raise on separation
            failure = error_line(e, 200)
        if failure:
            notes.append(
                f"unpenalised fit failed ({failure}); refitted with a small L2 penalty (alpha={RESCUE_ALPHA:g})"
            )
            penalty = RESCUE_ALPHA
        else:
            # MNLogit's params are (n_columns, n_classes - 1); a GLM's are a vector
            params, bse, converged = res.params.reshape(k, -1), res.bse.reshape(k, -1), res.converged
    if penalty > 0:
        params, converged = _ridge(design, y, family, penalty, maxiter)
        bse = np.full_like(params, np.nan)
        notes.append("L2-penalised fit: standard errors, p-values, confidence intervals and AIC are not available")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # maxiter=0 only evaluates the given params
            res = model.fit(start_params=params.ravel(order="F"), maxiter=0, disp=False)
    stats = {
        "df_model": float(model.df_model),
        "df_resid": float(model.df_resid),
        "deviance": -2 * float(res.llf) if multinomial else float(res.deviance),
        "null_deviance": -2 * float(res.llnull) if multinomial else float(res.null_deviance),
        "aic": float(res.aic) if penalty == 0 else math.nan,
        "llf": float(res.llf),
    }
    return params, bse, bool(converged), stats


def _coefficients(
    names: list[str], beta: NDArray[np.float64], stderr: NDArray[np.float64], labels: tuple[str, ...]
) -> tuple[GlmCoefficient, ...]:
    """The coefficient table, one row per (output, term); Wald z, p and 95% interval."""
    from scipy.stats import norm

    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / stderr
    p = 2 * norm.sf(np.abs(z))
    low, high = beta - Z_95 * stderr, beta + Z_95 * stderr
    return tuple(
        GlmCoefficient(
            term,
            float(beta[j, col]),
            float(stderr[j, col]),
            float(z[j, col]),
            float(p[j, col]),
            float(low[j, col]),
            float(high[j, col]),
            label,
        )
        for col, label in enumerate(labels)
        for j, term in enumerate(names)
    )


def _independent_columns(design: NDArray[np.float64]) -> list[int]:
    """Indices of the columns kept, greedily in order: a column is dropped when it is
    (numerically) a combination of the columns kept before it, or constant with the intercept."""
    basis = np.empty_like(design)  # orthonormal columns spanning the kept ones
    keep: list[int] = []
    for j, column in enumerate(design.T):
        q = basis[:, : len(keep)]
        residual = column - q @ (q.T @ column)
        residual -= q @ (q.T @ residual)  # a second pass keeps Gram-Schmidt accurate
        norm = np.linalg.norm(residual)
        if norm > COLLINEAR_TOL * np.linalg.norm(column):
            basis[:, len(keep)] = residual / norm
            keep.append(j)
    return keep


def _ridge(
    design: NDArray[np.float64], y: NDArray[Any], family: str, alpha: float, maxiter: int
) -> tuple[NDArray[np.float64], bool]:
    """Minimise the mean negative log-likelihood + alpha / 2 * |slopes|^2 (intercept unpenalised).

    Written in numpy rather than with statsmodels: its L2 fit covers GLMs only and lets a
    Gaussian's scale float, and its Hessians turn NaN once probabilities reach 0 or 1, which is
    exactly when a penalty is needed. Returns (n_columns, n_outputs) coefficients and whether
    the optimiser converged.
    """
    n: int = design.shape[0]
    k: int = design.shape[1]
    penalty: NDArray[np.float64] = np.r_[0.0, np.full(k - 1, alpha)]
    if family == "gaussian":  # scale fixed at 1: ridge regression, in closed form
        return np.linalg.solve(design.T @ design / n + np.diag(penalty), design.T @ y / n)[:, None], True
    from scipy.optimize import minimize

    y = y.astype(int)
    others: NDArray[np.float64] = np.eye(int(y.max()) + 1)[y][:, 1:]  # one-hot, without the reference class
    m = others.shape[1]
    penalty = np.tile(penalty, m)  # coefficients flattened output by output

    def probabilities(b: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        scores = np.column_stack([np.zeros(n), design @ b.reshape(k, m, order="F")])
        scores -= scores.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scores).sum(axis=1))
        return scores - log_norm[:, None], np.exp(scores[:, 1:] - log_norm[:, None])

    def loss(b: NDArray[np.float64]) -> float:
        log_p, _ = probabilities(b)
        return float(-log_p[np.arange(n), y].mean() + penalty @ b**2 / 2)

    def gradient(b: NDArray[np.float64]) -> NDArray[np.float64]:
        _, p = probabilities(b)
        return (design.T @ (p - others) / n).ravel(order="F") + penalty * b

    def hessian(b: NDArray[np.float64]) -> NDArray[np.float64]:
        _, p = probabilities(b)
        blocks = [
            [design.T @ (design * (p[:, a] * ((a == c) - p[:, c]))[:, None]) / n for c in range(m)] for a in range(m)
        ]
        return np.block(blocks) + np.diag(penalty)

    result = minimize(
        loss, np.zeros(k * m), jac=gradient, hess=hessian, method="trust-exact", options={"maxiter": maxiter}
    )
    return result.x.reshape(k, m, order="F"), bool(result.success)


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row-wise softmax, without overflow: log-odds -> class probabilities."""
    exp: NDArray[np.float64] = np.exp(scores - scores.max(axis=1, keepdims=True))
    row_sums: NDArray[np.float64] = exp.sum(axis=1, keepdims=True)
    return exp / row_sums


_TRANSFORMER_PREFIX = re.compile(r"\b(?:num|cat)__")


def readable_terms(summary: GlmSummary) -> GlmSummary:
    """A pipeline's GLM summary without the ColumnTransformer's ``num__`` / ``cat__`` prefixes in its
    terms and warnings (:func:`core.modeling.models.make_pipeline` names its two parts so)."""

    def strip(text: str) -> str:
        return _TRANSFORMER_PREFIX.sub("", text)

    return replace(
        summary,
        coefficients=tuple(replace(c, term=strip(c.term)) for c in summary.coefficients),
        warnings=tuple(strip(w) for w in summary.warnings),
    )
