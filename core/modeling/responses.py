"""A fitted pipeline's prediction methods answered once per set of rows, and the answers reused.

- A fold's validation scores and its stored predictions ask the same pipeline for the same rows'
  ``predict_proba`` and ``predict``: :func:`responses_remembered` keeps what the scores got, so the
  held-out rows go through the pipeline once (a forest's ``predict_proba`` on 4,000 rows,
  preprocessing included, is not free).
- A dataset larger than memory has more locked test rows than fit at once (a fifth of 11 million
  rows), and scikit-learn's scorers take all the rows they score in one call (ROC AUC is not a mean
  of per-batch values). :func:`batched_scores` has the pipeline answer the methods the scorers use
  (found on the first batch) one batch at a time, keeps the answers (a number, a label or a row of
  probabilities per row: small beside the rows' features), then calls the scorers once on every
  row with those methods answered from what was kept. The scores are the ones the scorers give on
  all the rows at once: a fitted pipeline predicts each row on its own.

Either way the methods are instance attributes over the class's methods while it lasts, named as
they are (scikit-learn's scorers tell them apart by ``__name__``), and removed after.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

RESPONSES = ("predict", "predict_proba", "decision_function")


def batched_scores(est: Any, scorer: Any, batches: Iterable[tuple[Any, Any]]) -> tuple[Any, int]:
    """``scorer(est, X, y)`` over the ``(X, y)`` batches as if they were one frame (``X`` indexed by
    row id), and the number of rows scored."""
    import numpy as np
    import pandas as pd

    answers: dict[str, list[Any]] = {}
    targets: list[Any] = []
    rows: list[Any] = []
    for X, y in batches:
        if not targets:  # the scorers' own call on the first batch tells which methods they use
            with responses_remembered(est, X, answers):
                scorer(est, X, y)
        else:
            for name, parts in answers.items():
                parts.append(getattr(est, name)(X))
        targets.append(y)
        rows.append(X.index)
    if not targets:
        raise ValueError("no rows to score")
    index = rows[0].append(rows[1:]) if len(rows) > 1 else rows[0]
    every_row = pd.DataFrame(index=index)  # no features: the answers stand in for the pipeline
    y_all = pd.concat(targets) if len(targets) > 1 else targets[0]
    with _answered(est, every_row, {name: np.concatenate(parts) for name, parts in answers.items()}):
        return scorer(est, every_row, y_all), len(y_all)


@contextmanager
def responses_remembered(est: Any, X: Any, answers: dict[str, list[Any]] | None = None) -> Iterator[None]:
    """While the block runs, ``est``'s prediction methods called on ``X`` itself (the very object)
    compute once and give the same answer after, also kept in ``answers`` (by method name); any
    other call goes through."""
    answers = {} if answers is None else answers

    def recording(name: str, method: Any) -> Any:
        @functools.wraps(method)
        def call(data: Any, *args: Any, **kwargs: Any) -> Any:
            if data is not X or args or kwargs:
                return method(data, *args, **kwargs)
            if name not in answers:
                answers[name] = [method(data)]
            return answers[name][0]

        return call

    with _over(est, recording):
        yield


@contextmanager
def _answered(est: Any, X: Any, answers: dict[str, Any]) -> Iterator[None]:
    """While the block runs, a prediction method called on ``X`` gives its kept answer."""

    def answering(name: str, method: Any) -> Any:
        @functools.wraps(method)
        def call(data: Any, *args: Any, **kwargs: Any) -> Any:
            if data is X and not args and not kwargs and name in answers:
                return answers[name]
            raise RuntimeError(f"{name} was not asked of the first batch; it cannot be answered for every row")

        return call

    with _over(est, answering):
        yield


@contextmanager
def _over(est: Any, wrap: Any) -> Iterator[None]:
    """``est``'s prediction methods replaced by ``wrap(name, method)`` (instance attributes over the
    class's methods), removed on leaving."""
    added = []
    for name in RESPONSES:
        if hasattr(est, name) and name not in vars(est):
            setattr(est, name, wrap(name, getattr(est, name)))
            added.append(name)
    try:
        yield
    finally:
        for name in added:
            delattr(est, name)
