"""The table of runs: sortable by any column, filterable, with marks for comparison.

It is fed whole lists of :class:`core.types.RunRecord` (every poll of the store) and stays quick
with 10,000 runs:

- each run's cells are formatted once and reused while the fields they show are unchanged
  (:class:`_Row`, keyed by a signature of those fields), so a poll only touches what changed;
- column widths are computed from those texts, and DataTable is told not to measure cells
  (:meth:`RunsTable._update_dimensions`), which was most of the cost of every refresh;
- sorting reorders the rows in place with :meth:`DataTable.sort`, without rebuilding them;
- a rebuild (opening, filtering) adds the first screenful of rows at once and the rest in
  batches after each screen refresh, so the table paints right away and keys are answered
  while the rest arrives.

Invariant: the table's rows are always a prefix of :attr:`RunsTable.shown_ids`, in order, so
row ``i`` is run ``shown_ids[i]`` and the cursor only ever sits on a run that is in the table.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from core.modeling.metrics import METRICS, key_metrics
from core.types import MetricSummary, RunRecord
from mlloop_tui.run_filter import RunFilter
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.scores import mean_std_cell

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
FIRST_ROWS = 100
"""Rows a rebuild adds at once (more when the viewport is taller or the cursor is further down)."""
BATCH_ROWS = 2000
"""Rows added after each screen refresh until the table holds every shown run."""
_WIDE_COLUMNS = frozenset({"dataset", "model", "status"})
"""Columns whose text may hold characters wider than one cell (measured with ``cell_len``)."""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of row building (restored right after);
    also a decorator.

    Filling the table with 10,000 runs allocates some 350,000 small containers (Text cells,
    DataTable's row dicts); meanwhile the collector runs several full passes over the whole heap
    (600,000 objects), which measured 0.95 s of a 2 s fill. Reference counting frees these
    objects (they form no cycles), so pausing only defers the collector: it then sees the burst
    once, as young objects.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort_key: Callable[[RunRecord], Any]
    width: int | None = None


def _metric_sort(metric: str) -> Callable[[RunRecord], Any]:
    def key(r: RunRecord) -> Any:
        s = r.summaries.get(metric)
        return (s is None or math.isnan(s.val_mean), s.val_mean if s else 0.0)

    return key


def mean_std(run: RunRecord, metric: str) -> str:
    return _mean_std(run.summaries.get(metric))


def _mean_std(s: MetricSummary | None) -> str:
    return "-" if s is None else mean_std_cell(s.val_mean, s.val_std)


PROGRESS_CELLS = 6


def status_label(run: RunRecord) -> str:
    """The status, or for a running run a small progress bar and its folds: ``██░░░░ 2/6``."""
    if run.status == "running":
        total = max(run.n_folds_total, 1)
        done = round(PROGRESS_CELLS * min(run.n_folds_done, total) / total)
        return f"{'█' * done}{'░' * (PROGRESS_CELLS - done)} {run.n_folds_done}/{run.n_folds_total}"
    return run.status


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

    ``texts`` are the plain strings (enough to fit the columns and to compare); the rich Text
    cells are built only when the run first enters the table, since most of 10,000 never do
    before the next change. A row holds no reference to its record: a poll's new records
    replace the old ones, and rows that are reused must not keep those alive.
    """

    __slots__ = ("signature", "texts", "group_style", "status_style", "warned", "_cells")

    def __init__(self, signature: tuple, record: RunRecord, metrics: tuple[str, ...]) -> None:
        self.signature = signature
        d = record.duration_s
        self.texts: tuple[str, ...] = (
            str(record.id),
            f"g{record.group_id}",
            (WARNED_PREFIX if record.data_warnings else "") + _dataset_label(record.dataset),
            record.model,
            status_label(record),
            *[_mean_std(record.summaries.get(m)) for m in metrics],
            f"{d:.1f}s" if d is not None else "-",
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
            r.duration_s,
        ]
        for m in metrics:
            s = r.summaries.get(m)
            signature += (None, None) if s is None else (s.val_mean, s.val_std)
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


def _mark_cell(marked: bool) -> Text:
    return Text("✓" if marked else " ", style="bold green")


