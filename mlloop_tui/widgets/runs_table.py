"""The table of runs: sortable by any column, filterable, with marks for comparison.

It shows a :class:`core.store.run_listing.RunListing`, which keeps every run in an in-memory DuckDB
database, and stays quick with 100,000 runs because the table is *virtual*: it holds the order of the
shown runs (a list of ids from one SQL query), and only the rows on screen are ever read back, formatted
and rendered. So opening, sorting, filtering and clearing a filter each cost one query and a screenful,
whatever the number of runs:

- DataTable's per-row bookkeeping (``_row_locations``, ``rows``, ``_data``, ``ordered_rows``,
  ``_y_offsets``) is replaced by views over that list (:mod:`mlloop_tui.widgets.virtual_rows`): textual 8.2
  private API, guarded by ``tests/tui/test_runs_table.py``;
- each run's cells are formatted once and reused while the fields they show are unchanged
  (:class:`_Row`, keyed by a signature of those fields), so a poll repaints only what changed;
- column widths are fitted to every run from the few distinct values they depend on
  (:meth:`RunListing.shape`), and DataTable is told not to measure cells;
- cells are rendered without DataTable's per-cell wrappers (:mod:`mlloop_tui.widgets.cell_lines`).

Row ``i`` is run ``shown_ids[i]``; the cursor follows its run through sorts, filters and polls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, Row, RowKey

from core.modeling.metrics import METRICS, key_metrics
from core.report.formatting import seconds
from core.store.run_listing import ListingShape, MetricRange, RunListing
from core.types import MetricSummary, RunRecord
from mlloop_tui.run_filter import RunFilter
from mlloop_tui.widgets.cell_lines import TextCellsTable
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.scores import mean_std_cell
from mlloop_tui.widgets.virtual_rows import LazyCells, LazyLines, LazyRows, RowLocations

STATUS_STYLE = {
    "done": "green",
    "running": "bold yellow",
    "queued": "yellow",
    "failed": "bold red",
    "cancelled": "magenta",
    "interrupted": "red",
}
GROUP_STYLES = ("cyan", "blue")
DATASET_WIDTH = 16
PAGE_ROWS = 100
"""Runs whose records are read at once when a row is painted that has none yet (and its neighbours)."""
_WIDE_COLUMNS = frozenset({"dataset", "model", "status"})
"""Columns whose text may hold characters wider than one cell (measured with ``cell_len``)."""


@dataclass(frozen=True)
class Column:
    key: str  # also the sort key the listing understands
    label: str
    width: int | None = None


def mean_std(run: RunRecord, metric: str) -> str:
    return _mean_std(run.summaries.get(metric))


def _mean_std(s: MetricSummary | None) -> str:
    return "-" if s is None else mean_std_cell(s.val_mean, s.val_std)


PROGRESS_CELLS = 6


def status_label(run: RunRecord) -> str:
    """The status, or for a running run a small progress bar and its folds: ``██░░░░ 2/6``."""
    return _status_label(run.status, run.n_folds_done, run.n_folds_total)


def _status_label(status: str, n_done: int, n_total: int) -> str:
    if status == "running":
        total = max(n_total, 1)
        done = round(PROGRESS_CELLS * min(n_done, total) / total)
        return f"{'█' * done}{'░' * (PROGRESS_CELLS - done)} {n_done}/{n_total}"
    return status


def status_text(run: RunRecord) -> Text:
    return Text(status_label(run), style=STATUS_STYLE.get(run.status, ""), no_wrap=True)


# A run whose dataset has problems that inflate its scores (core.analysis.trust): its dataset cell
# starts with this marker; the run's detail says why.
WARNED_PREFIX = "! "
WARNED_STYLE = "bold red"


@lru_cache(maxsize=1024)
def _dataset_label(name: str) -> str:
    """The dataset cell's text: :func:`literal` (control characters made visible), cut to fit."""
    return literal(name, max_width=DATASET_WIDTH).plain


