"""Two things some libraries' estimators do unlike scikit-learn's, adapted for model specs.

**Class labels.** A classification dataset's labels are strings (:func:`core.data.frames.load_split`),
and XGBoost's classifiers refuse any ``y`` but the integers ``0 .. k-1``. :class:`LabelCoded` fits
its estimator on the ``LabelEncoder`` codes of the training labels and answers in the labels:
``classes_`` and ``predict`` are the dataset's own and ``predict_proba``'s columns follow
``classes_``, so stored fold predictions, confusion matrices and every score are what scikit-learn
gives for the same folds on a LabelEncoder'd ``y`` (LabelEncoder sorts the labels, the order
``classes_`` has everywhere). Only the classifiers that need it are wrapped: scikit-learn's and
LightGBM's encode labels themselves, and a spec's ``class_weight={"Adelie": 2.0}``, keyed by label,
must reach them with its keys. The wrapper is transparent to parameters: ``get_params``,
``set_params`` and ``repr`` are the estimator's own, so ``--param``, ``tune``, curves and a run's
stored ``get_params()`` name them as without it.

**Threads.** A worker caps its native thread pools with threadpoolctl
(:mod:`core.modeling.executors`); OpenMP code that asks ``omp_get_max_threads()`` (XGBoost's, with
``n_jobs=None``) stays inside the cap. LightGBM's ``n_jobs=None`` instead means "every physical core",
passed to its OpenMP loops as an explicit count that no cap lowers; its own ``n_jobs=0`` means
OpenMP's default, which the cap governs, so a LightGBM estimator left at ``None`` gets ``0``.

Built-in models never pass through here. This module imports scikit-learn: import it where a model
spec is built, not at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.utils.metaestimators import available_if

from core.types import Task

# Top-level packages whose classifiers take only the labels 0 .. k-1.
CODED_LABEL_PACKAGES = frozenset({"xgboost"})
# Top-level packages whose n_jobs=None is an explicit thread count past the cap, and the n_jobs that is not.
CAPPED_N_JOBS = {"lightgbm": 0}


def adapt(estimator: Any, task: Task) -> Any:
    """``estimator`` (a spec's, fresh, its parameters set) as mlloop runs it: in a :class:`LabelCoded`
    when it is, or a Pipeline ends in, a classifier of :data:`CODED_LABEL_PACKAGES` on a classification
    task; its final step's ``n_jobs=None`` replaced for a package of :data:`CAPPED_N_JOBS`."""
    final = estimator
    while hasattr(final, "steps"):
        final = final.steps[-1][1]
    package = type(final).__module__.split(".")[0]
    if package in CAPPED_N_JOBS and final.get_params(deep=False).get("n_jobs", 0) is None:
        final.set_params(n_jobs=CAPPED_N_JOBS[package])
    if task in ("binary", "multiclass") and package in CODED_LABEL_PACKAGES and is_classifier(final):
        return LabelCoded(estimator)
    return estimator


def _estimator_has(method: str) -> Callable[[Any], bool]:
    return lambda self: hasattr(self.estimator, method)


class LabelCoded(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn's base classes are Any
    """``estimator`` fitted on label codes; ``classes_``, ``predict`` and probabilities in the labels."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return dict(self.estimator.get_params(deep=deep))

    def set_params(self, **params: Any) -> LabelCoded:
        self.estimator.set_params(**params)
        return self

    def __sklearn_clone__(self) -> LabelCoded:
        return LabelCoded(clone(self.estimator))

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return repr(self.estimator)

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelCoded:
        from sklearn.preprocessing import LabelEncoder  # here: importing sklearn.preprocessing loads rich

        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y), **fit_params)
        return self

    def predict(self, X: Any) -> Any:
        return self.classes_[np.asarray(self.estimator_.predict(X)).astype(np.intp)]

    @available_if(_estimator_has("predict_proba"))  # type: ignore[untyped-decorator]  # scikit-learn is untyped
    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))  # type: ignore[untyped-decorator]  # scikit-learn is untyped
    def predict_log_proba(self, X: Any) -> Any:
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))  # type: ignore[untyped-decorator]  # scikit-learn is untyped
    def decision_function(self, X: Any) -> Any:
        return self.estimator_.decision_function(X)