class RunsTable(DataTable):
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
        self.records: list[RunRecord] = []
        self.marked: set[int] = set()
        self.run_filter: RunFilter | None = None
        self.columns_spec: list[Column] = []
        self.sort_index = 0
        self.descending = True
        self._shown: list[int] = []
        self._metrics: list[str] = []
        self._by_id: dict[int, RunRecord] = {}
        self._rows: dict[int, _Row] = {}  # every record's formatted row
        self._rows_metrics: tuple[str, ...] = ()  # the metric columns those rows were formatted for
        self._built: dict[int, _Row] = {}  # the rows in the table, as they were when added
        self._widths: dict[str, int] = {}  # column key -> width, fitted to every record
        self._filling = False  # a batch of rows is scheduled

    # -- data in -------------------------------------------------------------------------
    def set_records(self, records: Iterable[RunRecord]) -> None:
        self.records = list(records)
        self._by_id = {r.id: r for r in self.records}
        self.marked &= self._by_id.keys()
        tasks = dict.fromkeys(r.task for r in self.records)
        self._metrics = list(dict.fromkeys(m.name for task in tasks for m in key_metrics(task)))
        self._sync_rows()
        self._refresh_rows(records_changed=True)

    def set_filter(self, run_filter: RunFilter | None) -> None:
        self.run_filter = run_filter
        self._refresh_rows()

    @property
    def metric_names(self) -> list[str]:
        """The key metrics of the tasks present, one column each."""
        return self._metrics

    @property
    def shown_ids(self) -> list[int]:
        """The runs that pass the filter, in display order (some may still be on their way in)."""
        return list(self._shown)

    @property
    def rows_pending(self) -> int:
        """How many shown runs are not in the table yet (they are added after each refresh)."""
        return len(self._shown) - self.row_count

    def selected_id(self) -> int | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= min(len(self._shown), self.row_count):
            return None
        return self._shown[self.cursor_row]

    def selected(self) -> RunRecord | None:
        rid = self.selected_id()
        return None if rid is None else self._by_id.get(rid)

    # -- actions -------------------------------------------------------------------------
    def action_toggle_mark(self) -> None:
        rid = self.selected_id()
        if rid is None:
            return
        self.marked.symmetric_difference_update({rid})
        self._update_row(rid)
        self.post_message(self.MarksChanged(frozenset(self.marked)))
        if self.cursor_row < len(self._shown) - 1:
            self.move_cursor(row=self.cursor_row + 1)

    def clear_marks(self) -> None:
        if self.marked:
            changed = list(self.marked)
            self.marked.clear()
            for rid in changed:
                self._update_row(rid)
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
            Column("mark", "✓", lambda r: r.id in self.marked, 1),
            Column("id", "id", lambda r: r.id),
            Column("group", "grp", lambda r: (r.group_id, r.id)),
            Column("dataset", "dataset", lambda r: r.dataset.lower()),
            Column("model", "model", lambda r: r.model),
            Column("status", "status", lambda r: (r.status, r.n_folds_done)),
        ]
        for m in self.metric_names:
            cols.append(Column(f"m:{m}", METRICS[m].label, _metric_sort(m)))
        cols.append(Column("time", "time", lambda r: r.duration_s if r.duration_s is not None else -1.0))
        return cols

    @_gc_paused()
    def _sync_rows(self) -> None:
        """Format the records whose shown fields changed; reuse every other run's row."""
        metrics = tuple(self._metrics)
        cache = self._rows if metrics == self._rows_metrics else {}
        signature_of = _Row.signature_of
        rows: dict[int, _Row] = {}
        for r in self.records:
            signature = signature_of(r, metrics)
            row = cache.get(r.id)
            if row is None or row.signature != signature:
                row = _Row(signature, r, metrics)
            rows[r.id] = row
        self._rows = rows
        self._rows_metrics = metrics

    def _fit_widths(self, columns: list[Column]) -> dict[str, int]:
        """Each column's width: its label or its widest text over every record (not only the
        shown ones, so the columns stay put while a filter is typed)."""
        texts = list(zip(*(row.texts for row in self._rows.values()))) or [()] * (len(columns) - 1)
        widths = {}
        for column, values in zip(columns[1:], texts):
            measure = cell_len if column.key in _WIDE_COLUMNS else len
            widths[column.key] = max([cell_len(column.label), *map(measure, set(values))])
        widths[columns[0].key] = columns[0].width or 1
        return widths

    @_gc_paused()
    def _refresh_rows(self, records_changed: bool = False) -> None:
        """Show the records that pass the filter, sorted: update, reorder or rebuild the rows."""
        columns = self._columns()
        relabel = [c.key for c in columns] != [c.key for c in self.columns_spec]
        if relabel:
            sort_key = self.columns_spec[self.sort_index].key if self.columns_spec else "id"
            self.columns_spec = columns
            self.sort_index = next((i for i, c in enumerate(columns) if c.key == sort_key), 1)
        widths = self._fit_widths(self.columns_spec) if records_changed or relabel else self._widths
        visible = [r for r in self.records if self.run_filter is None or self.run_filter.matches(r)]
        visible.sort(key=self.columns_spec[self.sort_index].sort_key, reverse=self.descending)
        order = [r.id for r in visible]
        if relabel or widths != self._widths:
            self._widths = widths
            self._rebuild(order, relabel)
            return
        complete = self.row_count == len(self._shown)
        added = [rid for rid in order if rid not in self._built] if complete else []
        if complete and len(self._shown) + len(added) == len(order) and len(added) <= FIRST_ROWS:
            # every shown run is in the table and none leaves it (a poll, a sort): update the
            # changed cells, append the few new runs, and reorder in place
            self._update_changed()
            for rid in added:
                self._add_row(rid)
            self._shown += added
            if order != self._shown:
                self._reorder(order)
        elif order == self._shown:
            self._update_changed()
        else:
            self._rebuild(order, relabel=False)

    def _update_changed(self) -> None:
        """Update the cells of runs in the table whose texts changed since they were added."""
        keys = [c.key for c in self.columns_spec[1:]]
        for rid, built in self._built.items():
            row = self._rows[rid]
            if row is built:
                continue
            if row.texts != built.texts:
                cells = row.cells()
                for key, new, old, cell in zip(keys, row.texts, built.texts, cells):
                    if new != old:
                        self.update_cell(str(rid), key, cell)
            self._built[rid] = row

    def _reorder(self, order: list[int]) -> None:
        """Put the rows (all in the table) in ``order`` without rebuilding or measuring them."""
        selected = self.selected_id()
        position = {rid: i for i, rid in enumerate(order)}
        self.sort("id", key=lambda cell: position[int(cell.plain)])
        self._shown = order
        if selected is not None:
            self.move_cursor(row=position[selected], animate=False)

    def _rebuild(self, order: list[int], relabel: bool) -> None:
        """Refill the table with ``order``: the first screenful now, the rest in batches."""
        selected = self.selected_id()
        if relabel:
            self.clear(columns=True)
            for c in self.columns_spec:
                self.add_column(Text(c.label), key=c.key, width=self._widths[c.key])
        else:
            self.clear()
            for key, column in self.columns.items():
                column.width = self._widths[key.value]
        self._shown = order
        self._built = {}
        try:
            target = None if selected is None else order.index(selected)
        except ValueError:
            target = None
        first = max(FIRST_ROWS, 2 * self.size.height, 0 if target is None else target + self.size.height + 1)
        self._fill_to(first)
        if target is not None:
            self.move_cursor(row=target, animate=False)
        self._schedule_fill()

    def _add_row(self, rid: int) -> None:
        row = self._rows[rid]
        self.add_row(_mark_cell(rid in self.marked), *row.cells(), key=str(rid))
        self._built[rid] = row

    def _fill_to(self, end: int) -> None:
        """Add shown runs to the table until it holds ``end`` rows (or all of them)."""
        for rid in self._shown[self.row_count : end]:
            self._add_row(rid)

    def _schedule_fill(self) -> None:
        if not self._filling and self.row_count < len(self._shown):
            self._filling = self.call_after_refresh(self._fill_batch)

    @_gc_paused()
    def _fill_batch(self) -> None:
        self._filling = False
        self._fill_to(self.row_count + BATCH_ROWS)
        self._schedule_fill()

    def _update_row(self, rid: int) -> None:
        if rid in self._built:
            self.update_cell(str(rid), "mark", _mark_cell(rid in self.marked))

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Skip DataTable's measuring of new rows: textual 8.2 private API, guarded by
        ``tests/tui/test_runs_table.py``.

        DataTable calls this on idle with the rows added since, measures every cell of them to
        grow auto-width columns (90,000 ``measure`` calls for 10,000 runs: seconds), then sets
        the virtual size. Every column here has an explicit width fitted to the same texts
        (:meth:`_fit_widths`), rows are one line high and have no labels, so there is nothing to
        measure: passing no rows keeps only the virtual-size update.
        """
        super()._update_dimensions(())
