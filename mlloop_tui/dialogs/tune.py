"""The tune dialog: a hyper-parameter grid to search from a run, one ``NAME=v1,v2,...`` line per parameter.

It dismisses with a :class:`~mlloop_tui.runner.TuneRequest` (the screen starts ``mlloop tune``
as a child process; every candidate is a run, so they fill the runs table as they finish)
or ``None``. It opens prefilled with the model's complexity knob and its grid from
:mod:`core.modeling.models`. Names and the number of candidates are checked here, so a typo is a line
in the dialog rather than a failed search; values are parsed by the command line as JSON
where they parse (``null``, ``true``, ``"text"``), else as text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static, TextArea

from core.analysis.tuning import MAX_CANDIDATES
from mlloop_tui.dialogs.base import StartDialog
from mlloop_tui.dialogs.new_run import RequestError
from mlloop_tui.runner import TuneRequest
from mlloop_tui.widgets.literal import literal


def knob_grid(knob: str | None, values: Sequence[object]) -> str:
    """``max_depth=1,2,3,null``: the knob and its grid as a line of the dialog."""
    return f"{knob}={','.join(json.dumps(v) for v in values)}" if knob else ""


def build_tune_request(run_id: int, grid_text: str, random: str, valid: Sequence[str] | None = None) -> TuneRequest:
    """The request from the dialog's raw text, or :class:`RequestError` (one line)."""
    items: list[str] = []
    names: set[str] = set()
    total = 1
    for number, line in enumerate(grid_text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, raw = line.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise RequestError(f"line {number}: expected NAME=V1,V2,..., e.g. max_depth=2,4,8", "grid")
        if valid is not None and name not in valid:
            raise RequestError(f"line {number}: unknown parameter {name!r}", "grid")
        if name in names:
            raise RequestError(f"line {number}: {name} is given twice; list all its values on one line", "grid")
        pieces = raw.split(",")
        if any(not p.strip() for p in pieces):
            raise RequestError(f"line {number}: an empty value in {raw.strip()!r}", "grid")
        names.add(name)
        items.append(f"{name}={raw.strip()}")
        total *= len(pieces)
    if not items:
        raise RequestError("give at least one NAME=V1,V2,... line", "grid")
    n_random = None
    if random.strip():
        try:
            n_random = int(random.strip())
        except ValueError:
            raise RequestError(f"random must be a whole number, not {random.strip()}", "random") from None
        if n_random < 1:
            raise RequestError(f"random must be at least 1, got {n_random}", "random")
    if n_random is None and total > MAX_CANDIDATES:
        raise RequestError(f"{total} candidates (more than {MAX_CANDIDATES}): give a random N to sample some", "random")
    return TuneRequest(run_id, tuple(items), random=n_random)


def candidates(request: TuneRequest) -> int:
    """How many runs the search will make (values counted by their commas)."""
    total = math.prod(len(item.partition("=")[2].split(",")) for item in request.grid)
    return min(total, request.random) if request.random else total


class TuneDialog(StartDialog[TuneRequest | None]):
    """Edit the grid, optionally sample N candidates from it; Ctrl+S (or Enter in the N field) starts."""

    BINDINGS = [
        Binding("ctrl+s", "start", "Start", id="tune.start", tooltip="Start the search"),
    ]

    def __init__(self, run_id: int, model: str, grid: str, params: Sequence[str] | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.model = model
        self.grid = grid
        self.params = sorted(params) if params is not None else None

    def heading(self) -> Text:
        keys = f"{self.key('tune.start')} starts · {self.key('dialog.cancel')} closes"
        title = Text.assemble(
            ("Tune ", "bold"),
            literal(f"run {self.run_id} ({self.model})", style="bold"),
            (f"  every candidate is a run · {keys}", "dim"),
        )
        title.no_wrap = False
        return title

    def compose_body(self) -> ComposeResult:
        yield Label(Text.assemble("Grid ", ('one NAME=V1,V2,... per line; null, true, "text"', "dim")))
        yield TextArea(self.grid, id="grid", soft_wrap=True, show_line_numbers=False)
        if self.params:
            names = literal("parameters: " + ", ".join(self.params), style="dim")
            names.no_wrap = False
            yield Static(names, id="params")
        yield Label(Text.assemble("Random ", ("try N candidates drawn from the grid (empty: all)", "dim")))
        yield Input("", type="integer", id="random", placeholder="all")
        yield Static(id="error")
        with Horizontal(id="buttons"):
            yield Button("Start", variant="primary", id="start")
            yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        area = self.query_one("#grid", TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_start(self) -> None:
        try:
            request = build_tune_request(
                self.run_id, self.query_one("#grid", TextArea).text, self.query_one("#random", Input).value, self.params
            )
        except RequestError as e:
            self.query_one("#error", Static).update(literal(str(e)))
            self.query_one(f"#{e.field}").focus()
            return
        self.dismiss(request)
