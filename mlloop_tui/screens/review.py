"""The label-review screen: a dataset's suspicious rows one at a time, to keep, relabel, drop or skip.

The queue (:mod:`core.analysis.review`) is opened by a child process (``mlloop review``, which fits
the label-issue model) unless one is already open in the store; the app only reads it. Each row is
shown literally, every column with its value (through :func:`~mlloop_tui.widgets.literal.literal`),
with why it is suspicious and the probability of each class. Decisions are written by one thread
worker in the order they are made, the moment they are made; leaving waits for the last one, so
nothing is lost, and opening the screen again continues at the first row without a decision.
Finishing (after a confirmation) turns the relabels and drops into one new version.
"""

from __future__ import annotations

import queue
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, OptionList, Static
from textual.widgets.option_list import Option

from core.errors import MlloopError
from core.text import printable
from mlloop_tui.screens.data_rows import cell
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from core.analysis.review import Finished, ReviewQueue

BAR = 20  # characters of a probability bar
DECISION_STYLE = {"keep": "green", "relabel": "yellow", "drop": "red", "skip": "dim"}


def probability_lines(classes: tuple[str, ...], proba: tuple[float, ...], label: str) -> Text:
    """One line per class: its probability as a number and a bar; the row's label and the model's
    most probable class marked."""
    text = Text(no_wrap=True, overflow="ellipsis")
    best = max(range(len(proba)), key=lambda i: proba[i]) if proba else -1
    width = min(max((len(printable(c)) for c in classes), default=0), 24)
    for i, (c, p) in enumerate(zip(classes, proba)):
        filled = round(BAR * p)
        text.append_text(literal(c, style="bold" if c == label else "", max_width=24))
        text.append(" " * (width - min(len(printable(c)), 24)) + f" {p:6.3f} ")
        text.append("█" * filled, style="yellow" if c == label else "cyan")
        text.append("░" * (BAR - filled), style="dim")
        marks = [m for m, on_ in (("label", c == label), ("model", i == best)) if on_]
        if marks:
            text.append(f"  ← {' and '.join(marks)}", style="dim")
        text.append("\n")
    text.rstrip()
    return text


