"""A yes/no question; dismisses with True or False (None on Escape)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from mlloop_tui.dialogs.base import Dialog
from mlloop_tui.widgets.literal import literal


class ConfirmDialog(Dialog[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes_label: str = "Yes", id: str | None = None) -> None:
        super().__init__(id=id)
        self.question = question
        self.yes_label = yes_label

    def compose_body(self) -> ComposeResult:
        yield Static(literal(self.question))
        with Horizontal(id="buttons"):
            yield Button(literal(f"{self.yes_label} ({self.key('confirm.yes')})"), variant="error", id="yes")
            yield Button(literal(f"No ({self.key('confirm.no')})"), id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
