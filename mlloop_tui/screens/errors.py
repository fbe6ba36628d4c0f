"""A run's error analysis: where it is wrong, and the rows behind each number.

Opened from the run detail. The analysis (:func:`core.analysis.errors.analyse_run`) is read in a
thread worker. Classification shows the confusion matrix (``n`` toggles counts and row-normalised
fractions), the most confidently wrong rows and the weakest slices; regression shows the residual
summary, the largest errors, the error by decile of the target and the weakest slices. Enter on a
matrix cell, a row or a slice opens those rows as stored
(:class:`~mlloop_tui.screens.data_rows.DataRowsScreen`). Class labels, feature names and slice
values come from the user's file: every one goes through :func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from core.errors import MlloopError
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from core.analysis.errors import ErrorAnalysis

MAX_ROWS = 500  # rows of a cell or slice shown


def _num(value: float | None, digits: int = 4) -> Text:
    from core.report.formatting import num

    return Text(num(value, digits), justify="right")


class ErrorsScreen(Screen):
    """The error analysis of one run; Enter on a cell, row or slice shows its rows."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="errors.back", tooltip="Back to the run"),
        Binding(
            "n",
            "toggle_normalised",
            "Counts/rates",
            id="errors.normalised",
            tooltip="Confusion matrix: counts or each true class's fractions",
        ),
    ]

    DEFAULT_CSS = """
    ErrorsScreen #summary { height: auto; padding: 0 1; background: $boost; }
    ErrorsScreen .section { height: auto; padding: 1 1 0 1; text-style: bold; }
    ErrorsScreen DataTable { height: auto; max-height: 16; }
    """

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.analysis: ErrorAnalysis | None = None
        self.normalised = False

    def compose(self) -> ComposeResult:
        yield TitleBar("Errors")
        yield Static(Text("reading predictions…"), id="summary")
        yield VerticalScroll(id="sections")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(TitleBar).detail = f"run {self.run_id}"
        self.load()

    @work(thread=True, exclusive=True, group="errors", exit_on_error=False, description="error analysis")
    def load(self) -> None:
        from core.analysis.errors import analyse_run

        try:
            analysis = analyse_run(self.app.store, self.run_id)
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self._show, analysis)

    def _failed(self, message: str) -> None:
        if self.is_attached:
            self.query_one("#summary", Static).update(literal(message, style="bold red"))

    def _show(self, a: ErrorAnalysis) -> None:
        if not self.is_attached:
            return
        self.analysis = a
        self.query_one(TitleBar).detail = f"run {a.run_id} · {a.model} on {a.dataset}"
        summary = Text.assemble(
            f"{a.n_rows:,} of {a.n_dev:,} development rows, out of fold · overall {a.error_name} ",
            (f"{a.overall_error:.4f}", "bold"),
        )
        self.query_one("#summary", Static).update(summary)
        sections = self.query_one("#sections", VerticalScroll)
        if a.classification is not None:
            sections.mount(Static(Text("Confusion matrix (rows: true class)"), classes="section"))
            sections.mount(DataTable(id="matrix", cursor_type="cell", zebra_stripes=True))
            sections.mount(
                Static(Text(f"Most confidently wrong ({a.classification.n_wrong:,} wrong)"), classes="section")
            )
            sections.mount(DataTable(id="wrong", cursor_type="row", zebra_stripes=True))
        if a.regression is not None:
            sections.mount(Static(Text("Residuals (true − predicted)"), classes="section"))
            sections.mount(DataTable(id="residuals", cursor_type="row"))
            sections.mount(Static(Text("Largest absolute errors"), classes="section"))
            sections.mount(DataTable(id="largest", cursor_type="row", zebra_stripes=True))
            sections.mount(Static(Text("Error by decile of the target"), classes="section"))
            sections.mount(DataTable(id="deciles", cursor_type="row"))
        sections.mount(Static(Text(f"Weakest slices ({a.slice_test})"), classes="section"))
        sections.mount(DataTable(id="slices", cursor_type="row", zebra_stripes=True))
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        a = self.analysis
        assert a is not None
        if a.classification is not None:
            self._fill_matrix()
            wrong = self.query_one("#wrong", DataTable)
            wrong.add_columns("row", "true", "predicted", "P(true)")
            for w in a.classification.wrong:
                wrong.add_row(Text(str(w.row), justify="right"), literal(w.true), literal(w.predicted), _num(w.p_true))
            self.query_one("#matrix", DataTable).focus()
        if a.regression is not None:
            r = a.regression
            residuals = self.query_one("#residuals", DataTable)
            residuals.add_columns("mean (bias)", "std", "mae", "rmse", "median abs")
            residuals.add_row(*(_num(v) for v in (r.mean, r.std, r.mae, r.rmse, r.median_abs)))
            largest = self.query_one("#largest", DataTable)
            largest.add_columns("row", "true", "predicted", "residual")
            for e in r.largest:
                largest.add_row(Text(str(e.row), justify="right"), _num(e.true), _num(e.predicted), _num(e.residual))
            deciles = self.query_one("#deciles", DataTable)
            deciles.add_columns("target from", "to", "rows", "mean abs error", "bias")
            for d in r.deciles:
                deciles.add_row(_num(d.low), _num(d.high), Text(str(d.n), justify="right"), _num(d.mae), _num(d.bias))
            largest.focus()
        slices = self.query_one("#slices", DataTable)
        slices.add_columns("feature", "slice", "rows", a.error_name, "other rows", "p")
        for s in a.slices:
            slices.add_row(
                literal(s.feature, max_width=24),
                literal(s.description, max_width=24),
                Text(str(s.n), justify="right"),
                _num(s.error),
                _num(s.rest_error),
                Text(f"{s.p:.3g}", justify="right"),
            )

    def _fill_matrix(self) -> None:
        a = self.analysis
        assert a is not None and a.classification is not None
        c = a.classification
        table = self.query_one("#matrix", DataTable)
        table.clear(columns=True)
        table.add_column(Text("true \\ predicted", style="dim"), key="true")
        for k, label in enumerate(c.classes):
            table.add_column(literal(label, max_width=16), key=str(k))
        values = c.normalised() if self.normalised else c.confusion
        for i, label in enumerate(c.classes):
            cells = [
                Text(f"{v:.3f}" if self.normalised else str(v), justify="right", style="bold" if i == j else "")
                for j, v in enumerate(values[i])
            ]
            table.add_row(literal(label, max_width=16), *cells, key=str(i))
        table.move_cursor(row=0, column=1)

    def action_toggle_normalised(self) -> None:
        if self.analysis is not None and self.analysis.classification is not None:
            self.normalised = not self.normalised
            self._fill_matrix()

    @on(DataTable.CellSelected)
    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.CellSelected | DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected(event.data_table)

    def open_selected(self, table: DataTable) -> None:
        """Enter: the rows behind the table's highlighted cell or line."""
        a = self.analysis
        if a is None or not table.row_count:
            return
        row, column = table.cursor_coordinate
        if table.id == "matrix" and a.classification is not None:
            if column == 0:
                return
            true, predicted = a.classification.classes[row], a.classification.classes[column - 1]
            caption = Text.assemble(
                "true ", literal(true, style="bold"), ", predicted ", literal(predicted, style="bold")
            )
            self.open_rows(caption, cell=(true, predicted))
        elif table.id == "wrong" and a.classification is not None:
            w = a.classification.wrong[row]
            caption = Text.assemble("true ", literal(w.true, style="bold"), ", predicted ", literal(w.predicted))
            self._push([w.row], caption, ("P(true)", {w.row: w.p_true} if w.p_true is not None else {}))
        elif table.id == "largest" and a.regression is not None:
            e = a.regression.largest[row]
            self._push([e.row], Text(f"residual {e.residual:.4f}"), ("predicted", {e.row: e.predicted}))
        elif table.id == "slices" and a.slices:
            s = a.slices[row]
            caption = Text.assemble(literal(s.feature, style="bold"), " ", literal(s.description))
            self.open_rows(caption, slice_=(s.feature, s.description))

    @work(thread=True, exclusive=True, group="error-rows", exit_on_error=False, description="finding rows")
    def open_rows(
        self, caption: Text, cell: tuple[str, str] | None = None, slice_: tuple[str, str] | None = None
    ) -> None:
        from core.analysis.errors import cell_rows, slice_rows

        try:
            if cell is not None:
                rows = cell_rows(self.app.store, self.run_id, *cell)
            else:
                assert slice_ is not None
                rows = slice_rows(self.app.store, self.run_id, *slice_)
        except MlloopError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        if len(rows) > MAX_ROWS:
            caption = caption + Text(f"\nthe first {MAX_ROWS} of {len(rows):,} rows", style="dim")
        self.app.call_from_thread(self._push, rows[:MAX_ROWS], caption, None)

    def _push(self, rows: list[int], caption: Text, scores: tuple[str, dict[int, float]] | None) -> None:
        from mlloop_tui.screens.data_rows import DataRowsScreen

        if not rows:
            self.notify("no rows here", timeout=3)
            return
        assert self.analysis is not None
        self.app.push_screen(DataRowsScreen(self.analysis.dataset, rows, (), caption, scores))

    def action_back(self) -> None:
        self.app.pop_screen()
