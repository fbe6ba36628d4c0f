"""Let joblib start worker processes from inside the running app, and stop them when it ends.

joblib's loky backend starts two resource-tracker processes (its own and multiprocessing's)
the first time a pool starts, and passes each ``sys.stderr.fileno()``. While a Textual app runs,
``sys.stderr`` is Textual's print capture, whose ``fileno()`` is -1, so the launch fails with
``ValueError: bad value(s) in fds_to_keep``: every ``jobs != 1`` call of the engine made in the
app's process fails, or returns less where the engine reads a ValueError as "no result".
Screens that run the engine in-process with ``jobs=-1`` call :func:`allow_worker_processes`
first, on the event loop: Textual writes to stderr only from there, so swapping it back to the
real one for that instant races with nothing.

Python's exit waits for the app's worker threads, and a thread inside a joblib call returns
only when the fits in flight finish (a forest on 5,000 features: many seconds after the
terminal is back). When the app quits with such a thread running, the screen calls
:func:`stop_worker_processes`: the call fails at once and the process ends.
"""

from __future__ import annotations

import sys
from contextlib import redirect_stderr


def allow_worker_processes() -> None:
    """Start both resource trackers with the real stderr (a no-op once they run)."""
    from multiprocessing import resource_tracker

    from joblib.externals.loky.backend.resource_tracker import ensure_running

    with redirect_stderr(sys.__stderr__):
        ensure_running()
        resource_tracker.ensure_running()


def stop_worker_processes() -> None:
    """Kill joblib's reusable worker processes, if any were started."""
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor  # no public way to ask without starting one
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)
