"""Some rows of a dataset as the file had them: what a data-quality finding points at.

A finding names columns and file rows; this screen reads those rows as stored
(:func:`core.data.frames.read_rows`, in a thread worker) and shows them with the finding's
columns first, then the target, then the rest, so the problem is in view without scrolling
sideways. Each row keeps its file row number and its part (dev / test), because "the same row
in dev and in test" is often the point. Every name and value goes through
:func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from core.errors import MlloopError
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.title_bar import TitleBar

MAX_COLUMNS = 60  # columns shown (the finding's first): a 5,000-column table helps nobody here
CELL_WIDTH = 24


def column_order(names: Sequence[str], first: Sequence[str], target: str, limit: int = MAX_COLUMNS) -> list[int]:
    """Indexes into ``names``: the ``first`` ones (in their order), the target, then the rest."""
    position = {name: i for i, name in enumerate(names)}
    wanted = [position[n] for n in dict.fromkeys([*first, target]) if n in position]
    rest = [i for i in range(len(names)) if i not in set(wanted)]
    return (wanted + rest)[:limit]


def cell(value: object) -> Text:
    """One stored value, literally; missing as a dim ``null``; numbers right-aligned."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text("null", style="dim", justify="right")
    if isinstance(value, bool):
        return Text(str(value).lower())
    if isinstance(value, int | float):
        return Text(f"{value:.6g}" if isinstance(value, float) else str(value), justify="right")
    return literal(value, max_width=CELL_WIDTH)


class DataRowsScreen(Screen):
    """Rows of one dataset (a finding's, or the first ones), the interesting columns first."""

    BINDINGS = [Binding("escape", "back", "Back", id="rows.back", tooltip="Back to the previous screen")]

    DEFAULT_CSS = """
    DataRowsScreen #caption { height: auto; max-height: 4; padding: 0 1; background: $boost; }
    DataRowsScreen DataTable { height: 1fr; }
    """

    AUTO_FOCUS = "DataTable"

    def __init__(
        self,
        dataset: str,
        rows: Sequence[int] | None,
        columns: Sequence[str] = (),
        caption: Text | None = None,
        scores: tuple[str, Mapping[int, float]] | None = None,
        notes: tuple[str, Mapping[int, str]] | None = None,
    ) -> None:
        """``rows`` None shows the file's first rows; ``scores`` adds one labelled number per row,
        ``notes`` one labelled text (a finding's reason for listing the row)."""
        super().__init__()
        self.dataset = dataset
        self.rows = None if rows is None else tuple(rows)
        self.columns = tuple(columns)
        self.caption = caption or Text("")
        self.scores = scores
        self.notes = notes
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield TitleBar("Rows")
        yield Static(self.caption, id="caption")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(TitleBar).detail = self.dataset
        self.query_one(DataTable).loading = True
        self.load()

    @work(thread=True, exclusive=True, group="data-rows", exit_on_error=False, description="reading rows")
    def load(self) -> None:
        from core.data.frames import read_rows
        from core.store.datasets import get_dataset

        try:
            info = get_dataset(self.app.store, self.dataset)
            names, rows = read_rows(self.app.store, info, self.rows)
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self._show, names, rows, info.target)

    def _failed(self, message: str) -> None:
        if self.is_attached:
            self.query_one(DataTable).loading = False
            self.query_one("#caption", Static).update(literal(message, style="bold red"))

    def _show(self, names: tuple[str, ...], rows: list[tuple], target: str) -> None:
        if not self.is_attached:
            return
        table = self.query_one(DataTable)
        table.loading = False
        order = column_order(names, self.columns, target)
        table.add_column(Text("row", style="dim"), key="__row")
        table.add_column(Text("part", style="dim"), key="__part")
        if self.scores is not None:
            table.add_column(Text(self.scores[0]), key="__score")
        if self.notes is not None:
            table.add_column(Text(self.notes[0]), key="__note")
        for i in order:
            style = "bold yellow" if names[i] in self.columns else "bold cyan" if names[i] == target else ""
            table.add_column(literal(names[i], style=style, max_width=CELL_WIDTH), key=f"c{i}")
        for row in rows:
            number, part, values = row[0], row[1], row[2:]
            cells = [Text(str(number), style="dim", justify="right"), Text(str(part), style="dim")]
            if self.scores is not None:
                score = self.scores[1].get(number)
                cells.append(Text("" if score is None else f"{score:.3f}", justify="right"))
            if self.notes is not None:
                cells.append(literal(self.notes[1].get(number, "")))
            cells += [cell(values[i]) for i in order]
            table.add_row(*cells, key=str(number))
        shown = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
        if len(order) < len(names):
            shown += f" · first {len(order)} of {len(names)} columns"
        self.query_one(TitleBar).detail = f"{self.dataset} · {shown}"
        self.loaded = True

    def action_back(self) -> None:
        self.app.pop_screen()