class _Row:
    """One run's cells after the mark: formatted once, reused while ``signature`` is unchanged.

    A row holds no reference to its record: a poll's new records replace the old ones, and rows
    that are reused must not keep those alive.
    """

    __slots__ = ("signature", "texts", "group_style", "status_style", "warned", "_cells")

    def __init__(self, signature: tuple, record: RunRecord, metrics: tuple[str, ...]) -> None:
        self.signature = signature
        self.texts: tuple[str, ...] = (
            str(record.id),
            f"g{record.group_id}",
            (WARNED_PREFIX if record.data_warnings else "") + _dataset_label(record.dataset),
            record.model,
            status_label(record),
            *[_mean_std(record.summaries.get(m)) for m in metrics],
            seconds(record.cost_s),
            seconds(record.group_wall_s),
        )
        self.group_style = GROUP_STYLES[record.group_id % 2]
        self.status_style = STATUS_STYLE.get(record.status, "")
        self.warned = bool(record.data_warnings)
        self._cells: tuple[Text, ...] | None = None

    @staticmethod
    def signature_of(r: RunRecord, metrics: tuple[str, ...]) -> tuple:
        """Every field the cells (texts and styles) are made from, besides the id; only plain
        values, so that it holds nothing of the record alive."""
        signature = [
            r.group_id,
            r.dataset,
            bool(r.data_warnings),
            r.model,
            r.status,
            r.n_folds_done,
            r.folds,
            r.repeats,
            r.cost_s,
            r.group_wall_s,
        ]
        for m in metrics:
            s = r.summaries.get(m)
            # NaN is not equal to itself: as the string "nan", an unchanged NaN score compares equal
            signature += (None, None) if s is None else (_comparable(s.val_mean), _comparable(s.val_std))
        return tuple(signature)

    def cells(self) -> tuple[Text, ...]:
        if self._cells is None:
            t = self.texts
            self._cells = (
                Text(t[0], justify="right"),
                Text(t[1], style=self.group_style),
                self._dataset_cell(t[2]),
                Text(t[3]),
                Text(t[4], style=self.status_style, no_wrap=True),
                *[Text(x, justify="right") for x in t[5:]],
            )
        return self._cells

    def _dataset_cell(self, text: str) -> Text:
        """As literal() makes it (the text is already printable); a warned run's marker in red."""
        cell = Text(text, no_wrap=True, end="")
        if self.warned:
            cell.stylize(WARNED_STYLE, 0, len(WARNED_PREFIX))
        return cell


def _comparable(value: float) -> float | str:
    return "nan" if math.isnan(value) else value


_MARK_CELLS = (Text(" ", style="bold green"), Text("✓", style="bold green"))


def _mark_cell(marked: bool) -> Text:
    return _MARK_CELLS[marked]


def _column_widths(columns: list[Column], shape: ListingShape) -> dict[str, int]:
    """Each column's width: its label or its widest text over every run (not only the shown ones,
    so the columns stay put while a filter is typed), from the listing's distinct values."""
    texts: dict[str, list[str]] = {
        "id": [str(shape.max_id)],
        "group": [f"g{shape.max_group}"],
        "dataset": [(WARNED_PREFIX if warned else "") + _dataset_label(name) for name, warned in shape.datasets],
        "model": list(shape.models),
        "status": [_status_label(*s) for s in shape.statuses],
        "time": [seconds(shape.max_cost)] + (["-"] if shape.no_cost else []),
        "wall": [seconds(shape.max_wall)] + (["-"] if shape.no_wall else []),
    }
    widths = {}
    for column in columns:
        if column.width is not None:
            widths[column.key] = column.width
            continue
        values = texts.get(column.key)
        if values is None:  # a metric
            values = _metric_texts(shape.metrics.get(column.key[2:]))
        measure = cell_len if column.key in _WIDE_COLUMNS else len
        widths[column.key] = max([cell_len(column.label), *map(measure, values)])
    return widths


def _metric_texts(r: MetricRange | None) -> list[str]:
    """The widest cells a metric column can hold: from the extreme means with the largest spread
    (a cell's text only grows with the size of its numbers)."""
    if r is None:
        return ["-"]
    texts = ["-"] if r.missing else []
    for mean in (r.min_mean, r.max_mean):
        if not math.isnan(mean):
            if not math.isnan(r.max_std):
                texts.append(_mean_std(MetricSummary("", 0, 0, mean, r.max_std, 2)))
            if r.single:
                texts.append(_mean_std(MetricSummary("", 0, 0, mean, math.nan, 1)))
    return texts


