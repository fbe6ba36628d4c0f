"""How many local worker processes a run's memory budget holds.

Each worker is a Python process of its own: it imports scikit-learn, SciPy, pandas and PyArrow
(about :data:`WORKER_IMPORTS` before any data) and then holds the run's rows and a fold's copies of
them (:func:`core.data.sampling.fit_bytes`). On two cores a ``--sample 100000`` run of a 20-column
dataset took 1.07 GB across its process tree with two workers and 0.40 GB in one process, so the
worker count, like the sample, has to answer to the budget (``run --memory``, else the ``--memory`` the
dataset was imported with, else ``$MLLOOP_MEMORY_BUDGET``, else a quarter of the RAM:
:func:`core.data.sampling.memory_budget`):
``--jobs`` is lowered to the most workers whose imports and rows fit in it, and to one job (every
fold in this process, no workers) when not even two fit. The scores do not change, only the time.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.data.memory import memory_size
from core.data.sampling import fit_bytes, memory_budget, parse_sample, rows_within
from core.types import DatasetInfo

WORKER_IMPORTS = 220 * 2**20  # a worker's resident memory once it has imported what a fold needs (208 MB measured)


def workers_within_memory(
    datasets: Sequence[DatasetInfo], sample: int | str | None, jobs: int, memory: int | None = None
) -> tuple[int, str | None]:
    """``jobs`` (already resolved to a number of processes), or fewer when that many workers would not
    fit the memory budget; and the note that says so (None when ``jobs`` stands)."""
    if jobs <= 1:
        return jobs, None
    budget, source = memory_budget(memory, datasets)
    each = WORKER_IMPORTS + sum(fit_bytes(d, _rows(d, sample, budget)) for d in datasets)
    fitting = budget // each
    if fitting >= jobs:
        return jobs, None
    fewer = int(fitting) if fitting >= 2 else 1
    return fewer, (
        f"{jobs} worker processes need about {memory_size(jobs * each)} (each {memory_size(each)}: its imports "
        f"and the rows), over the memory budget of {memory_size(budget)} ({source}): "
        + (f"{fewer} workers" if fewer > 1 else "every fold runs in this process")
    )


def _rows(dataset: DatasetInfo, sample: int | str | None, budget: int) -> int:
    """The development rows a run of ``dataset`` fits on: ``--sample``'s N, every row, or what the budget caps."""
    wanted = parse_sample(sample)
    if isinstance(wanted, int):
        return min(wanted, dataset.n_dev)
    if wanted is None:
        return rows_within(dataset, budget)
    return dataset.n_dev
