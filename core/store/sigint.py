"""Ctrl-C held back while a store connection is opened or closed.

Cancelling a run sends its process SIGINT, which Python raises as ``KeyboardInterrupt`` wherever the
main thread happens to be. Raised between taking this process's gate for the store file and the
``try`` that gives it back, or out of a connection's ``close()``, it leaves the gate taken: a
cancelled run was seen (py-spy) with its heartbeat thread waiting for the gate for ever and its main
thread joining it, so the process never exited and held the run queue. Inside :func:`sigint_held` a
SIGINT is only noted, and raised as the block ends; a query itself stays interruptible
(:func:`core.stopping.is_interrupt`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Held:
    """The main thread's held-back SIGINT: how deep the blocks nest, and whether one came."""

    depth = 0
    pending = False


_held = _Held()


@contextmanager
def sigint_held() -> Iterator[None]:
    """Run the block without Ctrl-C; one that came meanwhile is raised (by the handler it would have
    reached) when the block ends without an error of its own. Other threads, and a process where
    SIGINT is ignored or kills outright, are left as they are."""
    if threading.current_thread() is not threading.main_thread() or _held.depth:
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return
    _held.depth, _held.pending = 1, False

    def note(signum: int, frame: object) -> None:
        _held.pending = True

    signal.signal(signal.SIGINT, note)
    failed = True
    try:
        yield
        failed = False
    finally:
        signal.signal(signal.SIGINT, previous)
        _held.depth = 0
        if _held.pending and not failed:
            _held.pending = False
            previous(signal.SIGINT, None)


def sigint_pending() -> bool:
    """Whether a Ctrl-C is held back: a wait inside the block (for a lock) should give up."""
    return _held.pending and threading.current_thread() is threading.main_thread()
