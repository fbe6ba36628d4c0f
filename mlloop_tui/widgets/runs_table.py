"""The table of runs: sortable by any column, filterable, with marks for comparison.

It is fed whole lists of :class:`core.types.RunRecord` and redraws only what changed, so a
store with thousands of runs stays quick to refresh while folds stream in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from core.evaluation import METRICS, key_metrics
from core.types import RunRecord
from mlloop_tui.run_filter import RunFilter
from mlloop_tui.widgets.literal import literal

STATUS_STYLE = {
    "done": "green", "running": "bold yellow", "queued": "yellow", "failed": "bold red",
    "cancelled": "magenta", "interrupted": "red",
}
GROUP_STYLES = ("cyan", "blue")


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
    s = run.summaries.get(metric)
    if s is None or math.isnan(s.val_mean):
        return "-"
    return f"{s.val_mean:.3f}" if math.isnan(s.val_std) else f"{s.val_mean:.3f}±{s.val_std:.3f}"


def status_text(run: RunRecord) -> Text:
    label = run.status
    if run.status == "running":
        label = f"running {run.n_folds_done}/{run.n_folds_total}"
    return Text(label, style=STATUS_STYLE.get(run.status, ""), no_wrap=True)


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
        self._cells: dict[int, tuple] = {}

    # -- data in -------------------------------------------------------------------------
    def set_records(self, records: Iterable[RunRecord]) -> None:
        self.records = list(records)
        self.marked &= {r.id for r in self.records}
        self._refresh_rows()

    def set_filter(self, run_filter: RunFilter | None) -> None:
        self.run_filter = run_filter
        self._refresh_rows()

    @property
    def metric_names(self) -> list[str]:
        return list(dict.fromkeys(m.name for r in self.records for m in key_metrics(r.task)))

    @property
    def shown_ids(self) -> list[int]:
        return list(self._shown)

    def selected_id(self) -> int | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row]

    def selected(self) -> RunRecord | None:
        rid = self.selected_id()
        return next((r for r in self.records if r.id == rid), None)

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
        self._refresh_rows(force=True)
        self._announce_sort()

    def sort_by(self, index: int, descending: bool | None = None) -> None:
        self.sort_index = index
        if descending is not None:
            self.descending = descending
        self._refresh_rows(force=True)
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

    def _row(self, r: RunRecord) -> tuple:
        group_style = GROUP_STYLES[r.group_id % 2]
        cells: list[Any] = [
            Text("✓" if r.id in self.marked else " ", style="bold green"),
            Text(str(r.id), justify="right"),
            Text(f"g{r.group_id}", style=group_style),
            literal(r.dataset, max_width=16),
            Text(r.model),
            status_text(r),
        ]
        for m in self.metric_names:
            cells.append(Text(mean_std(r, m), justify="right"))
        cells.append(Text(f"{r.duration_s:.1f}s" if r.duration_s is not None else "-", justify="right"))
        return tuple(cells)

    def _refresh_rows(self, force: bool = False) -> None:
        columns = self._columns()
        relabel = [c.key for c in columns] != [c.key for c in self.columns_spec]
        if relabel:
            sort_key = self.columns_spec[self.sort_index].key if self.columns_spec else "id"
            self.columns_spec = columns
            self.sort_index = next((i for i, c in enumerate(columns) if c.key == sort_key), 1)
        visible = [r for r in self.records if self.run_filter is None or self.run_filter.matches(r)]
        visible.sort(key=self.columns_spec[self.sort_index].sort_key, reverse=self.descending)
        order = [r.id for r in visible]
        rows = {r.id: self._row(r) for r in visible}
        if relabel or force or order != self._shown:
            self._rebuild(order, rows, relabel)
        else:
            for rid in order:
                if rows[rid] != self._cells.get(rid):
                    for col, cell in zip(self.columns_spec, rows[rid]):
                        self.update_cell(str(rid), col.key, cell, update_width=True)
        self._cells = rows

    def _rebuild(self, order: list[int], rows: dict[int, tuple], relabel: bool) -> None:
        selected = self.selected_id()
        if relabel:
            self.clear(columns=True)
            for c in self.columns_spec:
                self.add_column(Text(c.label), key=c.key, width=c.width)
        else:
            self.clear()
        for rid in order:
            self.add_row(*rows[rid], key=str(rid))
        self._shown = order
        if selected in order:
            self.move_cursor(row=order.index(selected), animate=False)

    def _update_row(self, rid: int) -> None:
        record = next((r for r in self.records if r.id == rid), None)
        if record is None or rid not in self._shown:
            return
        row = self._row(record)
        self._cells[rid] = row
        self.update_cell(str(rid), "mark", row[0])
