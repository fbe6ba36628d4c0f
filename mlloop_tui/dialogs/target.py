"""Set a dataset's target score: the human-level, existing-system or required score the
diagnosis measures the avoidable bias against (``mlloop target`` on the command line).

The dialog shows the current target, takes a score, a metric (empty: the task's key metric)
and a note; an empty score clears the target. :func:`core.analysis.targets.set_target` checks the
values and writes them, in a thread worker; its one-line error stays in the dialog.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from core.errors import MlloopError
from core.modeling.metrics import key_metrics
from core.types import DatasetInfo
from mlloop_tui.dialogs.base import Dialog
from mlloop_tui.widgets.literal import literal


class TargetDialog(Dialog[bool]):
    """Dismisses with True when the target was set or cleared."""

    def __init__(self, dataset: DatasetInfo) -> None:
        super().__init__()
        self.dataset = dataset
        self.default_metric = key_metrics(dataset.task)[0].name

    def heading(self) -> Text:
        return Text.assemble(("Target score for ", "bold"), literal(self.dataset.name, style="bold"))

    def compose_body(self) -> ComposeResult:
        yield Static(Text("reading the current target…", style="dim"), id="current")
        yield Static(
            "What a person, an existing system or the task needs: the diagnosis measures the avoidable "
            "bias against it. An empty score clears it.",
            id="help",
        )
        with Horizontal(classes="field"):
            yield Label("Score")
            yield Input(placeholder="e.g. 0.95", id="score")
        with Horizontal(classes="field"):
            yield Label("Metric")
            yield Input(placeholder=self.default_metric, id="metric")
        with Horizontal(classes="field"):
            yield Label("Note")
            yield Input(placeholder="where the score comes from (optional)", id="note")
        yield Static(id="status")
        with Horizontal(id="buttons"):
            yield Button("Save (Enter)", variant="primary", id="save")
            yield Button(f"Cancel ({self.key('dialog.cancel')})", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#score", Input).focus()
        self.load_current()

    @work(thread=True, exclusive=True, group="target", exit_on_error=False, description="reading the target")
    def load_current(self) -> None:
        from core.analysis.targets import get_target

        try:
            target = get_target(self.app.store, self.dataset.id)
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self._show_current, target)

    def _show_current(self, target) -> None:
        current = self.query_one("#current", Static)
        if target is None:
            current.update(Text("no target set: the reference is the best run on this dataset", style="dim"))
            return
        text = Text(f"now: {target.metric} {target.score:g}")
        if target.note:
            text.append(" · ")
            text.append_text(literal(target.note))
        current.update(text)
        score, metric, note = (self.query_one(f"#{k}", Input) for k in ("score", "metric", "note"))
        if not score.value:  # the user has not started typing
            score.value, metric.value, note.value = f"{target.score:g}", target.metric, target.note or ""

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        values = [self.query_one(f"#{k}", Input).value.strip() for k in ("score", "metric", "note")]
        self.save(*values)

    @work(thread=True, exclusive=True, group="target", exit_on_error=False, description="saving the target")
    def save(self, score: str, metric: str, note: str) -> None:
        from core.analysis.targets import clear_target, set_target

        try:
            if score:
                set_target(self.app.store, self.dataset.id, score, metric or None, note or None)
            else:
                clear_target(self.app.store, self.dataset.id)
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self.dismiss, True)

    def _failed(self, message: str) -> None:
        self.query_one("#status", Static).update(literal(message))
