"""Where fit tasks run: local worker processes (joblib/loky) or a Dask cluster's workers.

Both executors take the same tasks and yield each result as it finishes, so the caller commits
results to the store from this process alone (one writer) whichever runs them. Three things make
a CV suite close to what the machine can do:

- tasks start slowest first (:func:`by_cost`): a forest's folds started last leave the other
  worker idle at the end; only a dummy's folds, which cost nothing, go before them all, so the
  baseline's scores show as soon as the workers are up;
- each dataset's rows go to each worker once per batch of tasks, not with every task: locally one
  file per dataset that the workers load once and memory-map (numeric columns are shared pages),
  on a cluster one ``scatter(broadcast=True)`` per dataset; a batch may hold several datasets'
  tasks (:mod:`core.modeling.groups`), so they share one pool;
- native thread pools (OpenMP, BLAS) are capped to the worker's share of the cores
  (threadpoolctl), so two workers' boosting fits do not spin against each other or against
  other processes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from core.modeling.workers import output_to_stderr, worker_options

# Relative cost of one fit per model family, for ordering tasks; a spec (unknown cost) goes first.
COST_RANK = {"dummy": 0, "tree": 2, "linear": 2, "glm": 4, "boosting": 5, "forest": 5}
UNKNOWN_RANK = 6
# The modules a built-in model's fold needs in a worker (statsmodels only for a GLM: not worth it up front).
FIT_MODULES = (
    "sklearn.compose",
    "sklearn.dummy",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.tree",
    "core.modeling.evaluation",  # the tasks' own functions
)


@dataclass(frozen=True)
class FitTask:
    """One call ``fn(X=X, y=y, **kwargs)`` on the rows that ``data`` names in the batch's
    :data:`Data`; ``failed(message)`` is its result when it cannot run at all (a worker lost for
    good), so the caller records the failure like any other."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    cost: float
    failed: Callable[[str], Any] = field(compare=False)
    data: Hashable = 0


Data = Mapping[Any, tuple[Any, Any]]
"""A batch's rows: each dataset's ``(X, y)`` by the key its tasks give as :attr:`FitTask.data`."""


def cost_of(model: str, rows: int) -> float:
    """Expected cost of fitting ``model`` (a built-in's name, or anything else for a spec); nil for a dummy."""
    return COST_RANK.get(model, UNKNOWN_RANK) * max(rows, 1)


def by_cost(tasks: Sequence[FitTask]) -> list[FitTask]:
    """Tasks of nil cost first (they delay nothing and give the first scores), then slowest first;
    equal costs keep their order (stable sort)."""
    return sorted(tasks, key=lambda t: (t.cost > 0, -t.cost))


class Executor:
    """Runs tasks, yielding results as they finish; a context manager that releases its workers."""

    def results(self, tasks: Sequence[FitTask], data: Data) -> Iterator[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop unfinished tasks and release resources; safe to call twice."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def make_executor(jobs: int, cluster: str | None = None) -> Executor:
    """A Dask executor connected to ``cluster`` (checked now, so bad input fails before anything
    is stored), else local processes, ``jobs`` wide."""
    if cluster:
        from core.modeling.cluster import DaskExecutor

        return DaskExecutor(cluster)
    return LocalExecutor(jobs)


def start_workers(jobs: int) -> threading.Thread | None:
    """Start this process's local workers now, in the background, one of them importing what a fit needs.

    A run's first fold otherwise waits, after this process has planned the run (reading the rows,
    importing scikit-learn), for its workers to start and import scikit-learn in turn: about 1.5 s
    of CPU each. Started first, one worker does it meanwhile, on another core; only one, because
    this process's planning needs a core too, and on two cores three imports at once delayed the
    planning (and its errors) by 0.8 s. joblib's loky executor is reusable and :class:`LocalExecutor`
    asks it for the same width and options, so the run's tasks go to these very workers. Returns
    the thread that starts them (None for one job: no workers).
    """
    from joblib import effective_n_jobs

    width = effective_n_jobs(jobs)
    if width <= 1:
        return None
    starter = threading.Thread(target=_start, args=(width,), name="mlloop-start-workers", daemon=True)
    starter.start()
    return starter


_starting: list[Any] = []  # the joblib Parallel of each start under way


def _start(width: int) -> None:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=width, **worker_options())
    _starting.append(parallel)
    try:
        parallel([delayed(import_fit_modules)()])
    except Exception:
        pass  # only the head start is lost: the run starts its workers itself, and reports what fails
    finally:
        _starting.remove(parallel)


def cancel_start() -> None:
    """Kill the workers of a start still under way, for a run that will not happen (its planning found
    bad input): the process would otherwise wait, as it ends, for their imports (about 1.5 s)."""
    for parallel in list(_starting):
        workers = getattr(getattr(parallel, "_backend", None), "_workers", None)  # joblib's loky executor
        if workers is not None:
            workers.shutdown(wait=False, kill_workers=True)


def import_fit_modules() -> None:
    """What a worker imports for the built-in models' folds: the estimators, the pipeline around them."""
    from importlib import import_module

    for module in FIT_MODULES:
        import_module(module)


class LocalExecutor(Executor):
    """joblib's loky workers; ``jobs == 1`` runs every task in this process, as joblib does."""

    def __init__(self, jobs: int) -> None:
        from joblib import effective_n_jobs

        self.jobs = effective_n_jobs(jobs)  # -1: every core
        self._dir: str | None = None
        self._running: Any = None

    def results(self, tasks: Sequence[FitTask], data: Data) -> Iterator[Any]:
        ordered = by_cost(tasks)
        if self.jobs == 1:
            for t in ordered:
                X, y = data[t.data]
                with output_to_stderr():  # as a worker's is
                    result = t.fn(X=X, y=y, **t.kwargs)
                yield result
            return
        from joblib import Parallel, delayed

        files = self._dump(data)
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        parallel = Parallel(n_jobs=self.jobs, return_as="generator_unordered", **worker_options())
        self._running = parallel(delayed(run_task)(t.fn, t.kwargs, files[t.data], threads) for t in ordered)
        yield from self._running

    def _dump(self, data: Data) -> dict[Hashable, str]:
        """Each dataset's X and y in one file the workers load once each (joblib's format: numeric
        arrays are memory-mapped on load, so workers share their pages)."""
        import joblib

        self._dir = tempfile.mkdtemp(prefix="mlloop-data-")
        files = {}
        for i, (key, X_y) in enumerate(data.items()):
            files[key] = str(Path(self._dir) / f"dev-{i}.joblib")
            joblib.dump(X_y, files[key])
        return files

    def close(self) -> None:
        if self._running is not None:
            self._running.close()  # joblib aborts the tasks not started yet
            self._running = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


_loaded: dict[str, tuple[Any, Any]] = {}  # in a worker: X, y by data file, the files of one batch


def load_data(path: str) -> tuple[Any, Any]:
    """A worker's X, y for the data file ``path``, read once per worker and batch (a file of a new
    batch, in another directory, drops the last batch's data)."""
    if path not in _loaded:
        import joblib

        if any(os.path.dirname(p) != os.path.dirname(path) for p in _loaded):
            _loaded.clear()
        X, y = joblib.load(path, mmap_mode="r")
        _loaded[path] = (X, y)
    return _loaded[path]


def run_task(fn: Callable[..., Any], kwargs: dict[str, Any], data: str, threads: int) -> Any:
    """A task in a local worker: its data from the run's file, native threads capped."""
    from threadpoolctl import threadpool_limits

    X, y = load_data(data)
    with threadpool_limits(limits=threads):
        return fn(X=X, y=y, **kwargs)
