"""Worker processes that end with the process that started them.

joblib's loky workers outlive a parent killed by SIGKILL (no clean-up of the parent's runs):
a busy worker finishes its fit, then waits for work until loky's idle timeout, five minutes.
:func:`worker_options` gives every worker a watch on its parent: a daemon thread that sees the
worker adopted by another process (init, or a subreaper) and ends it within a second.

Why a watch thread rather than Linux's ``prctl(PR_SET_PDEATHSIG)``: the death signal fires when
the *thread* that forked the child ends, and loky starts replacement workers from its executor's
manager thread, which ends while the parent lives on, so a healthy run's workers would be
killed; it is also Linux only. ``os.getppid()`` changing is the parent's death itself, on every
POSIX system, and costs one system call per check.

Workers also write nothing to standard output: it is the parent's, where ``--json`` prints its
answer, and a library's log (LightGBM's ``[LightGBM] [Warning] ...``, a user's ``print`` in a
spec's ``fit``) would corrupt it. :func:`start_worker` points the worker's standard output, the
file descriptor native code writes to as well, at standard error.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

PARENT_CHECK_S = 0.5
ORPHAN_EXIT = 70  # a worker's exit status when it ended because its parent had (EX_SOFTWARE)


def worker_options() -> dict[str, Any]:
    """Keyword arguments for joblib's ``Parallel``: each loky worker watches this process.

    Backends without worker processes (one job runs in this process) ignore them.
    """
    return {"initializer": start_worker, "initargs": (os.getpid(),)}


def start_worker(parent: int) -> None:
    """A loky worker's set-up: output to standard error, a watch on ``parent``, and no leak check."""
    stdout_to_stderr()
    watch_parent(parent)
    keep_growing_workers()


def keep_growing_workers() -> None:
    """Turn off loky's leak check in this worker: it stops a worker whose memory grew by 300 MB since
    its first task, and ours grow by design (a batch's rows, loaded once: ``executors.load_data``).
    On 800,000 rows a worker was stopped mid-run, its replacement imported scikit-learn and loaded
    the rows again, and loky printed "A worker stopped while some jobs were given to the executor"
    on the user's terminal. A worker lives as long as its run's process, so nothing builds up."""
    from joblib.externals.loky import process_executor

    process_executor._USE_PSUTIL = False  # its loop reads this flag before each check


def stdout_to_stderr() -> None:
    """Send this process's standard output (Python's and file descriptor 1) to standard error."""
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr


@contextlib.contextmanager
def output_to_stderr() -> Iterator[None]:
    """:func:`stdout_to_stderr` for a while: for fits run in this process (one job)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            os.dup2(2, 1)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def watch_parent(parent: int, interval: float = PARENT_CHECK_S) -> None:
    """Start a daemon thread that ends this process once its parent is no longer ``parent``.

    ``parent`` is the pid the starter gave, not ``os.getppid()`` read here: a worker whose parent
    died before it got this far is already an orphan, and ends at the first check.
    """
    threading.Thread(target=_watch, args=(parent, interval), name="mlloop-parent-watch", daemon=True).start()


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(ORPHAN_EXIT)  # at once, mid-fit: nobody is left to receive the result
