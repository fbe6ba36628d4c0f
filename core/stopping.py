"""One way to stop long engine work: a stop token asked between tasks.

Runs, searches, curves, feature curves and quality checks take ``stop: StopToken | None``.
Between two tasks (a fold, a curve point, a column's test) they call :meth:`StopToken.check`,
which raises :class:`~core.errors.RunCancelled` once the token is set; finished work stays in
the store. Ctrl-C (``KeyboardInterrupt``, or DuckDB's error for a query it interrupted) in a terminal
ends the same work the same way (:func:`interrupt_as_cancel`), so callers handle one exception,
whichever asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.errors import RunCancelled


class StopToken:
    """Set from any thread (:meth:`stop`), or built over a flag someone else owns (``when``, e.g. a
    Textual worker's ``lambda: worker.is_cancelled``)."""

    def __init__(self, when: Callable[[], bool] | None = None) -> None:
        self._event = threading.Event()
        self._when = when

    def stop(self) -> None:
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set() or (self._when is not None and bool(self._when()))

    def check(self, message: str) -> None:
        """Raise :class:`RunCancelled` with ``message`` if the token is set."""
        if self.stopped:
            raise RunCancelled(message)


def check(stop: StopToken | None, message: str) -> None:
    """:meth:`StopToken.check` for an optional token."""
    if stop is not None:
        stop.check(message)


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is Ctrl-C (SIGINT). DuckDB takes a SIGINT that arrives while it runs a query and
    raises its own error instead of :class:`KeyboardInterrupt`: ``RuntimeError('Query interrupted')``
    (or its ``InterruptException``), so a cancel landing on a store write must be recognised by it."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    if type(exc).__name__ == "InterruptException":
        return True
    return type(exc) is RuntimeError and str(exc) == "Query interrupted"


@contextmanager
def interrupt_as_cancel(message: str) -> Iterator[None]:
    """Turn Ctrl-C inside the block (:func:`is_interrupt`) into :class:`RunCancelled` with ``message``,
    as a set token would."""
    try:
        yield
    except BaseException as e:
        if is_interrupt(e):
            raise RunCancelled(message) from None
        raise
