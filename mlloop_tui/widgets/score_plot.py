"""A line plot of scores against a setting, drawn in the terminal with textual-plotext.

Learning curves (score vs training size), validation curves (score vs a knob) and feature
curves (score vs number of features) all have the same shape: a few settings on x, a mean
score per series on y with a ± standard deviation band over folds, and one setting worth
marking (the best). :class:`ScorePlot` draws exactly that and nothing else, so every view
plots the same way.

Plotext prints its labels as they are, so only text written by this program goes into the
plot (metric and parameter names, numbers); names that come from data belong in a
:func:`~mlloop_tui.widgets.literal.literal` caption next to it. The series colours are the
eight ANSI colours, readable in a 16-colour terminal.

A log x axis is drawn by plotting log10(x) with ticks labelled in x: plotext's own
``xscale("log")`` takes the log of the stored data again on every build, and a widget is
built on every repaint, so the second paint fails (``math domain error``) or is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual_plotext import PlotextPlot

SERIES_COLORS = ("blue", "red", "green", "magenta", "cyan", "yellow")


@dataclass(frozen=True)
class Series:
    """One line: ``mean[i]`` (± ``std[i]``, when given) at ``x[i]``; NaN means no value yet."""

    label: str
    x: Sequence[float]
    mean: Sequence[float]
    std: Sequence[float] | None = None


@dataclass(frozen=True)
class Mark:
    """A vertical line at ``x`` with a short ``label`` (e.g. the best setting)."""

    x: float
    label: str


class ScorePlot(PlotextPlot):
    """Scores against a setting: one line per series, its ± std band, an optional mark."""

    DEFAULT_CSS = """
    ScorePlot {
        height: 14;
        min-height: 8;
        width: 1fr;
    }
    """

    def show(
        self,
        series: Sequence[Series],
        *,
        title: str,
        xlabel: str,
        ylabel: str,
        log_x: bool = False,
        xticks: tuple[Sequence[float], Sequence[str]] | None = None,
        mark: Mark | None = None,
    ) -> None:
        """Replace what is drawn. ``xticks`` gives positions and labels for non-numeric settings."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel(xlabel)
        plt.ylabel(ylabel)
        scale = math.log10 if log_x else float
        lines = []
        for color, s in zip(_cycle(len(series)), series):
            points = [
                (scale(x), m, sd)
                for x, m, sd in zip(s.x, s.mean, s.std or [math.nan] * len(s.x))
                if _finite(m) and (not log_x or x > 0)
            ]
            if points:
                lines.append((color, s.label, points))
        for color, _, points in lines:  # the bands first, so the mean lines are drawn over them
            if any(_finite(sd) for _, _, sd in points):
                xs = [x for x, _, _ in points]
                for sign in (1, -1):
                    plt.plot(
                        xs, [m + sign * (sd if _finite(sd) else 0.0) for _, m, sd in points], color=color, marker="·"
                    )
        for color, label, points in lines:
            plt.plot([x for x, _, _ in points], [m for _, m, _ in points], color=color, marker="hd", label=label)
        drawn = bool(lines)
        if xticks is not None:
            shown = [(x, label) for x, label in zip(*xticks) if not log_x or x > 0]
            plt.xticks([scale(x) for x, _ in shown], [label for _, label in shown])
        elif log_x and drawn:
            xs = [x for _, _, points in lines for x, _, _ in points]
            plt.xticks(*_log_ticks(10 ** min(xs), 10 ** max(xs)))
        if mark is not None and drawn and (not log_x or mark.x > 0):
            plt.vline(scale(mark.x), "gray")
            plt.text(mark.label, scale(mark.x), _bottom(series), color="gray")
        self.refresh()


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks at 1, 2, 5 × 10^k between ``lo`` and ``hi`` (powers of ten only when that is too many), in log10."""
    exponents = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    nice = [(m, m * 10.0**e) for e in exponents for m in (1, 2, 5) if lo * (1 - 1e-9) <= m * 10.0**e <= hi * (1 + 1e-9)]
    values = [v for m, v in nice if len(nice) <= 7 or m == 1]
    if len(values) < 2:
        values = sorted({lo, hi})
    return [math.log10(v) for v in values], [f"{v:g}" for v in values]


def _cycle(n: int) -> list[str]:
    return [SERIES_COLORS[i % len(SERIES_COLORS)] for i in range(n)]


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _bottom(series: Sequence[Series]) -> float:
    """The lowest drawn value, where the mark's label goes (the legend is at the top left)."""
    lows = [
        m - (sd if s.std is not None and _finite(sd) else 0.0)
        for s in series
        for m, sd in zip(s.mean, s.std or [0.0] * len(s.mean))
        if _finite(m)
    ]
    return min(lows) if lows else 0.0
