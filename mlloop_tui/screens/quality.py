"""The data-quality panel: what is wrong with a dataset, most severe first, and where.

:func:`core.analysis.quality.check_quality` runs in a child process with ``jobs=-1`` (its model fits,
leakage, shift and mislabeled rows, go to that child's worker processes; see
:class:`~mlloop_tui.screens.computing.ComputingScreen`), so the app's process fits nothing and the
screen stays responsive; leaving it kills the child and its workers at once. The findings are a
sortable table (``s`` / ``S`` or a click on a header); the highlighted one's full message,
suggested action and rows are shown below it, and Enter opens the rows it points at
(:class:`~mlloop_tui.screens.data_rows.DataRowsScreen`). Messages name columns from the
user's file, so every finding's text goes through :func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static

from core.analysis.findings import SEVERITIES, Finding
from core.errors import MlloopError
from core.text import printable
from mlloop_tui.compute import Checked, Failed
from mlloop_tui.runner import QualityRequest
from mlloop_tui.screens.computing import ComputingScreen
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from core.data.versions import Edit, Plan

SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}
ROWS_LISTED = 8  # file row numbers written out under the table; Enter shows them all

# (key, header, sort key, descending first): a click on a header or `s` sorts by it.
COLUMNS: tuple[tuple[str, str, Callable[[Finding], object], bool], ...] = (
    ("severity", "severity", lambda f: SEVERITIES.index(f.severity), False),
    ("kind", "kind", lambda f: f.kind, False),
    ("columns", "columns", lambda f: ", ".join(f.columns).casefold(), False),
    ("rows", "rows", lambda f: f.n_rows, True),
    ("message", "finding", lambda f: f.message.casefold(), False),
)


def sort_findings(findings: Sequence[Finding], column: int, reverse: bool) -> list[int]:
    """Indexes of ``findings`` in display order; ties keep the engine's order (most severe first)."""
    _, _, key, descending = COLUMNS[column]
    return sorted(range(len(findings)), key=lambda i: key(findings[i]), reverse=descending != reverse)


def columns_text(columns: Sequence[str], limit: int = 2) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f" +{len(columns) - limit}" if len(columns) > limit else "")


def fix_question(dataset: str, plan: Plan) -> str:
    """The confirmation of a finding's fix: the version it makes and exactly what changes."""
    lines = [f"Make {plan.name} from {dataset} (which stays as it is):"]
    if plan.dropped_columns:
        lines.append(f"  drop column{'s' if len(plan.dropped_columns) > 1 else ''}: {', '.join(plan.dropped_columns)}")
    if plan.dropped_rows:
        n = len(plan.dropped_rows)
        lines.append(f"  drop {n} row{'s' if n > 1 else ''}: {', '.join(map(str, plan.dropped_rows))}")
    for row, label in plan.relabels:
        lines.append(f"  relabel row {row} to {label}")
    return "\n".join(lines)


def finding_row(f: Finding) -> tuple[Text, ...]:
    return (
        Text(f.severity, style=SEVERITY_STYLE.get(f.severity, "")),
        Text(f.kind),
        literal(columns_text(f.columns), max_width=22),
        Text(f"{f.n_rows:,}" if f.n_rows else "", justify="right"),
        literal(f.message, max_width=70),
    )


def finding_detail(f: Finding) -> Text:
    """Everything about one finding, wrapped: the message, the suggested action, its rows."""
    text = Text(no_wrap=False)
    text.append(f.severity, style=SEVERITY_STYLE.get(f.severity, ""))
    text.append(f" {f.kind}")
    if f.columns:
        text.append(" · ")
        text.append_text(literal(", ".join(f.columns), style="bold"))
    text.append("\n")
    text.append_text(literal(f.message))
    text.append("\n→ ", style="bold green")
    text.append_text(literal(f.action))
    if f.rows:
        listed = ", ".join(map(str, f.rows[:ROWS_LISTED]))
        more = max(f.n_rows, len(f.rows)) - min(len(f.rows), ROWS_LISTED)
        text.append(f"\nrows {listed}" + (f" … +{more}" if more > 0 else ""), style="dim")
        text.append(" · Enter shows them", style="dim")
        if f.reasons:
            text.append(f"\nrow {f.rows[0]}: ", style="dim")
            text.append_text(literal(f.reasons[0], style="dim"))
    elif f.columns:
        text.append("\nEnter shows the first rows with this column first", style="dim")
    return text


