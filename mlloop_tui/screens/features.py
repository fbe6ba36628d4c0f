"""Do more features help or hurt? Feature-selection curves and the curse of dimensionality.

:func:`core.analysis.feature_selection.feature_curve` runs in a child process with ``jobs=-1`` (see
:class:`~mlloop_tui.screens.computing.ComputingScreen`), which sends each finished (method, k)
point as it comes, so the curve grows on screen while the fits run and the app's process fits
nothing. Leaving the screen kills the child and its workers at once.
:func:`core.analysis.dimensionality.curse_stats` has its own child, started with the first point so
that it does not delay it.

The page is one scrolling column: the score against the number of selected features (one line
per method, ± std over folds, log x, the best k of the method in view marked); each method's
best and one-standard-error k; the features the method in view chose at its best k (``m``
switches method); then the curse: samples per feature, PCA components for 90/95/99% of the
variance, and distance concentration (the relative contrast of distances falling as features
are added). Plots carry only program text; feature names are in the table, through
:func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from core.analysis.dimensionality import CurseStats
from core.analysis.feature_selection import DEFAULT_METHODS, FeatureCurves, FeaturePoint, FeatureProgress
from mlloop_tui.compute import Failed, Started
from mlloop_tui.runner import CurseRequest, FeaturesRequest
from mlloop_tui.screens.computing import ComputingScreen
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.score_plot import Mark, ScorePlot, Series
from mlloop_tui.widgets.title_bar import TitleBar

MAX_CHOSEN = 200  # rows of the chosen-features table; the rest are counted


def _significant(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if math.isfinite(value) else "-"


def method_table(curves: FeatureCurves, selected: str) -> Table:
    """Per method: best k, one-standard-error k, the score at the best k, and any note."""
    grid = Table(box=None, padding=(0, 1), show_edge=False, header_style="dim")
    for header, justify in (
        ("method", "left"),
        ("best k", "right"),
        ("1-SE k", "right"),
        (f"{curves.metric} at best", "right"),
        ("", "left"),
    ):
        grid.add_column(header, justify=justify, no_wrap=header != "")
    for m in curves.methods:
        best = next((p for p in m.points if p.k == m.best_k), None)
        score = f"{_significant(best.mean)} ± {_significant(best.std, 2)}" if best is not None else "-"
        style = "bold" if m.method == selected else ""
        grid.add_row(
            Text(m.method, style=style),
            str(m.best_k or "-"),
            str(m.one_se_k or "-"),
            score,
            literal(m.note or "", style="yellow"),
        )
    return grid


def curse_text(c: CurseStats) -> Text:
    """Samples per feature (the warning highlighted) and the PCA components per variance level."""
    text = Text(no_wrap=False)
    ratio = "∞" if not math.isfinite(c.samples_per_feature) else f"{c.samples_per_feature:.2f}"
    text.append("samples per feature ", style="dim")
    text.append(ratio, style="bold")
    text.append(f" ({c.n_samples:,} development rows / {c.n_features:,} features after preprocessing)")
    if c.warning:
        text.append("\n⚠ ", style="bold yellow")
        text.append_text(literal(c.warning, style="yellow"))
    if c.components_for:
        text.append("\nPCA ", style="dim")
        text.append(" · ".join(f"{t:.0%} of the variance in {n:,} components" for t, n in c.components_for.items()))
        text.append(f" (of {c.n_features:,})", style="dim")
    for note in c.notes:
        text.append("\nnote: ", style="dim")
        text.append_text(literal(note, style="dim"))
    return text


class FeaturesScreen(ComputingScreen):
    """Feature-selection curves of one model on one dataset, live, and the curse statistics."""

    AUTO_FOCUS = "#body"

    BINDINGS = [
        Binding("escape", "back", "Back", id="features.back", tooltip="Back (stops a computation in progress)"),
        Binding(
            "m",
            "next_method",
            "Method",
            id="features.method",
            tooltip="Show the next method's chosen features and best k",
        ),
        Binding(
            "e",
            "export",
            "Export",
            id="features.export",
            tooltip="Export the dataset's summary with these curves (Markdown, HTML or JSON)",
        ),
    ]

    DEFAULT_CSS = """
    FeaturesScreen #body { height: 1fr; padding: 0 1; }
    FeaturesScreen #progress { height: 1; text-wrap: nowrap; text-overflow: ellipsis; background: $boost; }
    FeaturesScreen .section { height: 1; margin-top: 1; text-style: bold; color: $text-accent;
                              text-wrap: nowrap; text-overflow: ellipsis; }
    FeaturesScreen #methods, FeaturesScreen #curse, FeaturesScreen #notes { height: auto; }
    FeaturesScreen #chosen { height: auto; max-height: 12; }
    FeaturesScreen #contrast { height: 12; }
    """

    def __init__(self, dataset: str, model: str = "linear", methods: Sequence[str] = DEFAULT_METHODS) -> None:
        super().__init__()
        self.dataset = dataset
        self.model = model
        self.methods = tuple(methods)
        self.method = self.methods[0]  # the one whose best k is marked and whose choices are listed
        self.metric = ""
        self.greater_is_better = True
        self.points: dict[str, dict[int, FeaturePoint]] = {m: {} for m in self.methods}
        self.done = 0
        self.total = 0
        self.curves: FeatureCurves | None = None
        self.curse: CurseStats | None = None
        self.failed: str | None = None
        self._curse_started = False
        self._started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield TitleBar("Features")
        with VerticalScroll(id="body"):
            yield Static(id="progress")
            yield ScorePlot(id="curve")
            yield Static(id="methods")
            yield Static(id="chosen-title", classes="section")
            yield DataTable(id="chosen", cursor_type="row", show_cursor=False)
            yield Static("Curse of dimensionality", classes="section", markup=False)
            yield Static(Text("computed after the first point of the curves…", style="dim"), id="curse")
            yield ScorePlot(id="contrast")
            yield Static(id="notes")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(TitleBar).detail = f"{self.model} on {self.dataset}"
        table = self.query_one("#chosen", DataTable)
        table.add_column(Text("feature"), key="name")
        table.add_column(Text("selected in folds", justify="right"), key="frequency")
        table.add_column(Text("importance", justify="right"), key="importance")
        self._ticker = self.set_interval(1.0, self._show_progress)
        self._show_progress()
        self._show_curve()
        self._show_chosen()
        self.compute_curves()

    # -- the computations ---------------------------------------------------------------
    def compute_curves(self) -> None:
        self.compute(FeaturesRequest(self.dataset, self.model, self.methods))

    def _start_curse(self) -> None:
        """Once the first point is in: on wide data both would share the cores and the curve's
        first point would come seconds later."""
        if not self._curse_started:
            self._curse_started = True
            self.compute(CurseRequest(self.dataset))

    def on_computing_screen_computed(self, message: ComputingScreen.Computed) -> None:
        event = message.event
        if isinstance(event, Started):
            self._started_on(event.metric, event.greater_is_better)
        elif isinstance(event, FeatureProgress):
            self._point(event)
        elif isinstance(event, FeatureCurves):
            self._finished(event)
        elif isinstance(event, CurseStats):
            self._show_curse(event)
        elif isinstance(event, Failed):
            (self._curse_failed if isinstance(message.request, CurseRequest) else self._failed)(event.message)

    # -- live updates -------------------------------------------------------------------
    def _started_on(self, metric: str, greater_is_better: bool) -> None:
        self.metric, self.greater_is_better = metric, greater_is_better
        self._show_curve()

    def _point(self, progress: FeatureProgress) -> None:
        self.points[progress.method][progress.k] = progress.point
        self.done, self.total = progress.done, progress.total
        self._start_curse()
        self._show_progress(progress)
        self._show_curve()

    def _finished(self, curves: FeatureCurves) -> None:
        self.curves = curves
        self._ticker.stop()
        self._start_curse()
        self.refresh_bindings()
        for m in curves.methods:
            self.points[m.method] = {p.k: p for p in m.points}
        self.metric, self.greater_is_better = curves.metric, curves.greater_is_better
        self._show_progress()
        self._show_curve()
        self._show_chosen()
        notes = Text(no_wrap=False)
        for note in curves.notes:
            notes.append("note: ", style="dim")
            notes.append_text(literal(note))
            notes.append("\n")
        self.query_one("#notes", Static).update(notes)

    def _failed(self, message: str) -> None:
        self.failed = message
        self._ticker.stop()
        self._start_curse()
        self._show_progress()

    def _show_curse(self, stats: CurseStats) -> None:
        self.curse = stats
        self.query_one("#curse", Static).update(curse_text(stats))
        # log10: the contrast falls by orders of magnitude over the first few features
        log_contrast = [math.log10(v) if v > 0 and math.isfinite(v) else math.nan for v in stats.relative_contrast]
        self.query_one("#contrast", ScorePlot).show(
            [Series("log10 relative contrast", stats.contrast_dims, log_contrast)],
            title="distance concentration: (max - min) / min distance to the other rows",
            xlabel="features (random subsets)",
            ylabel="log10 relative contrast",
            log_x=True,
        )

    def _curse_failed(self, message: str) -> None:
        self.query_one("#curse", Static).update(literal(message, style="bold red"))

    # -- drawing ------------------------------------------------------------------------
    def _show_progress(self, progress: FeatureProgress | None = None) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.failed is not None:
            line.append_text(literal(self.failed, style="bold red"))
        elif self.curves is not None:
            c = self.curves
            line.append(f"done: {self.done} points", style="bold")
            line.append(
                f" · {c.folds} folds · {c.n_features:,} features after preprocessing "
                f"({c.n_raw_features:,} columns) · {c.n_samples:,} rows",
                style="dim",
            )
        else:
            elapsed = time.monotonic() - self._started
            line.append(f"computing {self.done}/{self.total or '?'} points", style="bold")
            if progress is not None:
                line.append(f" · {progress.method} k={progress.k}")
            line.append(f" · {elapsed:.0f} s · fits run in worker processes", style="dim")
        self.query_one("#progress", Static).update(line)

    def _show_curve(self) -> None:
        series = []
        for m in self.methods:
            pts = sorted(self.points[m].values(), key=lambda p: p.k)
            series.append(Series(m, [p.k for p in pts], [p.mean for p in pts], [p.std for p in pts]))
        mark = None
        if self.curves is not None:
            best = self.curves.method(self.method).best_k
            mark = Mark(best, f"best k={best}") if best else None
        better = "higher" if self.greater_is_better else "lower"
        self.query_one("#curve", ScorePlot).show(
            series,
            title=f"{self.model}: {self.metric or 'score'} against features selected inside the folds",
            xlabel="features kept (k)",
            ylabel=f"{self.metric} ({better} is better)" if self.metric else "",
            log_x=True,
            mark=mark,
        )

    def _show_chosen(self) -> None:
        title = self.query_one("#chosen-title", Static)
        table = self.query_one("#chosen", DataTable)
        table.clear()
        next_method = f"({self.app.shown_key('features.method', self)}: next method)"
        if self.curves is None:
            title.update(Text(f"Chosen features · {self.method} · when the curves are complete {next_method}"))
            self.query_one("#methods", Static).update(Text(""))
            return
        curve = self.curves.method(self.method)
        self.query_one("#methods", Static).update(method_table(self.curves, self.method))
        chosen = curve.chosen[:MAX_CHOSEN]
        more = f" · first {len(chosen)} of {len(curve.chosen):,}" if len(curve.chosen) > len(chosen) else ""
        if curve.best_k is None:
            title.update(Text(f"Chosen features · {self.method} · none {next_method}"))
        else:
            title.update(Text(f"Chosen features · {self.method} at best k={curve.best_k}{more} {next_method}"))
        for i, f in enumerate(chosen):
            table.add_row(
                literal(f.name, max_width=40),
                Text(f"{f.frequency:.0%}", justify="right"),
                Text(f"{f.importance:.3g}", justify="right"),
                key=str(i),
            )

    # -- actions ------------------------------------------------------------------------
    def action_next_method(self) -> None:
        self.method = self.methods[(self.methods.index(self.method) + 1) % len(self.methods)]
        self._show_chosen()
        if self.curves is not None:
            self._show_curve()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return True if self.curves is not None else None
        return True

    def action_export(self) -> None:
        from mlloop_tui.dialogs.export_dataset import DatasetExportDialog

        if self.curves is not None:
            self.app.push_screen(DatasetExportDialog(self.dataset, feature_curves=self.curves, curse=self.curse))

    def action_back(self) -> None:
        self.app.pop_screen()
