"""The runs screen: every run in the store, live, with filter, sort, marks and compare."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from core.errors import MlloopError
from core.store.run_listing import RunListing
from core.text import printable
from mlloop_tui.run_filter import FilterError, parse_filter
from mlloop_tui.screens.dataset_in_view import DatasetInView, run_in_view
from mlloop_tui.widgets.runs_table import RunsTable
from mlloop_tui.widgets.title_bar import TitleBar

FIRST_READ = 200
"""Runs read and shown first on opening, before the whole store (a screenful and more)."""


def empty_message(key: Callable[[str], str]) -> Text:
    """What the runs screen of an empty store says: the keys (``key``: binding id -> key) that get data in."""
    return Text.assemble(
        "No runs yet. Press ",
        (key("app.load_samples"), "bold"),
        " to load the bundled sample datasets and run the baselines, ",
        (key("app.datasets"), "bold"),
        " to import your own data, or ",
        (key("app.new_run"), "bold"),
        " to start a run.",
    )


class RunsScreen(Screen):
    """All runs, newest first; folds from any process appear as they are committed."""

    AUTO_FOCUS = "#runs"
    _loaded = False  # the whole store has been read at least once
    _error: str | None = None  # why the store could not be read, while it cannot

    BINDINGS = [
        Binding("enter", "open_run", "Open", id="runs.open", tooltip="Open the run's detail"),
        # priority: the focus moves before the keys typed right after "/" are delivered
        Binding(
            "slash",
            "filter",
            "Filter",
            id="runs.filter",
            tooltip="Filter: text, model:tree, accuracy>0.8",
            priority=True,
        ),
        Binding("c", "compare", "Compare", id="runs.compare", tooltip="Compare the marked runs"),
        Binding("e", "export", "Export", id="runs.export", tooltip="Export the run, or the comparison of marked runs"),
        Binding("x", "cancel_run", "Cancel", show=False, id="runs.cancel", tooltip="Stop the selected running run"),
        Binding("escape", "clear", "Clear", show=False, id="runs.clear", tooltip="Clear the filter and the marks"),
        Binding(
            "Q",
            "app.quality",
            "Quality",
            show=False,
            id="runs.quality",
            tooltip="Check the data quality of the selected run's dataset",
        ),
        Binding(
            "F",
            "app.features",
            "Features",
            show=False,
            id="runs.features",
            tooltip="Feature-selection curves of the selected run's model on its dataset",
        ),
        Binding(
            "E",
            "errors",
            "Errors",
            show=False,
            id="runs.errors",
            tooltip="Error analysis of the selected run: confusion matrix or residuals, worst rows, weakest slices",
        ),
    ]

    DEFAULT_CSS = """
    RunsScreen #filter { height: 1; margin: 0 1; }
    RunsScreen #empty { display: none; padding: 1 2; height: auto; }
    RunsScreen #empty.visible { display: block; }
    RunsScreen #empty.-error { color: $error; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield TitleBar("Runs")
        with Vertical():
            yield Input(placeholder="/ filter: text, model:tree, status:done, accuracy>0.8", id="filter", compact=True)
            yield Static(id="empty")
            yield RunsTable(id="runs")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch(self.app, "stamp", self.reload, init=True)

    def reload(self, _stamp: object = None) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False, description="reading runs")
    def load_runs(self) -> None:
        try:
            if not self._loaded:
                # the first read of a big store takes a while: paint the newest screenful first
                first = RunListing.read(self.app.store, limit=FIRST_READ)
                if first.count < FIRST_READ:  # that was all of them
                    self.app.call_from_thread(self._show, first)
                    return
                self.app.call_from_thread(self._show, first, partial=True)
            listing = RunListing.read(self.app.store)
        except MlloopError as e:  # a damaged, newer or locked store: say so now, not on the next screen
            self.app.call_from_thread(self._show_error, str(e))
            return
        self.app.call_from_thread(self._show, listing)

    def _show_error(self, message: str) -> None:
        """The store cannot be read: the panel says why, in the store's own words, until a read works."""
        if self._error != message:
            self.notify(printable(message), severity="error", timeout=10, markup=False)
        self._error = message
        empty = self.query_one("#empty", Static)
        empty.update(Text(printable(message)))
        empty.add_class("visible", "-error")
        self.query_one(TitleBar).detail = "the store cannot be read"

    def _show(self, listing: RunListing, partial: bool = False) -> None:
        self._error = None
        self.query_one("#empty", Static).remove_class("-error")
        started = not partial and not self._loaded
        self._loaded = not partial
        table = self.query_one(RunsTable)
        table.set_listing(listing)
        if started:
            self.app.freeze_heap()
        self.app.note_running(listing.active)
        empty = self.query_one("#empty", Static)
        if listing.count:
            empty.remove_class("visible")
        else:
            empty.update(empty_message(self.app.shown_key))
            empty.add_class("visible")
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        table = self.query_one(RunsTable)
        spec = table.columns_spec[table.sort_index] if table.columns_spec else None
        parts = [f"{table.row_count}/{table.run_count} runs" + ("" if self._loaded else " (reading…)")]
        if spec is not None:
            parts.append(f"sort {spec.label} {'↓' if table.descending else '↑'}")
        if table.marked:
            parts.append(f"{len(table.marked)} marked")
        if table.run_filter and table.run_filter.text:
            parts.append(f"filter: {table.run_filter.text}")
        self.query_one(TitleBar).detail = " · ".join(parts)

    @on(RunsTable.MarksChanged)
    @on(RunsTable.SortChanged)
    def _table_changed(self) -> None:
        self._update_subtitle()

    # -- filter --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The filter key is a priority binding, which would fire even inside the box: there it is
        # off, so "/" (dataset names may hold one) or a letter it was remapped to is typed.
        if action == "filter" and self.focused is not None and self.focused.id == "filter":
            return False
        return True

    def action_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        table = self.query_one(RunsTable)
        try:
            table.set_filter(parse_filter(event.value, set(table.metric_names)))
            event.input.remove_class("-invalid")
        except FilterError as e:
            event.input.add_class("-invalid")
            self.notify(str(e), severity="warning", timeout=3, markup=False)
        self._update_subtitle()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.set_focus(self.query_one(RunsTable))

    def action_clear(self) -> None:
        box = self.query_one("#filter", Input)
        table = self.query_one(RunsTable)
        if box.value:
            box.value = ""
            table.set_filter(None)
        else:
            table.clear_marks()
        self.set_focus(table)
        self._update_subtitle()

    # -- actions on runs -----------------------------------------------------------------
    def action_open_run(self) -> None:
        run_id = self.query_one(RunsTable).selected_id()
        if run_id is not None:
            self.app.open_run(run_id)

    def action_errors(self) -> None:
        from mlloop_tui.screens.errors import ErrorsScreen

        run_id = self.query_one(RunsTable).selected_id()
        if run_id is not None:
            self.app.push_screen(ErrorsScreen(run_id))

    @on(RunsTable.RowSelected)
    def _row_selected(self, event: RunsTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def action_compare(self) -> None:
        marked = sorted(self.query_one(RunsTable).marked)
        if len(marked) < 2:
            mark, compare = self.app.shown_key("runs.mark", RunsTable), self.app.shown_key("runs.compare", self)
            self.notify(f"Mark two or more runs with {mark}, then press {compare}.", severity="warning")
            return
        self.app.open_comparison(marked)

    def action_export(self) -> None:
        table = self.query_one(RunsTable)
        ids = sorted(table.marked) or ([table.selected_id()] if table.selected_id() is not None else [])
        if ids:
            self.app.export_runs(ids)

    def action_cancel_run(self) -> None:
        run = self.query_one(RunsTable).selected()
        if run is not None:
            self.app.cancel_run(run)

    def current_dataset(self) -> DatasetInView | None:
        run = self.query_one(RunsTable).selected()
        return run_in_view(run.dataset, run.model, run.id) if run is not None else None
