"""A screen that shows an analysis computed in a child process, as its results arrive.

:meth:`ComputingScreen.compute` starts the child (:class:`~mlloop_tui.runner.ComputeChild`) and a
thread worker that reads its lines; every result is posted to the screen as a
:class:`ComputingScreen.Computed` message, which the screen handles on the event loop like any
other. Leaving the screen, or quitting the app, kills every child it started (process group and
workers), so no fit outlives the screen that wanted it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.screen import Screen

from mlloop_tui.runner import ComputeChild, ComputeRequest

if TYPE_CHECKING:
    from mlloop_tui.compute import Event


class ComputingScreen(Screen):
    """Starts analyses in child processes and receives their results as messages."""

    class Computed(Message):
        """A result (or a :class:`~mlloop_tui.compute.Failed`) of the computation ``request``."""

        def __init__(self, request: ComputeRequest, event: Event) -> None:
            super().__init__()
            self.request = request
            self.event = event

    def __init__(self) -> None:
        super().__init__()
        self.computations: list[ComputeChild] = []

    def compute(self, request: ComputeRequest) -> ComputeChild:
        """Start ``request`` in a child process; its results come as :class:`Computed` messages."""
        child = ComputeChild(request, self.app.store.path)
        self.computations.append(child)
        self._read(child)
        return child

    @work(thread=True, group="compute", exit_on_error=False, description="reading a computation")
    def _read(self, child: ComputeChild) -> None:
        for event in child.events():
            self.post_message(self.Computed(child.request, event))

    def on_unmount(self) -> None:
        for child in self.computations:
            child.kill()
