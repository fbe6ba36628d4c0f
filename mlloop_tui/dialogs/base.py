"""The base of every dialog: a frame centred over the screen, its optional title line, and Escape.

Each dialog composes only its body (:meth:`Dialog.compose_body`) and, when it has one, its title
line (:meth:`Dialog.heading`); the frame they sit in, the key that closes the dialog and the
"Cancel" button's handler are here, once. How every dialog looks is in ``styles/dialogs.tcss``
(the frame's border, width and padding, field rows, buttons), which the app loads.
"""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog; Escape (or a ``#cancel`` button) dismisses it with ``None``."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close the dialog without doing anything"),
    ]

    def key(self, binding_id: str) -> str:
        """How hints name the key of one of this dialog's bindings (the user may have remapped it)."""
        return self.app.shown_key(binding_id, self)

    def heading(self) -> Text | None:
        """The dialog's first line (what it does, and its keys); ``None`` for none."""
        return None

    def compose_body(self) -> ComposeResult:
        """The dialog's widgets, under its heading, inside the frame."""
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(id="frame"):
            heading = self.heading()
            if heading is not None:
                yield Static(heading, id="title")
            yield from self.compose_body()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)


class StartDialog(Dialog[ResultType]):
    """A dialog that starts something: Enter in any of its fields and its ``#start`` button both call
    the ``action_start`` that each such dialog defines (what it starts, and with what)."""

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()