class FindingsTable(DataTable):
    """The findings; Enter opens the highlighted one's rows."""

    DEFAULT_CSS = """
    /* no sideways scrolling: the highlighted finding's whole message is written under the table */
    FindingsTable { height: auto; max-height: 60%; min-height: 3; scrollbar-size-horizontal: 0; }
    """

    BINDINGS = [
        Binding("s", "screen.cycle_sort", "Sort", id="quality.sort", tooltip="Sort by the next column"),
        Binding(
            "S", "screen.reverse_sort", "Reverse", show=False, id="quality.reverse", tooltip="Reverse the sort order"
        ),
    ]


class QualityScreen(ComputingScreen):
    """Data-quality findings on one dataset, computed when the screen opens."""

    AUTO_FOCUS = "FindingsTable"

    BINDINGS = [
        Binding("escape", "back", "Back", id="quality.back", tooltip="Back (a check still running is stopped)"),
        Binding(
            "e",
            "export",
            "Export",
            id="quality.export",
            tooltip="Export the dataset's summary with these findings (Markdown, HTML or JSON)",
        ),
        Binding(
            "f",
            "apply_fix",
            "Fix",
            id="quality.fix",
            tooltip="Apply the finding's fix as a new dataset version, after listing what changes",
        ),
        Binding(
            "R",
            "review",
            "Review labels",
            show=False,
            id="quality.review",
            tooltip="Review the dataset's suspicious labels one row at a time: keep, relabel, drop",
        ),
    ]

    DEFAULT_CSS = """
    QualityScreen #status { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap;
                            text-overflow: ellipsis; }
    QualityScreen #detail { height: auto; max-height: 8; padding: 0 1; border-top: solid $primary-muted; }
    """

    def __init__(self, dataset: str) -> None:
        super().__init__()
        self.dataset = dataset
        self.findings: tuple[Finding, ...] = ()
        self._found: list[Finding] = []  # as the check sends them, until it has ended
        self.order: list[int] = []  # finding indexes in table order
        self.sort_column = 0
        self.reverse = False
        self.done = False  # the check has ended, one way or the other
        self.checked = False  # ... and these are its findings
        self._started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield TitleBar("Data quality")
        with Vertical():
            yield Static(id="status")
            yield FindingsTable(cursor_type="row")
            yield Static(id="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(TitleBar).detail = self.dataset
        table = self.query_one(FindingsTable)
        for key, header, _, _ in COLUMNS:
            table.add_column(Text(header, justify="right" if key == "rows" else "left"), key=key)
        table.loading = True
        self.query_one("#detail").display = False
        self._ticker = self.set_interval(1.0, self._show_status)
        self._show_status()
        self.compute(QualityRequest(self.dataset))

    def on_computing_screen_computed(self, message: ComputingScreen.Computed) -> None:
        event = message.event
        if isinstance(event, Finding):
            self._found.append(event)
        elif isinstance(event, Checked):
            self._show(tuple(self._found))
        elif isinstance(event, Failed):
            self._failed(event.message)

    # -- showing ------------------------------------------------------------------------
    def _show_status(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        if not self.done:
            line.append(f"checking… {time.monotonic() - self._started:.0f} s", style="bold")
            line.append(
                " · structure, leakage, shift and mislabeled rows (models fit in worker processes)", style="dim"
            )
        elif not self.findings:
            line.append("no findings: nothing looks wrong", style="green")
        else:
            n = len(self.findings)
            counts = " · ".join(
                f"{sum(f.severity == s for f in self.findings)} {s}"
                for s in SEVERITIES
                if any(f.severity == s for f in self.findings)
            )
            line.append(f"{n} finding{'s' if n != 1 else ''}", style="bold")
            line.append(
                f" ({counts}) · sorted by {COLUMNS[self.sort_column][1]}"
                f"{' (reversed)' if self.reverse else ''} · Enter shows a finding's rows",
                style="dim",
            )
        self.query_one("#status", Static).update(line)

    def _failed(self, message: str) -> None:
        self.done = True
        self._ticker.stop()
        self.query_one(FindingsTable).loading = False
        self.query_one("#status", Static).update(literal(message, style="bold red"))

    def _show(self, findings: tuple[Finding, ...]) -> None:
        self._ticker.stop()
        self.findings = findings
        self.done = self.checked = True
        self.query_one(FindingsTable).loading = False
        self._fill()
        self.refresh_bindings()

    def _fill(self) -> None:
        table = self.query_one(FindingsTable)
        current = self.selected()
        self.order = sort_findings(self.findings, self.sort_column, self.reverse)
        table.clear()
        for i in self.order:
            table.add_row(*finding_row(self.findings[i]), key=str(i))
        if current is not None:
            table.move_cursor(row=self.order.index(self.findings.index(current)), animate=False)
        self._show_status()
        self._show_detail()

    def selected(self) -> Finding | None:
        row = self.query_one(FindingsTable).cursor_row
        return self.findings[self.order[row]] if self.order and 0 <= row < len(self.order) else None

    def _show_detail(self) -> None:
        f = self.selected()
        detail = self.query_one("#detail", Static)
        detail.display = f is not None
        detail.update(finding_detail(f) if f is not None else Text(""))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = event.column_index
        if column == self.sort_column:
            self.reverse = not self.reverse
        else:
            self.sort_column, self.reverse = column, False
        self._fill()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_rows()

    # -- actions ------------------------------------------------------------------------
    def action_cycle_sort(self) -> None:
        self.sort_column, self.reverse = (self.sort_column + 1) % len(COLUMNS), False
        self._fill()

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._fill()

    def action_open_rows(self) -> None:
        from mlloop_tui.screens.data_rows import DataRowsScreen

        f = self.selected()
        if f is None:
            return
        if not f.rows and not f.columns:
            self.notify("this finding does not point at particular rows or columns", timeout=3)
            return
        caption = Text.assemble((f.kind, "bold"), " · ", literal(f.message))
        caption.no_wrap = False
        if not f.rows:
            caption.append("\nthe finding is about the whole column: here are the file's first rows", style="dim")
        elif f.n_rows > len(f.rows):
            caption.append(f"\nthe first {len(f.rows)} of {f.n_rows:,} rows", style="dim")
        scores = ("p(own label)", dict(zip(f.rows, f.scores))) if f.scores else None
        notes = ("why", dict(zip(f.rows, f.reasons))) if f.reasons else None
        self.app.push_screen(DataRowsScreen(self.dataset, f.rows or None, f.columns, caption, scores, notes))

    def action_apply_fix(self) -> None:
        f = self.selected()
        if f is None:
            return
        if not f.edit:
            self.notify("this finding has no fix a new version can apply", timeout=3)
            return
        self.plan_fix(f.edit, f.kind)

    @work(thread=True, exclusive=True, group="quality-fix", exit_on_error=False, description="planning a version")
    def plan_fix(self, args: tuple[str, ...], kind: str) -> None:
        from core.data.versions import edit_from_args, preview_version

        try:
            edit = edit_from_args(args, note=f"fix of the quality finding {kind!r}")
            plan = preview_version(self.app.store, self.dataset, edit)
        except MlloopError as e:
            self.app.call_from_thread(self.notify, printable(str(e)), severity="error", timeout=8, markup=False)
            return
        self.app.call_from_thread(self._confirm_fix, edit, plan)

    def _confirm_fix(self, edit: Edit, plan: Plan) -> None:
        from mlloop_tui.dialogs.confirm import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self.apply_fix(edit)

        self.app.push_screen(ConfirmDialog(fix_question(self.dataset, plan), "Create", id="fix-dialog"), answered)

    @work(thread=True, exclusive=True, group="quality-fix", exit_on_error=False, description="creating a version")
    def apply_fix(self, edit: Edit) -> None:
        from core.data.versions import create_version

        try:
            version = create_version(self.app.store, self.dataset, edit)
        except MlloopError as e:
            self.app.call_from_thread(self.notify, printable(str(e)), severity="error", timeout=8, markup=False)
            return
        message = f"created {version.name}: run it with `mlloop run {version.name}` or n"
        self.app.call_from_thread(self.notify, printable(message), timeout=6, markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply_fix":
            return True if self.checked else None
        if action == "export":
            return True if self.checked else None
        return True

    def action_export(self) -> None:
        from mlloop_tui.dialogs.export_dataset import DatasetExportDialog

        self.app.push_screen(DatasetExportDialog(self.dataset, findings=self.findings))

    def action_review(self) -> None:
        from mlloop_tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self.dataset))

    def action_back(self) -> None:
        self.app.pop_screen()
