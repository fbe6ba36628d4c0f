"""Fit tasks on a Dask cluster (``mlloop run --cluster tcp://HOST:PORT``).

Only imported with a cluster address, so Dask stays optional (``pip install 'mlloop-tui[cluster]'``)
and out of every other command's start-up. The development rows are scattered to every worker once
per run (each dataset's once, when several datasets' runs share the batch); each task carries only
its pipeline and fold indices. Results come back as they finish (``distributed.as_completed``) and
the caller commits them here: the store never leaves this machine. Data given again to a later
batch of the same executor (the same object) is not sent again. A task whose worker dies is
started again on another worker by the scheduler (and a task that raises is retried once); one that
still cannot finish comes back as a failed fold, named.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from core.errors import InputError
from core.modeling.executors import Data, Executor, FitTask, by_cost
from core.text import error_line

CONNECT_TIMEOUT_S = 5  # each of: reaching the scheduler, a worker joining


class DaskExecutor(Executor):
    """A client of the scheduler at ``address``; connecting checks the workers' scikit-learn."""

    def __init__(self, address: str) -> None:
        distributed = _distributed()
        try:
            self.client: Any = distributed.Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except Exception as e:  # refused, timed out, or not an address at all
            raise InputError(f"cannot reach the Dask cluster at {address}: {error_line(e)}") from None
        self._futures: list[Any] = []
        self._scattered: dict[Any, tuple[Any, list[Any]]] = {}  # key -> (the data, its futures)
        try:
            check_workers(self.client, address)
        except BaseException:
            self.client.close()
            raise

    def results(self, tasks: Sequence[FitTask], data: Data) -> Iterator[Any]:
        ordered = by_cost(tasks)
        scattered = {key: self._scatter(key, X_y) for key, X_y in data.items()}
        futures = [
            # higher priority starts first: the slowest tasks
            self.client.submit(run_remote, t.fn, t.kwargs, *scattered[t.data], pure=False, retries=1, priority=-i)
            for i, t in enumerate(ordered)
        ]
        self._futures = futures
        task_of = {f.key: t for f, t in zip(futures, ordered)}
        for future in _distributed().as_completed(futures, loop=self.client.loop):
            task = task_of[future.key]
            if future.status == "finished":
                yield future.result()
            else:
                yield task.failed(f"lost on the cluster: {error_line(_exception(future))}")
            future.release()

    def _scatter(self, key: Any, X_y: tuple[Any, Any]) -> list[Any]:
        """``X_y`` on every worker, sent once however many batches use it."""
        held = self._scattered.get(key)
        if held is None or held[0] is not X_y:
            held = (X_y, self.client.scatter(list(X_y), broadcast=True, hash=False))
            self._scattered[key] = held
        return held[1]

    def close(self) -> None:
        held = [f for _, pair in self._scattered.values() for f in pair]
        if self._futures or held:
            self.client.cancel([*self._futures, *held])
            self._futures, self._scattered = [], {}
        self.client.close()


def _distributed() -> Any:
    """The distributed module (its functions are untyped: it is used as ``Any``)."""
    try:
        import distributed
    except ImportError:
        raise InputError("--cluster needs Dask: pip install 'mlloop-tui[cluster]'") from None
    return distributed


def _exception(future: Any) -> BaseException:
    try:
        return future.exception()  # type: ignore[no-any-return]
    except BaseException as e:  # a cancelled future raises rather than returns
        return e


def check_workers(client: Any, address: str) -> None:
    """Refuse a cluster without workers, or whose workers cannot run this machine's tasks the same
    way: another scikit-learn (scores would differ), or no mlloop to import the tasks from."""
    import sklearn

    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except Exception:
        raise InputError(f"the Dask cluster at {address} has no workers") from None
    try:
        theirs: dict[str, str] = client.run(worker_sklearn)
    except Exception as e:
        raise InputError(f"the Dask workers at {address} cannot run mlloop's tasks: {error_line(e)}") from None
    for worker, version in sorted(theirs.items()):
        if version != sklearn.__version__:
            raise InputError(
                f"the Dask worker {worker} has scikit-learn {version}, this machine {sklearn.__version__}: "
                "install the same versions on both"
            )


def worker_sklearn() -> str:
    import sklearn

    return str(sklearn.__version__)


def run_remote(fn: Callable[..., Any], kwargs: dict[str, Any], X: Any, y: Any) -> Any:
    """A task on a Dask worker, native threads capped to the worker's share of its machine."""
    from distributed import get_worker
    from threadpoolctl import threadpool_limits

    threads = max(1, (os.cpu_count() or 1) // max(1, get_worker().state.nthreads))
    with threadpool_limits(limits=threads):
        return fn(X=X, y=y, **kwargs)
