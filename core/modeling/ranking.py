"""Ranking: folds by query and the per-query metrics (NDCG@5, NDCG@10, NDCG, MRR).

A ranking dataset's rows belong to groups (queries, :mod:`core.data.ranking`); a model scores
each row (a pointwise regressor on the relevance) and a query's rows are ranked by that score.
Folds are ``GroupKFold(shuffle=True)``: a query is never split between training and validation
rows. Nothing is stratified. Each metric is the mean over the scored rows' queries of the
query's own value; a query whose rows all have one relevance level (a single row, or no
relevant row) says nothing about an order: it is left out of every metric and counted in a
warning. Ties in the scores are averaged over their orders, as ``sklearn.metrics.ndcg_score``
does (a constant score gets a random order's NDCG, never the file's order), and MRR is the
expected reciprocal rank of the first relevant row (relevance > 0) under a random tie order.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from math import comb
from typing import Any

from core.errors import InputError

NDCG_CUTOFFS = {"ndcg_5": 5, "ndcg_10": 10, "ndcg": None}


class GroupFolds:
    """``repeats`` x ``GroupKFold(folds, shuffle=True, random_state=seed + repeat)`` over the groups
    of the rows it splits, looked up by their index (the file row, as ``load_split`` gives it)."""

    def __init__(self, groups: Any, folds: int, repeats: int = 1, seed: int = 0) -> None:
        if groups is None:
            raise InputError("ranking folds need the dataset's groups (queries)")
        self.groups = groups
        self.folds = folds
        self.repeats = repeats
        self.seed = seed

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.folds * self.repeats

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[Any, Any]]:
        from sklearn.model_selection import GroupKFold

        row_groups = self.groups.loc[X.index].to_numpy()
        n_groups = len(set(row_groups))
        if n_groups < 2 * self.folds:
            raise InputError(
                f"{n_groups} groups cannot make {self.folds} folds by group; ranking needs at least "
                f"{2 * self.folds} (2 x folds)"
            )
        for repeat in range(self.repeats):
            splitter = GroupKFold(n_splits=self.folds, shuffle=True, random_state=self.seed + repeat)
            yield from splitter.split(X, y, groups=row_groups)


class RankingScorer:
    """A scikit-learn scorer ``(estimator, X, y) -> float`` of one ranking metric; ``groups`` maps each
    file row (``X``'s index) to its query."""

    def __init__(self, metric: str, groups: Any) -> None:
        self.metric = metric
        self.groups = groups

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        return ranking_score(self.metric, y, estimator.predict(X), self.groups.loc[X.index].to_numpy())


def ranking_scorers(groups: Any) -> dict[str, RankingScorer]:
    if groups is None:
        raise InputError("ranking metrics need the dataset's groups (queries)")
    return {name: RankingScorer(name, groups) for name in (*NDCG_CUTOFFS, "mrr")}


def ranking_score(metric: str, y_true: Any, y_score: Any, groups: Any) -> float:
    """The mean over queries of ``metric`` (``ndcg_5``, ``ndcg_10``, ``ndcg``, ``mrr``); queries with a
    single relevance level are left out (counted in a warning); NaN when none is left."""
    import numpy as np

    values, skipped, n_queries = per_query(metric, y_true, y_score, groups)
    if skipped:
        warnings.warn(
            f"{skipped} of {n_queries} queries have a single relevance level: left out of NDCG and MRR",
            UserWarning,
            stacklevel=2,
        )
    return float(np.mean(values)) if values else float("nan")


def per_query(metric: str, y_true: Any, y_score: Any, groups: Any) -> tuple[list[float], int, int]:
    """Each scored query's value (in sorted group order), the number skipped, the number of queries."""
    import numpy as np

    if metric not in NDCG_CUTOFFS and metric != "mrr":
        raise InputError(f"unknown ranking metric {metric!r}")
    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    _, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    values: list[float] = []
    skipped = 0
    queries = np.split(order, bounds)
    for rows in queries:
        rel, score = y_true[rows], y_score[rows]
        if np.unique(rel).size < 2:
            skipped += 1
        elif metric == "mrr":
            values.append(expected_reciprocal_rank(rel, score))
        else:
            values.append(query_ndcg(rel, score, NDCG_CUTOFFS[metric]))
    return values, skipped, len(queries)


def query_ndcg(relevance: Any, score: Any, k: int | None) -> float:
    """``sklearn.metrics.ndcg_score([relevance], [score], k=k)`` of one query, computed as scikit-learn
    computes it (tied scores averaged over their orders) without its input checks: on a query of
    ten rows ``ndcg_score`` takes about six times as long. A test holds the two equal."""
    import numpy as np

    discount = 1 / (np.log(np.arange(len(relevance)) + 2) / np.log(2))
    if k is not None:
        discount[k:] = 0
    ideal = float(discount.dot(np.sort(relevance)[::-1]))
    if ideal == 0:
        return 0.0
    _, tie, counts = np.unique(-score, return_inverse=True, return_counts=True)
    mean_gain = np.zeros(len(counts))
    np.add.at(mean_gain, tie, relevance)
    mean_gain /= counts
    tie_discount = np.diff(np.cumsum(discount)[np.cumsum(counts) - 1], prepend=0.0)
    return float((mean_gain * tie_discount).sum()) / ideal


def expected_reciprocal_rank(relevance: Any, score: Any) -> float:
    """1 / the rank of the first relevant row, averaged over the orders of tied scores."""
    import numpy as np

    before = 0
    for value in np.unique(score)[::-1]:
        tied = score == value
        m, r = int(tied.sum()), int((relevance[tied] > 0).sum())
        if r:  # the first relevant row is in this block: at offset j with probability C(m-1-j, r-1)/C(m, r)
            return sum(comb(m - 1 - j, r - 1) / comb(m, r) / (before + j + 1) for j in range(m - r + 1))
        before += m
    return 0.0


def query_order(estimator: Any, X: Any, y: Any, scorers: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """Training rows for a ranker: when the fold is scored by query (``scorers`` are
    :class:`RankingScorer`) and the estimator's last step has a ``fit(..., group=...)`` (LightGBM's
    ``LGBMRanker``, XGBoost's ``XGBRanker``), the rows sorted by query and ``{"<step>__group": sizes}``,
    each query's row count in that order; a ``fit`` that takes ``qid`` and no ``group`` gets
    ``qid=`` each row's query number instead (non-decreasing, as XGBoost requires); otherwise the
    rows as they are and no fit parameters."""
    import inspect

    import numpy as np

    groups: Any = next((s.groups for s in scorers.values() if isinstance(s, RankingScorer)), None)
    steps = getattr(estimator, "steps", None)
    last = steps[-1][1] if steps else estimator
    try:
        accepted = set(inspect.signature(last.fit).parameters) & {"group", "qid"}
    except (TypeError, ValueError):
        accepted = set()
    if groups is None or not accepted:
        return X, y, {}
    row_groups: Any = groups.loc[X.index].to_numpy()
    _, codes = np.unique(np.asarray(row_groups, dtype=str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    prefix = f"{steps[-1][0]}__" if steps else ""
    if "group" in accepted:  # codes are 0 .. k-1 in sorted order, as the rows now are
        return X.iloc[order], y.iloc[order], {f"{prefix}group": np.bincount(codes)}
    return X.iloc[order], y.iloc[order], {f"{prefix}qid": codes[order]}