class RunsTable(TextCellsTable):
    """Runs, one per row, keyed by run id."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    """

    BINDINGS = [
        Binding("space", "toggle_mark", "Mark", id="runs.mark", tooltip="Mark or unmark the run for comparison"),
        Binding("s", "cycle_sort", "Sort", show=False, id="runs.sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="runs.reverse", tooltip="Reverse the sort order"),
    ]

    class MarksChanged(Message):
        def __init__(self, marked: frozenset[int]) -> None:
            super().__init__()
            self.marked = marked

    class SortChanged(Message):
        def __init__(self, label: str, descending: bool) -> None:
            super().__init__()
            self.label = label
            self.descending = descending

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.listing: RunListing | None = None
        self.marked: set[int] = set()
        self.run_filter: RunFilter | None = None
        self.columns_spec: list[Column] = []
        self.sort_index = 0
        self.descending = True
        self._metrics: list[str] = []
        self._records: dict[int, RunRecord] = {}  # the runs read back from the listing, by id
        self._rows: dict[int, _Row] = {}  # their formatted rows
        self._rows_metrics: tuple[str, ...] = ()  # the metric columns those rows were formatted for
        self._widths: dict[str, int] = {}
        self._install([])

    # -- data in -------------------------------------------------------------------------
    def set_listing(self, listing: RunListing) -> None:
        """Show this listing (the table closes it when the next one comes)."""
        old, self.listing = self.listing, listing
        self.marked = listing.present(self.marked)
        tasks = listing.tasks
        self._metrics = list(dict.fromkeys(m.name for task in tasks for m in key_metrics(task)))
        self._records = {}
        self._refresh_rows(listing_changed=True)
        if old is not None:
            old.close()

    def set_filter(self, run_filter: RunFilter | None) -> None:
        self.run_filter = run_filter
        self._refresh_rows()

    @property
    def metric_names(self) -> list[str]:
        """The key metrics of the tasks present, one column each."""
        return self._metrics

    @property
    def run_count(self) -> int:
        """Every run in the listing, shown or not."""
        return 0 if self.listing is None else self.listing.count

    @property
    def shown_ids(self) -> list[int]:
        """The runs that pass the filter, in display order."""
        return list(self._row_locations.ids)

    def selected_id(self) -> int | None:
        ids = self._row_locations.ids
        return ids[self.cursor_row] if 0 <= self.cursor_row < len(ids) else None

    def selected(self) -> RunRecord | None:
        rid = self.selected_id()
        return None if rid is None else self.record(rid)

    def record(self, rid: int) -> RunRecord | None:
        """A shown run's record, read from the listing with those around it if it is not yet."""
        record = self._records.get(rid)
        if record is None and self.listing is not None:
            index = self._row_locations.index_of(rid)
            if index is None:
                return None
            if len(self._records) > 20 * PAGE_ROWS:  # scrolled far and wide: keep memory flat
                self._records, self._rows = {}, {}
            ids = self._row_locations.ids
            page = max(PAGE_ROWS, 2 * self.size.height)
            self._records.update(self.listing.records(ids[max(index - page // 4, 0) : index + page]))
            record = self._records.get(rid)
        return record

    def cells_of(self, rid: int) -> dict[ColumnKey, Text]:
        """A shown run's cells by column key (for DataTable: see :class:`LazyCells`)."""
        row = self._row(rid)
        keys = [c.key for c in self.ordered_columns]
        return dict(zip(keys, (_mark_cell(rid in self.marked), *row.cells())))

    # -- actions -------------------------------------------------------------------------
    def action_toggle_mark(self) -> None:
        rid = self.selected_id()
        if rid is None:
            return
        self.marked.symmetric_difference_update({rid})
        self._repaint()
        self.post_message(self.MarksChanged(frozenset(self.marked)))
        if self.cursor_row < self.row_count - 1:
            self.move_cursor(row=self.cursor_row + 1)

    def clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self._repaint()
            self.post_message(self.MarksChanged(frozenset()))

    def action_cycle_sort(self) -> None:
        if not self.columns_spec:
            return
        self.sort_by((self.sort_index + 1) % len(self.columns_spec))

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._refresh_rows()
        self._announce_sort()

    def sort_by(self, index: int, descending: bool | None = None) -> None:
        self.sort_index = index
        if descending is not None:
            self.descending = descending
        self._refresh_rows()
        self._announce_sort()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        index = event.column_index
        if index == self.sort_index:
            self.action_reverse_sort()
        else:
            self.sort_by(index)

    def _announce_sort(self) -> None:
        if self.columns_spec:
            self.post_message(self.SortChanged(self.columns_spec[self.sort_index].label, self.descending))

    # -- rendering -----------------------------------------------------------------------
    def _columns(self) -> list[Column]:
        cols = [
            Column("mark", "✓", 1),
            Column("id", "id"),
            Column("group", "grp"),
            Column("dataset", "dataset"),
            Column("model", "model"),
            Column("status", "status"),
        ]
        cols += [Column(f"m:{m}", METRICS[m].label) for m in self.metric_names]
        cols += [Column("time", "cost"), Column("wall", "wall")]
        return cols

    def _row(self, rid: int) -> _Row:
        """The run's formatted row: the one made before while the fields it shows are unchanged."""
        metrics = tuple(self._metrics)
        if metrics != self._rows_metrics:
            self._rows, self._rows_metrics = {}, metrics
        record = self.record(rid)
        if record is None:
            raise KeyError(rid)
        row = self._rows.get(rid)
        signature = _Row.signature_of(record, metrics)
        if row is None or row.signature != signature:
            row = self._rows[rid] = _Row(signature, record, metrics)
        return row

    def _refresh_rows(self, listing_changed: bool = False) -> None:
        """Show the runs that pass the filter, sorted: one query for their order; the rows on
        screen are read and formatted when painted."""
        if self.listing is None:
            return
        columns = self._columns()
        relabel = [c.key for c in columns] != [c.key for c in self.columns_spec]
        if relabel:
            sort_key = self.columns_spec[self.sort_index].key if self.columns_spec else "id"
            self.columns_spec = columns
            self.sort_index = next((i for i, c in enumerate(columns) if c.key == sort_key), 1)
        if listing_changed or relabel:
            self._widths = _column_widths(self.columns_spec, self.listing.shape)
        selected = self.selected_id()
        terms = self.run_filter.terms if self.run_filter is not None else ()
        order = self.listing.order(terms, self.columns_spec[self.sort_index].key, self.descending, self.marked)
        if relabel:
            self._install([])  # nothing for DataTable to clear or to fill with the new columns' default
            self.clear(columns=True)
            for c in self.columns_spec:
                self.add_column(Text(c.label), key=c.key, width=self._widths[c.key])
        else:
            for key, column in self.columns.items():
                column.width = self._widths[key.value]
        self._install(order)
        target = None if selected is None else self._row_locations.index_of(selected)
        self.move_cursor(row=target if target is not None else 0, animate=False)
        self._repaint(cells_changed=listing_changed or relabel)

    def _install(self, order: list[int]) -> None:
        locations = RowLocations(order)
        self._row_locations = locations
        self.rows = LazyRows(locations)  # type: ignore[assignment]
        self._data = LazyCells(self, locations)  # type: ignore[assignment]

    def _repaint(self, cells_changed: bool = True) -> None:
        """Repaint after the cells changed (DataTable keys its caches by ``_update_count``), or
        after only the order did: then each run's rendered cells (cached by run and by whether
        the cursor is on it) stay valid, and only what is cached by position is dropped, so
        going back to an order seen before (clearing a filter) renders nothing anew."""
        if cells_changed:
            self._update_count += 1
            self._clear_caches()
        else:
            for cache in (self._row_renderable_cache, self._row_render_cache, self._line_cache):
                cache.clear()
            self._offset_cache.clear()
            self._ordered_row_cache.clear()
        self._update_dimensions(())
        self.refresh()

    # -- DataTable's per-row bookkeeping, replaced (see the module's docstring) -------------
    @property  # type: ignore[override]
    def _row_locations(self) -> RowLocations:
        return self._locations

    @_row_locations.setter
    def _row_locations(self, value: object) -> None:
        # DataTable sets a new TwoWayDict when it clears (its rows are then none)
        self._locations = value if isinstance(value, RowLocations) else RowLocations([])

    @property
    def ordered_rows(self) -> list[Row]:
        return LazyLines(self._row_locations, rows=True)  # type: ignore[return-value]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        return LazyLines(self._row_locations, rows=False)  # type: ignore[return-value]

    def _get_row_region(self, row_index: int) -> Region:
        """Row ``i`` is line ``i`` (DataTable adds up the heights of every row above it)."""
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        return super()._get_row_region(0).translate((0, row_index))

    def _get_cell_region(self, coordinate: Coordinate) -> Region:
        """As :meth:`_get_row_region`."""
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        return super()._get_cell_region(Coordinate(0, coordinate.column)).translate((0, coordinate.row))

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Skip DataTable's measuring of new rows: every column has an explicit width fitted to
        every run (:func:`_column_widths`), rows are one line high and have no labels, so there
        is nothing to measure: passing no rows keeps only the virtual-size update."""
        super()._update_dimensions(())
