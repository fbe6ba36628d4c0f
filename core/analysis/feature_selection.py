"""Feature-selection curves on a dataset's development rows (the curse itself: :mod:`core.analysis.dimensionality`).

:func:`feature_curve` answers "do more features help or hurt?": for ``k`` on a log-spaced grid
from 1 to all features, the cross-validated score of ``Pipeline(preprocess, select k, model)``
with the selection **fitted inside each fold** (on pure noise, selecting on all the rows first
makes noise look predictive; inside the folds it cannot). Selection works on the
*preprocessed* features, the columns the model actually sees (a categorical column is one
column per kept category after one-hot encoding), so ``k`` counts model inputs.

How it runs, and why it equals the explicit pipeline: each fold's preprocessing (imputation,
scaling, one-hot) is fitted on that fold's training rows, once. Each method then ranks the
fold's training columns once (joblib task per (method, fold)); a selector's ranking does not
depend on ``k`` (SelectKBest keeps the top-``k`` F scores; SelectFromModel with
``threshold=-inf, max_features=k`` keeps the top-``k`` importances of one fitted estimator), so
"the top ``k`` of that ranking" *is* what ``Pipeline(preprocess, selector(k), model)`` would keep.
The model is then fitted per (method, ``k``, fold) on those columns, streamed with
``return_as="generator_unordered"``; ``on_point`` fires when a (method, ``k``) point has all its
folds. Methods run one after the other, cheapest first, so the univariate curve is complete
before the forests of ``importance`` start. The folds are the ones runs use
(:func:`core.modeling.evaluation.make_splitter`).

Methods: ``univariate`` (F-test), ``l1`` (the order in which features enter an L1
regularisation path: the lasso path for regression, L1 logistic regression over a grid of
``C`` from the smallest useful one), ``importance`` (extremely randomised trees'
impurity importance) and ``rfe`` (recursive elimination with the linear model; skipped above
:data:`RFE_MAX_FEATURES` features, with a note, because it refits once per removal step).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.analysis.dimensionality import k_grid
from core.analysis.feature_tasks import FoldPool
from core.data.frames import load_split
from core.data.sampling import PIPELINE_COPIES, plan_sample
from core.errors import InputError
from core.numbers import finite_or_none, none_as_nan
from core.stopping import StopToken, check
from core.store import Store
from core.store.datasets import get_dataset
from core.types import DatasetInfo

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    # one fold, preprocessed: training X and y, validation X and y, the column names
    Prepared = tuple[NDArray[np.float64], NDArray[Any], NDArray[np.float64], NDArray[Any], list[str]]
    # one fold's ranking: column indices best first, and each column's normalised importance
    Ranking = tuple[NDArray[np.intp], NDArray[np.float64]]

__all__ = [
    "METHODS",
    "FeaturePoint",
    "FeatureChoice",
    "MethodCurve",
    "FeatureCurves",
    "FeatureProgress",
    "feature_curve",
    "curves_to_dict",
    "curves_from_dict",
    "point_to_dict",
    "point_from_dict",
]

METHODS: tuple[str, ...] = ("univariate", "l1", "importance", "rfe")
DEFAULT_METHODS: tuple[str, ...] = ("univariate", "l1", "importance")
RFE_MAX_FEATURES = 200  # RFE refits the model per elimination step: too slow on wider data


@dataclass(frozen=True)
class FeaturePoint:
    method: str
    k: int
    mean: float
    std: float  # sample standard deviation over folds
    n_folds: int
    scores: tuple[float, ...]


@dataclass(frozen=True)
class FeatureChoice:
    name: str
    frequency: float  # fraction of folds whose top-k (at best_k) contains the feature
    importance: float  # the method's own score, normalised to sum 1 per fold, mean over folds


@dataclass(frozen=True)
class MethodCurve:
    method: str
    points: tuple[FeaturePoint, ...]
    best_k: int | None
    one_se_k: int | None  # smallest k within one standard error of the best mean
    chosen: tuple[FeatureChoice, ...] = ()  # at best_k, most frequent first
    note: str | None = None  # why the method was skipped or failed


@dataclass(frozen=True)
class FeatureCurves:
    dataset: str
    task: str
    model: str
    metric: str
    greater_is_better: bool
    folds: int
    seed: int
    n_samples: int
    n_raw_features: int
    n_features: int  # after preprocessing: what k counts
    ks: tuple[int, ...]
    methods: tuple[MethodCurve, ...]
    elapsed_s: float
    notes: tuple[str, ...] = ()

    def method(self, name: str) -> MethodCurve:
        return next(m for m in self.methods if m.method == name)


@dataclass(frozen=True)
class FeatureProgress:
    """A (method, k) point whose folds have all finished."""

    method: str
    k: int
    done: int
    total: int
    point: FeaturePoint


# --------------------------------------------------------------------------- public API


def feature_curve(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    model: str = "linear",
    methods: Sequence[str] = DEFAULT_METHODS,
    ks: Sequence[int] | None = None,
    folds: int = 5,
    seed: int = 0,
    jobs: int = 1,
    on_point: Callable[[FeatureProgress], None] | None = None,
    stop: StopToken | None = None,
    cluster: str | None = None,
    sample: int | str | None = None,
    memory: int | None = None,
) -> FeatureCurves:
    """CV score against the number of selected features, per selection method (see the module doc).

    ``ks`` defaults to :func:`k_grid` over the preprocessed features; values outside 1..n_features
    are dropped. ``model``: a built-in's name, a run id or a spec (:mod:`core.analysis.feature_model`).
    ``on_point`` gets a :class:`FeatureProgress` each time a (method, k) point has all its folds;
    ``stop`` is checked after each point (see :mod:`core.stopping`). ``cluster``: a Dask scheduler's
    address to fit on (:mod:`core.analysis.feature_tasks`), connected before the first task.
    ``sample``, ``memory``: as a run's (:func:`core.data.sampling.plan_sample`): the curves of a
    dataset larger than the memory budget are drawn on a sample of its rows, said in a note.
    """
    import numpy as np

    from core.analysis.feature_model import feature_model
    from core.modeling.evaluation import build_pipeline, check_jobs, make_splitter, scoring
    from core.modeling.metrics import key_metrics

    check_jobs(jobs)
    start = time.perf_counter()
    methods = tuple(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(
            f"unknown feature-selection method {unknown[0] if unknown else ''!r}; choose from: {', '.join(METHODS)}"
        )
    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    if dataset.task == "ranking":  # its scorers look rows' queries up by index; these folds are arrays
        raise InputError(f"feature curves do not support ranking datasets yet ({dataset.name!r} is one)")
    # every fold's preprocessed rows are held while the curves are drawn, beside what a fit holds
    drawn = plan_sample(store, dataset, sample, folds, seed, memory=memory, copies=PIPELINE_COPIES + folds)
    X, y = load_split(store, dataset, "dev", drawn)
    baseline = feature_model(store, model, dataset.task, X, seed)  # a built-in, a run's model or a spec
    splitter = make_splitter(dataset.task, folds, 1, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            splits = list(splitter.split(X, y))
        except ValueError as e:
            raise InputError(f"cannot split {dataset.name!r} into {folds} folds: {e}") from e
    metric = key_metrics(dataset.task)[0]
    scorer_name = scoring(dataset.task)[metric.name]
    pipeline = build_pipeline(baseline, dataset, X, {}, seed)

    # Preprocessing fitted on each fold's training rows only.
    prepared: list[Prepared] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, val in splits:
            pre = _clone(pipeline.named_steps["preprocess"])
            Xtr = np.asarray(pre.fit_transform(X.iloc[train], y.iloc[train]), dtype=float)
            Xva = np.asarray(pre.transform(X.iloc[val]), dtype=float)
            prepared.append((Xtr, y.iloc[train].to_numpy(), Xva, y.iloc[val].to_numpy(), _names(pre, Xtr.shape[1])))
    widths = {p[0].shape[1] for p in prepared}
    n_features = min(widths)
    notes = [] if drawn is None else [drawn.note or drawn.describe()]
    if len(widths) > 1:
        notes.append(
            f"one-hot encoding gives {min(widths)}-{max(widths)} columns depending on the fold; "
            f"k goes up to {n_features}"
        )
    grid = tuple(sorted({int(k) for k in ks if 1 <= int(k) <= n_features})) if ks is not None else k_grid(n_features)
    if not grid:
        raise InputError(f"no valid k: the dataset has {n_features} features after preprocessing")

    curves: dict[str, MethodCurve] = {}
    active = []
    for m in methods:
        if m == "rfe" and n_features > RFE_MAX_FEATURES:
            curves[m] = MethodCurve(
                m,
                (),
                None,
                None,
                note=f"skipped: {n_features} features is more than the "
                f"{RFE_MAX_FEATURES} recursive elimination can afford",
            )
        else:
            active.append(m)

    # Method by method, cheapest first, so the first curve streams in while the costly rankings
    # (forests, L1 paths) have not started: rank once per fold, then fit per (k, fold), small k first.
    rankings: dict[tuple[str, int], Ranking] = {}
    points: dict[tuple[str, int], FeaturePoint] = {}
    total = len(active) * len(grid)
    errors: list[str] = []
    done_methods = []
    with FoldPool(prepared, jobs, cluster) as pool:
        for m in sorted(active, key=METHODS.index):
            common = {"method": m, "task": dataset.task, "seed": seed}
            rank_calls = [(i, {**common, "fold": i, "scaled": baseline.scaled}) for i in range(len(prepared))]
            failures: dict[int, str] = {}
            for _m, i, result in pool.map(_rank, rank_calls, _rank_lost):
                if isinstance(result, str):
                    failures[i] = result
                else:
                    rankings[(m, i)] = result
            if failures:
                curves[m] = MethodCurve(m, (), None, None, note=f"failed: {failures[min(failures)]}")
                total -= len(grid)
                continue
            score = {**common, "baseline": baseline, "scorer_name": scorer_name}
            fit_calls = [
                (i, {**score, "k": k, "fold": i, "columns": rankings[(m, i)][0][:k]})
                for k in grid
                for i in range(len(prepared))
            ]
            fold_scores: dict[int, dict[int, float]] = {k: {} for k in grid}
            for _m, k, i, score_k, error in pool.map(_score_k, fit_calls, _score_lost):
                if error:
                    errors.append(error)
                s = fold_scores[k]
                s[i] = score_k  # in the metric's own units (RMSE positive); _best handles the direction
                if len(s) == len(prepared):  # in fold order, however they finished
                    points[(m, k)] = p = _point(m, k, [s[f] for f in sorted(s)])
                    if on_point:
                        on_point(FeatureProgress(m, k, len(points), total, p))
                check(stop, "feature curves stopped")
            done_methods.append(m)
    if errors:
        notes.append(f"{len(errors)} fits failed, e.g. {errors[0]}")

    for m in done_methods:
        pts = tuple(points[(m, k)] for k in grid)
        best_k, one_se_k = _best(pts, metric.greater_is_better)
        chosen = _chosen(best_k, [rankings[(m, i)] for i in range(len(prepared))], prepared[0][4]) if best_k else ()
        curves[m] = MethodCurve(m, pts, best_k, one_se_k, chosen)
    return FeatureCurves(
        dataset=dataset.name,
        task=dataset.task,
        model=baseline.name,
        metric=metric.name,
        greater_is_better=metric.greater_is_better,
        folds=len(splits),
        seed=seed,
        n_samples=len(X),
        n_raw_features=X.shape[1],
        n_features=n_features,
        ks=grid,
        methods=tuple(curves[m] for m in methods),
        elapsed_s=time.perf_counter() - start,
        notes=tuple(notes),
    )


def point_to_dict(p: FeaturePoint) -> dict[str, Any]:
    """One (method, k) point, JSON-ready; the method is the key it is stored under."""
    return {
        "k": p.k,
        "mean": finite_or_none(p.mean),
        "std": finite_or_none(p.std),
        "n_folds": p.n_folds,
        "scores": [finite_or_none(s) for s in p.scores],
    }


def point_from_dict(method: str, d: dict[str, Any]) -> FeaturePoint:
    """The point :func:`point_to_dict` wrote."""
    return FeaturePoint(
        method,
        d["k"],
        none_as_nan(d["mean"]),
        none_as_nan(d["std"]),
        d["n_folds"],
        tuple(none_as_nan(s) for s in d["scores"]),
    )


def curves_to_dict(c: FeatureCurves) -> dict[str, Any]:
    """JSON-ready: best_k / one_se_k and the points per method, chosen features, run facts."""
    return {
        "dataset": c.dataset,
        "task": c.task,
        "model": c.model,
        "metric": c.metric,
        "greater_is_better": c.greater_is_better,
        "folds": c.folds,
        "seed": c.seed,
        "n_samples": c.n_samples,
        "n_raw_features": c.n_raw_features,
        "n_features": c.n_features,
        "ks": list(c.ks),
        "elapsed_s": round(c.elapsed_s, 3),
        "notes": list(c.notes),
        "methods": {
            m.method: {
                "best_k": m.best_k,
                "one_se_k": m.one_se_k,
                "note": m.note,
                "points": [point_to_dict(p) for p in m.points],
                "chosen": [
                    {"name": f.name, "frequency": f.frequency, "importance": finite_or_none(f.importance)}
                    for f in m.chosen
                ],
            }
            for m in c.methods
        },
    }


def curves_from_dict(d: dict[str, Any]) -> FeatureCurves:
    """The curves :func:`curves_to_dict` wrote (a child process sends them to the app this way)."""
    methods = tuple(
        MethodCurve(
            name,
            tuple(point_from_dict(name, p) for p in m["points"]),
            m["best_k"],
            m["one_se_k"],
            tuple(FeatureChoice(f["name"], f["frequency"], none_as_nan(f["importance"])) for f in m["chosen"]),
            m["note"],
        )
        for name, m in d["methods"].items()
    )
    return FeatureCurves(
        dataset=d["dataset"],
        task=d["task"],
        model=d["model"],
        metric=d["metric"],
        greater_is_better=d["greater_is_better"],
        folds=d["folds"],
        seed=d["seed"],
        n_samples=d["n_samples"],
        n_raw_features=d["n_raw_features"],
        n_features=d["n_features"],
        ks=tuple(d["ks"]),
        methods=methods,
        elapsed_s=d["elapsed_s"],
        notes=tuple(d["notes"]),
    )


# --------------------------------------------------------------------------- workers


def _clone(est: Any) -> Any:
    from sklearn.base import clone

    return clone(est)


def _names(pre: Any, width: int) -> list[str]:
    import re

    try:
        names = [re.sub(r"^(?:num|cat)__", "", str(n)) for n in pre.get_feature_names_out()]
    except Exception:
        names = []
    return names if len(names) == width else [f"feature {i}" for i in range(width)]


def _rank(
    prepared: Prepared, method: str, fold: int, task: str, scaled: bool, seed: int
) -> tuple[str, int, Ranking | str]:
    """(method, fold, (order best first, normalised importance)) or (method, fold, error text)."""
    import numpy as np

    Xtr, ytr = prepared[0], prepared[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            score, importance = _method_scores(method, Xtr, ytr, task, scaled, seed)
        except Exception as e:
            return method, fold, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    score = np.nan_to_num(np.asarray(score, dtype=float), nan=np.finfo(float).min)
    # SelectKBest / SelectFromModel keep the last k of a stable ascending sort: the same order here.
    order = np.argsort(score, kind="mergesort")[::-1]
    weight = np.clip(np.nan_to_num(np.asarray(importance, dtype=float)), 0, None)
    weight = weight / weight.sum() if weight.sum() > 0 else np.zeros_like(weight)
    return method, fold, (order, weight)


def _method_scores(method: str, X: Any, y: Any, task: str, scaled: bool, seed: int) -> tuple[Any, Any]:
    """(ranking score, higher is better; importance to display, >= 0), one value per column each."""

    regression = task == "regression"
    if method == "univariate":
        from sklearn.feature_selection import f_classif, f_regression

        f = (f_regression if regression else f_classif)(X, y)[0]
        return f, f
    if method == "importance":
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        cls = ExtraTreesRegressor if regression else ExtraTreesClassifier
        imp = cls(n_estimators=200, max_features="sqrt", random_state=seed).fit(X, y).feature_importances_
        return imp, imp
    Xs = X if scaled else _standardise(X)
    if method == "l1":
        return _l1_entry(Xs, y, regression, seed)
    if method == "rfe":
        from sklearn.feature_selection import RFE
        from sklearn.linear_model import LogisticRegression, Ridge

        est = Ridge() if regression else LogisticRegression(max_iter=1000)
        step = 1 if X.shape[1] <= 50 else 0.05
        ranking = RFE(est, n_features_to_select=1, step=step).fit(Xs, y).ranking_.astype(float)
        return -ranking, 1.0 / ranking  # rank 1 is the last feature standing
    raise ValueError(f"unknown method {method!r}")


def _standardise(X: Any) -> Any:
    import numpy as np

    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _l1_entry(X: Any, y: Any, regression: bool, seed: int = 0) -> tuple[Any, Any]:
    """Score = how early a feature enters the L1 path (strongest regularisation first); ties by |coef|."""
    import numpy as np

    p = X.shape[1]
    entry = np.full(p, np.inf)
    if regression:
        from sklearn.linear_model import lars_path

        yc = y - y.mean()
        alphas, _, coefs = lars_path(X, yc, method="lasso", max_iter=min(500, 4 * p))
        for j in range(p):
            nz = np.flatnonzero(coefs[j] != 0)
            if len(nz):
                entry[j] = nz[0]
        final = np.abs(coefs[:, -1])
    else:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import l1_min_c

        classes = np.unique(y)
        # liblinear is binary: a multiclass path is one-vs-rest, a feature enters with its first class.
        targets = [y] if len(classes) == 2 else [(y == c).astype(int) for c in classes]
        final = np.zeros(p)
        for yy in targets:
            cs = l1_min_c(X, yy, loss="log") * np.logspace(0, 4, 24)
            seen = np.full(p, np.inf)
            for step, c in enumerate(cs):
                m = LogisticRegression(
                    l1_ratio=1.0,
                    solver="liblinear",
                    C=float(c),
                    max_iter=500,
                    intercept_scaling=10.0,
                    random_state=seed,
                ).fit(X, yy)
                active = np.abs(m.coef_).sum(axis=0)
                seen[(active > 0) & np.isinf(seen)] = step
                if np.isfinite(seen).all():
                    break
            entry = np.minimum(entry, seen)
            final = final + active
    # Earlier entry is better; among features entering together (or never), the larger final |coef|.
    rank_entry = np.where(np.isinf(entry), len(entry) + 1e6, entry)
    scale = final.max() if final.max() > 0 else 1.0
    return -rank_entry + 0.5 * final / scale, final


def _rank_lost(message: str, method: str, fold: int, **_: Any) -> tuple[str, int, str]:
    return method, fold, message


def _score_k(
    prepared: Prepared,
    method: str,
    k: int,
    fold: int,
    columns: Any,
    baseline: Any,
    task: str,
    scorer_name: str,
    seed: int,
) -> tuple[str, int, int, float, str | None]:
    """(method, k, fold, score, error): the model fitted on the fold's top-k training columns."""
    from sklearn.metrics import get_scorer

    Xtr, ytr, Xva, yva, _ = prepared
    cols = sorted(int(c) for c in columns)  # the selectors keep columns in their original order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = baseline.estimator(task, {}, seed).fit(Xtr[:, cols], ytr)
            score = float(get_scorer(scorer_name)(est, Xva[:, cols], yva))
        except Exception as e:
            return method, k, fold, float("nan"), f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if scorer_name.startswith("neg_"):
        score = -score
    return method, k, fold, score, None


