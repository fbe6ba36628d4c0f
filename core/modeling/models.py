"""The baseline registry: model name -> a scikit-learn pipeline, and its complexity knob.

Every baseline is a ``Pipeline(preprocess, estimator)``, so imputation, one-hot encoding and
scaling are fitted inside each cross-validation fold and never see validation rows.
scikit-learn is imported inside the factories: listing the registry stays instant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.types import Task

# One-hot: categories seen fewer than this many times in a fold's training rows share one
# "infrequent" column, and categories unseen in training map there too.
MIN_CATEGORY_COUNT = 5
MAX_CATEGORIES = 30


@dataclass(frozen=True)
class Baseline:
    """One model family: how to build it and which parameter trades bias for variance."""

    name: str
    description: str
    scaled: bool  # standardise numeric features (linear models and GLMs need it)
    drop_first: bool  # drop one dummy per categorical (an unpenalised GLM needs it)
    knob: str | None  # the complexity parameter, for validation curves
    knob_values: tuple[Any, ...]  # ordered from the simplest model to the most complex
    factory: Callable[[Task, dict[str, Any], int], Any]
    # When the regression estimator's knob differs (Ridge's alpha vs LogisticRegression's C).
    regression_knob: tuple[str, tuple[Any, ...]] | None = None
    spec: str | None = None  # a model spec's text (core.modeling.specs); None for a built-in
    raw: bool = False  # the estimator takes the raw feature columns: no preprocessing step

    def estimator(self, task: Task, params: dict[str, Any] | None = None, seed: int = 0) -> Any:
        """The estimator with ``params``; a parameter it does not have is an ``InputError``, not a TypeError.

        Ranking gets the regressor: a pointwise model of the relevance, whose prediction ranks a query's rows.
        """
        if task == "ranking":
            if self.name == "glm":
                raise InputError("glm does not rank: use dummy, linear, tree, forest or boosting for a ranking dataset")
            task = "regression"
        params = dict(params or {})
        if params:
            valid = self.factory(task, {}, seed).get_params()  # deep: a spec's Pipeline has step__param
            unknown = sorted(set(params) - set(valid))
            if unknown:
                raise InputError(
                    f"unknown parameter {', '.join(unknown)} for {self.name}; valid: {', '.join(sorted(valid))}"
                )
        return self.factory(task, params, seed)

    def knob_for(self, task: Task) -> tuple[str | None, tuple[Any, ...]]:
        """The complexity knob for this task and its values, simplest model first."""
        if task in ("regression", "ranking") and self.regression_knob is not None:
            return self.regression_knob
        return self.knob, self.knob_values


def _dummy(task: Task, params: dict[str, Any], seed: int) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if task == "regression":
        return DummyRegressor(**{"strategy": "mean", **params})
    return DummyClassifier(**{"strategy": "prior", **params})


def _glm(task: Task, params: dict[str, Any], seed: int) -> Any:
    from core.modeling.glm import GLMClassifier, GLMRegressor

    return (GLMRegressor if task == "regression" else GLMClassifier)(**params)


def _linear(task: Task, params: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "regression":
        return Ridge(**{"alpha": 1.0, **params})
    return LogisticRegression(**{"C": 1.0, "max_iter": 1000, **params})


def _tree(task: Task, params: dict[str, Any], seed: int) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    return cls(**{"random_state": seed, **params})


def _forest(task: Task, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
    return cls(**{"n_estimators": 100, "random_state": seed, **params})


def _boosting(task: Task, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return cls(**{"random_state": seed, **params})


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline("dummy", "predicts the majority class / the mean", False, False, None, (), _dummy),
        Baseline(
            "glm",
            "statsmodels GLM (logit, multinomial or Gaussian)",
            True,
            True,
            "alpha",
            (10.0, 1.0, 0.1, 0.01, 0.001, 0.0),
            _glm,
        ),
        Baseline(
            "linear",
            "LogisticRegression / Ridge",
            True,
            False,
            "C",
            (0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
            _linear,
            regression_knob=("alpha", (1000.0, 100.0, 10.0, 1.0, 0.1, 0.01)),
        ),
        Baseline("tree", "decision tree", False, False, "max_depth", (1, 2, 3, 5, 8, 12, None), _tree),
        Baseline("forest", "random forest", False, False, "min_samples_leaf", (50, 20, 10, 5, 2, 1), _forest),
        Baseline(
            "boosting", "histogram gradient boosting", False, False, "max_leaf_nodes", (2, 4, 8, 16, 31, 63), _boosting
        ),
    )
}


def resolve_models(names: str | Sequence[str], task: Task | None = None) -> list[Baseline]:
    """``"all"``, ``"glm,tree"`` or a list of names -> baselines, in registry order for "all" (without
    the GLM for a ranking ``task``: it does not rank)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise InputError(f"no model given; choose from: all, {', '.join(BASELINES)}")
    if "all" in names:
        return [b for b in BASELINES.values() if not (task == "ranking" and b.name == "glm")]
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise InputError(f"unknown model {unknown[0]!r}; choose from: all, {', '.join(BASELINES)}")
    return [BASELINES[n] for n in dict.fromkeys(names)]


def make_pipeline(
    baseline: Baseline,
    task: Task,
    numeric: Sequence[str],
    categorical: Sequence[str],
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> Any:
    """The full pipeline for one baseline: preprocessing fitted per fold, then the model (alone
    for a ``raw`` model spec, which gets the feature columns as they are).

    ``params`` are the estimator's own parameters (no ``model__`` prefix).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if baseline.raw:
        return Pipeline([("model", baseline.estimator(task, params, seed))])

    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if baseline.scaled:
        numeric_steps.append(("scale", StandardScaler()))
    onehot = OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        min_frequency=MIN_CATEGORY_COUNT,
        max_categories=MAX_CATEGORIES,
        drop="first" if baseline.drop_first else None,
        sparse_output=False,
    )
    categorical_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True)),
        ("onehot", onehot),
    ]
    transformers = []
    if numeric:
        transformers.append(("num", Pipeline(numeric_steps), list(numeric)))
    if categorical:
        transformers.append(("cat", Pipeline(categorical_steps), list(categorical)))
    preprocess = ColumnTransformer(transformers, remainder="drop")
    if baseline.name == "glm":
        # The GLM names its coefficients after the columns it sees ("num__age", "cat__sex_male").
        preprocess.set_output(transform="pandas")
    return Pipeline([("preprocess", preprocess), ("model", baseline.estimator(task, params, seed))])
