"""A run's scores as tables: the summary over folds, and one row per fold.

:class:`ScoreSummaryTable` shows, per metric, train and validation mean ± std and the gap
between them, judged by the metric's direction (a large gap in train's favour is the first
sign of overfitting). :class:`FoldTable` shows every fold's sizes, fit time and train /
validation scores; it is fed the same :class:`core.types.FoldScore` tuples again and again as
a run streams, and only appends or updates the rows that changed, so the cursor stays put.

Both are plain ``DataTable`` subclasses with their own CSS, so the run detail and the
comparison screens can share them. The numbers are the store's: nothing is computed here but
the difference of two stored means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from core.modeling.metrics import METRICS, metric_order
from core.types import FoldScore, MetricSummary, Task
from mlloop_tui.widgets.scores import mean_std_cell, metric_label, score_text


def fmt_number(value: float | None, digits: int = 3) -> str:
    """A score or coefficient in a fixed-width friendly form; NaN/None as ``-``."""
    if value is None or not math.isfinite(value):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1e5 or (0 < magnitude < 10**-digits):
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}f}"


def gap_text(summary: MetricSummary) -> Text:
    """train − validation, signed, with which side is better for this metric.

    Training scores better than validation by more than the spread of the validation folds
    is highlighted: that is where overfitting shows first.
    """
    gap = summary.train_mean - summary.val_mean
    if not math.isfinite(gap):
        return Text("-", justify="right", no_wrap=True)
    metric = METRICS.get(summary.metric)
    greater_is_better = True if metric is None else metric.greater_is_better
    train_better = gap > 0 if greater_is_better else gap < 0
    noise = summary.val_std if math.isfinite(summary.val_std) else 0.0
    scale = max(abs(summary.train_mean), abs(summary.val_mean), 1e-12)
    text = Text((f"{gap:+.3f}" if abs(gap) < 1e5 else f"{gap:+.2e}").rjust(7), no_wrap=True, end="")
    if abs(gap) <= 1e-3 * scale:
        text.append("  even", style="dim")
    elif train_better:
        big = abs(gap) > noise
        text.stylize("bold yellow" if big else "")
        text.append("  train better", style="yellow" if big else "dim")
    else:
        text.append("  val. better", style="dim")
    return text


class ScoreSummaryTable(DataTable):
    """Per metric: train mean ± std, validation mean ± std, and the train − validation gap."""

    DEFAULT_CSS = """
    ScoreSummaryTable { height: auto; max-height: 8; }
    """

    COLUMNS = (("metric", "metric"), ("train", "train"), ("val", "validation"), ("gap", "gap train − val."))

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)
        self._rows: list[tuple] = []

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(Text(label, justify="left" if key == "metric" else "right"), key=key)

    def set_summaries(self, task: Task, summaries: dict[str, MetricSummary]) -> None:
        rows = []
        for name in metric_order(task, list(summaries)):
            s = summaries[name]
            rows.append(
                (
                    name,
                    (
                        metric_label(name),
                        Text(mean_std_cell(s.train_mean, s.train_std), justify="right", no_wrap=True),
                        Text(mean_std_cell(s.val_mean, s.val_std), justify="right", no_wrap=True, style="bold"),
                        gap_text(s),
                    ),
                )
            )
        if rows == self._rows:
            return
        row = self.cursor_row
        self.clear()
        for name, cells in rows:
            self.add_row(*cells, key=name)
        self._rows = rows
        if 0 < row < len(rows):
            self.move_cursor(row=row, animate=False)


class FoldTable(DataTable):
    """One row per finished fold: fold, repeat, sizes, fit time, then train / val per metric."""

    DEFAULT_CSS = """
    FoldTable { height: auto; max-height: 75vh; }
    """

    LEAD = (("fold", "fold"), ("repeat", "rep"), ("n_train", "n train"), ("n_val", "n val"), ("fit", "fit s"))

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("header_height", 2)
        kwargs.setdefault("fixed_columns", 1)
        super().__init__(**kwargs)
        self.metrics: list[str] = []
        self._rows: dict[int, tuple] = {}
        self._order: list[int] = []

    @property
    def fold_indexes(self) -> list[int]:
        return list(self._order)

    def set_folds(self, task: Task, folds: Sequence[FoldScore]) -> None:
        """Show these folds; rows already shown and unchanged are left alone."""
        metrics = metric_order(task, [m for f in folds for m in (*f.train, *f.validation)])
        if metrics != self.metrics or not self.columns:
            self.metrics = metrics
            self._set_columns()
        rows = {f.index: self._row(f) for f in folds}
        order = [f.index for f in folds]
        if order[: len(self._order)] != self._order:
            row = self.cursor_row
            self.clear()
            self._order, self._rows = [], {}
            self._append(order, rows)
            if 0 < row < len(order):
                self.move_cursor(row=row, animate=False)
            return
        for index in self._order:
            if rows[index] != self._rows[index]:
                for key, cell in zip(self._keys(), rows[index]):
                    self.update_cell(str(index), key, cell)
                self._rows[index] = rows[index]
        self._append(order[len(self._order) :], rows)

    def _append(self, indexes: list[int], rows: dict[int, tuple]) -> None:
        for index in indexes:
            self.add_row(*rows[index], key=str(index))
            self._rows[index] = rows[index]
            self._order.append(index)

    def _keys(self) -> list[str]:
        return [k for k, _ in self.LEAD] + [f"{side}:{m}" for m in self.metrics for side in ("train", "val")]

    def _set_columns(self) -> None:
        self.clear(columns=True)
        self._order, self._rows = [], {}
        for key, label in self.LEAD:
            self.add_column(Text(f"\n{label}", justify="left" if key == "fold" else "right"), key=key)
        for m in self.metrics:
            name = metric_label(m, arrow=False, short=True)
            for side in ("train", "val"):
                header = name.copy() if side == "train" else Text("")
                header.append("\n")
                header.append(side, style="dim" if side == "train" else "bold")
                header.justify = "right"
                self.add_column(header, key=f"{side}:{m}")

    def _row(self, f: FoldScore) -> tuple:
        cells: list[Text] = [
            Text(str(f.fold + 1), no_wrap=True),
            Text(str(f.repeat + 1), justify="right", no_wrap=True),
            Text(f"{f.n_train:,}", justify="right", no_wrap=True),
            Text(f"{f.n_val:,}", justify="right", no_wrap=True),
            Text(f"{f.fit_time:.2f}" if math.isfinite(f.fit_time) else "-", justify="right", no_wrap=True),
        ]
        for m in self.metrics:
            cells.append(Text(score_text(f.train.get(m)), justify="right", no_wrap=True, style="dim"))
            cells.append(Text(score_text(f.validation.get(m)), justify="right", no_wrap=True))
        return tuple(cells)
