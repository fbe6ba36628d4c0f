"""Scores and metric names as the app's tables show them: the metrics registry's formatting
(:mod:`core.modeling.metrics`) at the screen's width of three decimals, and a metric's label
with the direction that is better."""

from __future__ import annotations

from rich.text import Text

from core.modeling.metrics import METRICS, format_delta, format_mean_std, format_score
from mlloop_tui.widgets.literal import literal

SCREEN_DIGITS = 3  # a loss of 2e-16 shows as 0.000; exports and the CLI keep four


def score_text(value: float | None) -> str:
    return format_score(value, SCREEN_DIGITS)


def delta_cell(value: float | None) -> str:
    return format_delta(value, SCREEN_DIGITS)


def mean_std_cell(mean: float, std: float) -> str:
    return format_mean_std(mean, std, SCREEN_DIGITS, compact=True)


def metric_label(name: str, arrow: bool = True, short: bool = False) -> Text:
    """``accuracy ↑`` / ``log loss ↓`` (``short``: ``bal. acc.`` where a column is one metric wide)."""
    metric = METRICS.get(name)
    if metric is None:
        return literal(name, max_width=12 if short else 16)
    label = Text(metric.short if short else metric.label, no_wrap=True, end="")
    if arrow:
        label.append(f" {metric.arrow}", style="dim")
    return label
