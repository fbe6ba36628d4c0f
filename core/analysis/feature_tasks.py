"""Where feature-curve tasks run: joblib workers on this machine, or a Dask cluster (``--cluster``).

A feature curve's tasks each work on one fold's preprocessed arrays (:mod:`core.analysis.feature_selection`):
a ranking per (method, fold), then a fit per (method, k, fold). Locally they go to one joblib pool,
which memory-maps large arrays for its workers. On a cluster each fold's arrays are scattered to
the workers once, for every task of every method (:class:`core.modeling.cluster.DaskExecutor`
keeps them between batches), and the tasks carry only their settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from types import TracebackType
from typing import Any

from core.modeling.executors import Executor, FitTask
from core.modeling.workers import worker_options

# One task: the index of its fold, and the keyword arguments besides that fold's arrays.
Call = tuple[int, dict[str, Any]]


class FoldPool:
    """Runs ``fn(prepared[fold], **kwargs)`` for many calls, yielding results as they finish.

    ``cluster`` (a Dask scheduler's address) is connected on entry, before anything runs: a bad
    address fails at once with :class:`core.errors.InputError`.
    """

    def __init__(self, prepared: Sequence[Any], jobs: int, cluster: str | None = None) -> None:
        self.prepared = prepared
        self.jobs = jobs
        self.cluster = cluster
        self._parallel: Any = None
        self._executor: Executor | None = None
        self._data = {i: (fold, None) for i, fold in enumerate(prepared)}

    def __enter__(self) -> FoldPool:
        if self.cluster:
            from core.modeling.cluster import DaskExecutor

            self._executor = DaskExecutor(self.cluster)
        else:
            from joblib import Parallel

            self._parallel = Parallel(n_jobs=self.jobs, return_as="generator_unordered", **worker_options())
            self._parallel.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._executor is not None:
            self._executor.close()
        if self._parallel is not None:
            self._parallel.__exit__(kind, exc, tb)

    def map(self, fn: Callable[..., Any], calls: Sequence[Call], lost: Callable[..., Any]) -> Iterator[Any]:
        """Each call's result as it finishes; on a cluster, ``lost(message, **kwargs)`` stands for a
        task whose worker was lost for good."""
        if self._executor is None:
            from joblib import delayed

            yield from self._parallel(delayed(fn)(self.prepared[i], **kwargs) for i, kwargs in calls)
            return
        tasks = [
            FitTask(_on_fold, {"fn": fn, **kwargs}, 1.0, partial(_lost, lost, kwargs), data=i) for i, kwargs in calls
        ]
        yield from self._executor.results(tasks, self._data)


def _on_fold(X: Any, y: Any, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """A task on a cluster worker: ``X`` is the fold's arrays, scattered once (``y`` is unused)."""
    return fn(X, **kwargs)


def _lost(lost: Callable[..., Any], kwargs: dict[str, Any], message: str) -> Any:
    return lost(message, **kwargs)