class ReviewScreen(Screen):
    """A dataset's label-review queue, walked one row at a time."""

    AUTO_FOCUS = "#values"

    BINDINGS = [
        Binding("k", "decide('keep')", "Keep", id="review.keep", tooltip="The label is right: keep the row as it is"),
        Binding("r", "relabel", "Relabel", id="review.relabel", tooltip="Give the row another class (pick it)"),
        Binding("d", "decide('drop')", "Drop", id="review.drop", tooltip="Drop the row from the new version"),
        Binding("s", "decide('skip')", "Skip", id="review.skip", tooltip="Pass: record it as reviewed, unchanged"),
        Binding("u", "undo", "Undo", id="review.undo", tooltip="Remove the last decision and go back to its row"),
        Binding("f", "finish", "Finish", id="review.finish", tooltip="Make one new version of the relabels and drops"),
        Binding("left", "move(-1)", "Previous", show=False, id="review.previous", tooltip="The previous row"),
        Binding("right", "move(1)", "Next", show=False, id="review.next", tooltip="The next row"),
        Binding("q,escape", "back", "Back", id="review.back", tooltip="Leave (every decision is already saved)"),
    ]

    DEFAULT_CSS = """
    ReviewScreen #status { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    ReviewScreen #item { height: auto; max-height: 6; padding: 0 1; }
    ReviewScreen #proba { height: auto; max-height: 10; padding: 0 1; border-top: solid $primary-muted; }
    ReviewScreen #values { height: 1fr; }
    ReviewScreen #classes { display: none; height: auto; max-height: 12; border: round $accent; }
    ReviewScreen.-picking #classes { display: block; }
    """

    def __init__(self, dataset: str) -> None:
        super().__init__()
        self.dataset = dataset
        self.review: ReviewQueue | None = None
        self.values: dict[int, tuple[Any, ...]] = {}  # row id -> its stored values
        self.names: tuple[str, ...] = ()
        self.target = ""
        self.decided: dict[int, tuple[str, str | None]] = {}  # row -> (decision, new label), as made here
        self.made: list[int] = []  # rows in the order decided (undo takes the last)
        self.position = 0
        self.loaded = False
        self.pending = 0  # decisions handed to the writer and not yet saved
        self.finished: Finished | None = None
        self._choices: list[str] = []  # the classes the relabel picker offers
        self._ops: queue.Queue[tuple[Any, ...] | None] = queue.Queue()

    def compose(self) -> ComposeResult:
        yield TitleBar("Label review")
        yield Static(id="status")
        with Vertical():
            yield Static(id="item")
            yield Static(id="proba")
            yield DataTable(cursor_type="row", id="values")
            yield OptionList(id="classes")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        title = self.query_one(TitleBar)
        title.detail = self.dataset
        # the app's r and d are relabel and drop here: the hint names the keys that leave and list keys
        title.hint = f"{self.app.shown_key('review.back', self)} back · {self.app.shown_key('app.keys')} keys"
        table = self.query_one("#values", DataTable)
        table.add_column(Text("column", style="dim"), key="column")
        table.add_column(Text("value", style="dim"), key="value")
        table.loading = True
        self._status(Text("opening the review… (fitting the label-issue model, out of fold)", style="bold"))
        self.load()
        self.write_decisions()

    def on_unmount(self) -> None:
        self._ops.put(None)  # the writer ends once it has saved what it was given

    # -- loading ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="review-load", exit_on_error=False, description="opening a review")
    def load(self) -> None:
        from core.analysis.review import current_review
        from core.data.frames import read_rows
        from core.store.datasets import get_dataset

        store = self.app.store
        try:
            review = current_review(store, self.dataset)
            if review is None:
                self._open_in_child()
                review = current_review(store, self.dataset)
            if review is None:
                raise MlloopError(f"no review of {self.dataset!r} was opened")
            info = get_dataset(store, self.dataset)
            names, rows = read_rows(store, info, [i.row for i in review.items])
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self._show, review, names, {r[0]: r[2:] for r in rows}, info.target)

    def _open_in_child(self) -> None:
        """``mlloop review DATASET`` in a child process: it fits the label-issue model and stores the queue."""
        argv = [sys.executable, "-m", "mlloop_tui", "--store", str(self.app.store.path), "review", "--", self.dataset]
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode:
            lines = done.stderr.strip().splitlines() or [f"mlloop review ended with status {done.returncode}"]
            raise MlloopError(lines[-1].removeprefix("mlloop: error: "))

    def _failed(self, message: str) -> None:
        if self.is_attached:
            self.query_one("#values", DataTable).loading = False
            self._status(literal(message, style="bold red"))

    def _show(
        self, review: ReviewQueue, names: tuple[str, ...], values: dict[int, tuple[Any, ...]], target: str
    ) -> None:
        if not self.is_attached:
            return
        self.review, self.names, self.values, self.target = review, names, values, target
        self.decided = {d.row: (d.decision, d.label) for d in review.decisions}
        self.made = [d.row for d in review.decisions]
        next_position = review.next_position()
        self.position = next_position if next_position is not None else max(len(review.items) - 1, 0)
        self.query_one("#values", DataTable).loading = False
        self.loaded = True
        self._show_item()
        self.refresh_bindings()

    # -- showing ------------------------------------------------------------------------
    def _status(self, line: Text) -> None:
        self.query_one("#status", Static).update(line)

    def current(self) -> Any:
        review = self.review
        return review.items[self.position] if review is not None and review.items else None

    def _show_item(self) -> None:
        review, item = self.review, self.current()
        assert review is not None
        n_done = sum(i.row in self.decided for i in review.items)
        line = Text(no_wrap=True, overflow="ellipsis")
        if item is None:
            line.append("no suspicious labels in this dataset", style="green")
        else:
            line.append(f"row {self.position + 1} of {len(review.items)}", style="bold")
            line.append(f" · {n_done} decided", style="green" if n_done == len(review.items) else "")
            if n_done == len(review.items):
                line.append(" · every row has a decision: f makes the version", style="bold")
            if review.sample is not None:  # early in the line: a narrow terminal cuts its end
                line.append(f" · judged on {review.sample.rows:,} of {review.sample.of:,} rows", style="yellow")
            line.append(f" · probabilities: {review.source}", style="dim")
        self._status(line)
        self.query_one("#item", Static).update(self._item_text(item) if item is not None else Text(""))
        self.query_one("#proba", Static).update(
            probability_lines(review.classes, item.proba, item.label) if item is not None else Text("")
        )
        table = self.query_one("#values", DataTable)
        table.clear()
        values = self.values.get(item.row, ()) if item is not None else ()
        for name, value in zip(self.names, values):
            style = "bold cyan" if name == self.target else ""
            table.add_row(literal(name, style=style, max_width=40), cell(value))

    def _item_text(self, item: Any) -> Text:
        text = Text(no_wrap=False)
        text.append(f"row {item.row}", style="bold")
        text.append(" · label ")
        text.append_text(literal(item.label, style="bold cyan"))
        text.append(f" · suspicion {item.score:.3f}")
        decided = self.decided.get(item.row)
        if decided is not None:
            decision, label = decided
            text.append(" · ")
            text.append(decision, style=f"bold {DECISION_STYLE[decision]}")
            if label is not None:
                text.append(" to ")
                text.append_text(literal(label, style="bold"))
        for reason in item.reasons:
            text.append("\n• ", style="dim")
            text.append_text(literal(reason))
        return text

    # -- deciding -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("decide", "relabel", "undo", "finish", "move"):
            return True if self.loaded and self.finished is None and self.current() is not None else None
        return True

    def action_decide(self, decision: str, label: str | None = None) -> None:
        item = self.current()
        if item is None or not self.loaded:
            return
        self.decided[item.row] = (decision, label)
        self.made = [r for r in self.made if r != item.row] + [item.row]
        self._send("decide", item.row, decision, label)
        self._advance()

    def _advance(self) -> None:
        """To the next row without a decision (after this one, else from the top); stay when none is left."""
        assert self.review is not None
        rows = [i.row for i in self.review.items]
        n = len(rows)
        following = [(self.position + k) % n for k in range(1, n + 1)]
        self.position = next((p for p in following if rows[p] not in self.decided), self.position)
        self._show_item()

    def action_move(self, delta: int) -> None:
        if self.review is not None and self.review.items:
            self.position = max(0, min(len(self.review.items) - 1, self.position + delta))
            self._show_item()

    def action_relabel(self) -> None:
        item = self.current()
        if item is None or self.review is None:
            return
        picker = self.query_one("#classes", OptionList)
        picker.clear_options()
        choices = [c for c in self.review.classes if c != item.label]
        picker.add_options([Option(literal(f"{n}. {c}"), id=str(n)) for n, c in enumerate(choices, 1)])
        self._choices = choices
        picker.highlighted = 0
        self.add_class("-picking")
        picker.focus()

    @on(OptionList.OptionSelected, "#classes")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        label = self._choices[event.option_index]
        self._close_picker()
        self.action_decide("relabel", label)

    def _close_picker(self) -> None:
        self.remove_class("-picking")
        self.query_one("#values", DataTable).focus()

    def action_undo(self) -> None:
        if not self.made or self.review is None:
            self.notify("no decision to undo", timeout=3)
            return
        row = self.made.pop()
        self.decided.pop(row, None)
        self.position = next(p for p, i in enumerate(self.review.items) if i.row == row)
        self._send("undo")
        self._show_item()

    def action_finish(self) -> None:
        from mlloop_tui.dialogs.confirm import ConfirmDialog

        counts = {d: sum(v[0] == d for v in self.decided.values()) for d in ("relabel", "drop", "keep", "skip")}
        if not any(counts.values()):
            self.notify("nothing decided yet: k keeps, r relabels, d drops, s skips", timeout=4)
            return
        changes = counts["relabel"] + counts["drop"]
        question = (
            f"Finish the review of {self.dataset}: "
            + (
                f"make a new version with {counts['relabel']} rows relabeled and {counts['drop']} dropped"
                if changes
                else "no decision changes a row, so no version is made"
            )
            + f" ({counts['keep']} kept, {counts['skip']} skipped)?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._send("finish")

        self.app.push_screen(ConfirmDialog(question, "Finish", id="finish-dialog"), answered)

    def action_back(self) -> None:
        if self.has_class("-picking"):
            self._close_picker()
            return
        self._send("leave")

    def _send(self, *op: Any) -> None:
        self.pending += op[0] in ("decide", "undo", "finish")
        self._ops.put(op)

    # -- the writer ---------------------------------------------------------------------
    @work(thread=True, group="review-write", exit_on_error=False, description="saving decisions")
    def write_decisions(self) -> None:
        """Every decision, undo and finish, in the order they were made, each saved at once."""
        from core.analysis import review

        store = self.app.store
        while (op := self._ops.get()) is not None:
            kind = op[0]
            try:
                if kind == "decide":
                    review.decide(store, self.dataset, [op[1:]])
                elif kind == "undo":
                    review.undo(store, self.dataset)
                elif kind == "finish":
                    self.app.call_from_thread(self._finished, review.finish_review(store, self.dataset))
                elif kind == "leave":
                    self.app.call_from_thread(self._leave)
            except MlloopError as e:
                self.app.call_from_thread(self._write_failed, str(e))
            finally:
                if kind in ("decide", "undo", "finish"):
                    self.app.call_from_thread(self._saved)

    def _saved(self) -> None:
        self.pending -= 1

    def _write_failed(self, message: str) -> None:
        self.notify(printable(message), severity="error", timeout=8, markup=False)
        self.load()  # show what the store holds

    def _finished(self, finished: Finished) -> None:
        self.finished = finished
        if finished.version is None:
            message = "review closed: no decision relabels or drops a row, so no version was made"
        else:
            message = f"created {finished.version.name}: run it with `mlloop run {finished.version.name}` or n"
        self.app.notify(printable(message), timeout=8, markup=False)
        self._send("leave")

    def _leave(self) -> None:
        if self.is_current:
            self.app.pop_screen()