def _score_lost(message: str, method: str, k: int, fold: int, **_: Any) -> tuple[str, int, int, float, str]:
    return method, k, fold, float("nan"), message


def _point(method: str, k: int, scores: list[float]) -> FeaturePoint:
    import numpy as np

    a = np.asarray(scores, dtype=float)
    ok = a[~np.isnan(a)]
    mean = float(ok.mean()) if len(ok) else float("nan")
    std = float(ok.std(ddof=1)) if len(ok) > 1 else float("nan")
    return FeaturePoint(method, k, mean, std, len(ok), tuple(float(s) for s in scores))


def _best(points: tuple[FeaturePoint, ...], greater_is_better: bool) -> tuple[int | None, int | None]:
    """The peak (smallest k among ties) and the smallest k within one standard error of it."""
    valid = [p for p in points if not math.isnan(p.mean)]
    if not valid:
        return None, None
    sign = 1 if greater_is_better else -1
    best = max(valid, key=lambda p: (sign * p.mean, -p.k))
    se = best.std / math.sqrt(best.n_folds) if best.n_folds > 1 and not math.isnan(best.std) else 0.0
    within = [p for p in valid if sign * p.mean >= sign * best.mean - se]
    return best.k, min(p.k for p in within)


def _chosen(k: int, rankings: list[Ranking], names: list[str]) -> tuple[FeatureChoice, ...]:
    import numpy as np

    p = len(names)
    count = np.zeros(p)
    weight = np.zeros(p)
    for order, w in rankings:
        top = order[:k]
        count[top[top < p]] += 1
        weight[: min(p, len(w))] += w[:p]
    freq = count / len(rankings)
    importance = weight / len(rankings)
    picked = [j for j in np.lexsort((-importance, -freq)) if freq[j] > 0]
    return tuple(FeatureChoice(names[j], float(freq[j]), float(importance[j])) for j in picked)
