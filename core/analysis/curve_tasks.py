"""A curve's points as executor tasks (:mod:`core.modeling.executors`), so ``mlloop curve`` runs them
in local worker processes or on a Dask cluster (``--cluster``) like a run's folds: the development
rows go to each worker once, each task carries only its pipeline and fold indices, and the caller
stores each point as it comes back. A point is fitted and scored exactly as a run's fold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from functools import partial
from typing import Any, TypedDict

from core.modeling.executors import FitTask, make_executor


class PointResult(TypedDict):
    """What a curve point's worker hands back: the fold's scores, or why it failed."""

    setting: int
    fold: int
    train: dict[str, float]
    validation: dict[str, float]
    fit_time: float
    error: str | None


def point_results(
    todo: Sequence[tuple[int, int]],
    task: Callable[[int, int], tuple[Any, Any, Any]],
    X: Any,
    y: Any,
    scorers: dict[str, Any],
    jobs: int,
    cluster: str | None = None,
) -> Generator[PointResult, None, None]:
    """The (setting, fold) points of ``todo`` as they finish, fitted on ``jobs`` local workers or on
    the Dask ``cluster`` (connected before the first point: a bad address fails with nothing
    stored); leaving the loop early stops the points not started."""
    tasks = []
    for setting, fold in todo:
        pipeline, train, val = task(setting, fold)
        kwargs = {"setting": setting, "fold": fold, "pipeline": pipeline, "train": train, "val": val}
        tasks.append(FitTask(fit_point, {**kwargs, "scorers": scorers}, len(train), partial(lost_point, setting, fold)))
    with make_executor(jobs, cluster) as executor:
        yield from executor.results(tasks, {0: (X, y)})


def fit_point(
    setting: int, fold: int, pipeline: Any, X: Any, y: Any, train: Any, val: Any, scorers: dict[str, Any]
) -> PointResult:
    """One curve point in a worker: the same fit and scoring as a run's fold."""
    from core.modeling.evaluation import fit_fold

    result = fit_fold(0, fold, pipeline, X, y, train, val, scorers, 1)
    f = result.get("fold")
    return {
        "setting": setting,
        "fold": fold,
        "train": {} if f is None else f.train,
        "validation": {} if f is None else f.validation,
        "fit_time": math.nan if f is None else f.fit_time,
        "error": result.get("error"),
    }


def lost_point(setting: int, fold: int, message: str) -> PointResult:
    """A point that could not run at all (its cluster worker lost for good), stored as a failed point."""
    return {"setting": setting, "fold": fold, "train": {}, "validation": {}, "fit_time": math.nan, "error": message}
