"""One curve of a run, drawn as it is computed: a :class:`ScorePlot` and a caption under it.

A learning curve plots train and validation scores (mean ± std over the run's folds) against
the training rows on a log axis; a validation curve plots them against the model's knob (log
axis when the values are numbers spanning ``LOG_X_RATIO`` or more, the values as ticks when
they are not all numbers) and marks the best setting. The caption says how many points are
done of how many the key computes, and where the curve peaks; it is the only place for text
that comes from data (parameter values), so it goes through
:func:`~mlloop_tui.widgets.literal.literal`. The panel never reads the store: the screen
hands it a :class:`core.analysis.curves.Curve` whenever the stored points change.
"""

from __future__ import annotations

import math
from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from core.analysis.curve_settings import size_unit, value_label
from core.analysis.curves import Curve
from core.modeling.metrics import METRICS
from core.text import printable
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.score_plot import Mark, ScorePlot, Series


def with_plan(stored: Curve | None, plan: Curve | None) -> Curve | None:
    """The stored points over the settings the key would compute, so ``done/expected`` counts the whole curve.

    A stored curve with settings the plan does not have (computed from the command line with
    other sizes or values) is shown as stored.
    """
    if plan is None:
        return stored
    if stored is None:
        return replace(plan, points=())
    planned = {s.label for s in plan.settings}
    if stored.param != plan.param or any(s.label not in planned for s in stored.settings):
        return stored
    return replace(plan, points=stored.points)


def curve_series(curve: Curve) -> list[Series]:
    rows = curve.rows()
    xs = [r.x for r in rows]
    return [
        Series("train", xs, [r.train_mean for r in rows], [r.train_std for r in rows]),
        Series("validation", xs, [r.val_mean for r in rows], [r.val_std for r in rows]),
    ]


def numeric_settings(curve: Curve) -> bool:
    return all(isinstance(s.value, (int, float)) and not isinstance(s.value, bool) for s in curve.settings)


def _score(curve: Curve, index: int) -> str:
    value = curve.rows()[index].val_mean
    return f"{value:.3f}" if math.isfinite(value) else "-"


def curve_caption(curve: Curve | None, computing: bool, key: str, empty: str) -> Text:
    """``learning curve · 12/18 points (3 folds) · computing… (l cancels)``, best setting, failures."""
    if curve is None:
        return Text(empty, style="dim")
    metric = METRICS[curve.key_metric].label if curve.key_metric in METRICS else curve.key_metric
    done, expected = len(curve.points), curve.n_expected
    text = Text(f"{curve.kind} curve", style="bold")
    if curve.kind == "validation":
        text.append_text(literal(f" over {curve.param}", style="bold"))
    text.append(f" · {done}/{expected} points ({curve.n_folds} folds)")
    if computing:
        text.append(f" · computing… ({key} cancels)", style="yellow")
    elif not curve.complete:
        text.append(f" · incomplete: {key} computes the rest", style="dim")
    if curve.kind == "validation":
        best = curve.best
        if best is not None:
            text.append(" · best ")
            text.append_text(literal(f"{curve.param}={curve.settings[best].label}", style="bold green"))
            text.append(f" (validation {metric} {_score(curve, best)})")
        if curve.current is not None:
            text.append(" · this run ")
            text.append_text(literal(curve.settings[curve.current].label))
    failed = [p for p in curve.points if p.error]
    if failed:
        text.append(f" · {len(failed)} point{'s' if len(failed) != 1 else ''} failed: ", style="red")
        text.append_text(literal(failed[0].error, max_width=80))
    for note in curve.notes:
        text.append(" · ")
        text.append_text(literal(note, style="dim"))
    text.no_wrap = False
    return text


class CurvePanel(Vertical):
    """A curve's plot and caption; :meth:`show_curve` redraws both."""

    DEFAULT_CSS = """
    CurvePanel { height: auto; }
    CurvePanel ScorePlot { height: 13; }
    CurvePanel .caption { height: auto; }
    CurvePanel .hidden { display: none; }
    """

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind
        self.curve: Curve | None = None
        self.caption = Text()

    def compose(self) -> ComposeResult:
        yield ScorePlot(classes="hidden")
        yield Static(classes="caption")

    def show_curve(self, curve: Curve | None, computing: bool, key: str, empty: str) -> None:
        """Draw ``curve`` (or say how to get one: ``empty``); ``computing`` while a child process fills it."""
        self.curve = curve
        self.caption = curve_caption(curve, computing, key, empty)
        self.query_one(".caption", Static).update(self.caption)
        plot = self.query_one(ScorePlot)
        plot.set_class(curve is None or not curve.points, "hidden")  # an empty frame says nothing
        if curve is None or not curve.points:
            return
        metric = METRICS[curve.key_metric].label if curve.key_metric in METRICS else curve.key_metric
        arrow = "↑" if curve.greater_is_better else "↓"
        if curve.kind == "learning":
            plot.show(
                curve_series(curve),
                title=f"learning curve: {metric} {arrow}",
                xlabel=f"training {size_unit(curve.task)}",
                ylabel=metric,
                log_x=True,
            )
            return
        numeric = numeric_settings(curve)
        ticks = (
            None
            if numeric and curve.log_x
            else ([s.x for s in curve.settings], [printable(value_label(s.value)) for s in curve.settings])
        )
        best = curve.best_setting
        plot.show(
            curve_series(curve),
            title=f"validation curve: {metric} {arrow}",
            xlabel=curve.param,
            ylabel=metric,
            log_x=numeric and curve.log_x,
            xticks=ticks,
            mark=Mark(best.x, "best") if best is not None else None,
        )
