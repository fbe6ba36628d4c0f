"""Two or more runs side by side, relative to a reference run, with an honest significance test.

The screen asks :func:`core.analysis.compare.compare_runs` (in a thread worker, whenever the app's
``stamp`` says the store changed, or the reference or metric changes) and shows what it
returns; nothing is computed here but which value is the best of a row. Read top to bottom:

- **Parameters**: runs as columns; the model and only the parameters that differ (``a`` shows
  every parameter, the dataset, the CV scheme and the status);
- **Validation scores**: per metric, mean ± std over the folds for each run and its Δ against
  the reference (green: better than the reference by the metric's direction, red: worse); ★
  marks the best run of the row;
- **Significance**: each run against the reference on the chosen metric, the p-value of the
  corrected resampled t-test (Nadeau & Bengio) and its one-line explanation — or, for runs that
  did not share the reference's validation folds, why no test is possible;
- **Folds**: the chosen metric's validation score fold by fold, runs as columns.

Keys: ``r`` next reference run, ``m`` next metric, ``a`` all parameters, ``e`` export the
comparison, ``escape`` back. Every name and value from the store (datasets, params, models,
explanations quoting them) is rendered with :func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import JustifyMethod
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from core.analysis.compare import TEST_NAME, Comparison, compare_runs, param_value
from core.errors import MlloopError
from core.modeling.metrics import METRICS, format_p, metrics_for
from core.types import RunRecord
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.scores import delta_cell, mean_std_cell, metric_label, score_text
from mlloop_tui.widgets.title_bar import TitleBar

PARAM_WIDTH = 24  # cells; longer parameter values end in "…" (exports keep them whole)
SCORES_LEGEND = "↑/↓ higher/lower is better · ★ best · Δ = run − ref: green better, red worse"


# --------------------------------------------------------------------------- cells


def run_header(run: RunRecord, reference_id: int) -> Text:
    """``run 2 linear``, and ``(ref)`` on the reference's column."""
    text = Text(f"run {run.id} ", no_wrap=True, end="")
    text.append_text(literal(run.model, style="bold", max_width=14))
    if run.id == reference_id:
        text.append(" (ref)", style="bold cyan")
    return text


def _greater_is_better(metric: str) -> bool:
    info = METRICS.get(metric)
    return True if info is None else info.greater_is_better


def best_ids(values: dict[int, float], metric: str) -> set[int]:
    """The runs holding the best finite value; none when every run has the same value."""
    finite = {rid: v for rid, v in values.items() if v is not None and math.isfinite(v)}
    if len(set(finite.values())) < 2:
        return set()
    best = max(finite.values()) if _greater_is_better(metric) else min(finite.values())
    return {rid for rid, v in finite.items() if v == best}


def delta_text(delta: float, metric: str) -> Text:
    text = Text(delta_cell(delta), no_wrap=True, end="")
    if not math.isfinite(delta) or abs(delta) < 5e-4:
        text.stylize("dim")
    elif (delta > 0) == _greater_is_better(metric):
        text.stylize("green")
    else:
        text.stylize("red")
    return text


def _cv_text(run: RunRecord) -> str:
    return f"{run.folds} folds × {run.repeats}, seed {run.seed}"


def _cell(text: Text, justify: JustifyMethod = "right") -> Text:
    text.justify = justify
    text.no_wrap = True
    return text


# --------------------------------------------------------------------------- rows


Row = tuple[str, Text, tuple[Text, ...]]  # key, label, one cell per run


def param_rows(c: Comparison, all_params: bool) -> list[Row]:
    """The model and the differing parameters; with ``all_params``, dataset, CV, status and
    every parameter any run sets (``(default)`` where a run leaves it to the estimator)."""
    runs = c.runs

    def differs(values: Sequence[object]) -> bool:
        return len(set(values)) > 1

    rows: list[Row] = [("model", Text("model"), tuple(literal(r.model, style="bold") for r in runs))]
    if all_params or differs([r.dataset_id for r in runs]):
        rows.append(("dataset", Text("dataset"), tuple(literal(r.dataset, max_width=PARAM_WIDTH) for r in runs)))
    if all_params or differs([_cv_text(r) for r in runs]):
        rows.append(("cv", Text("cv"), tuple(Text(_cv_text(r)) for r in runs)))
    if all_params:
        rows.append(
            ("status", Text("status"), tuple(Text(f"{r.status} {r.n_folds_done}/{r.n_folds_total}") for r in runs))
        )
    names = sorted({k for r in runs for k in r.params}) if all_params else sorted(c.differing_params - {"model"})
    for name in names:
        rows.append(
            (
                f"param:{name}",
                literal(name, max_width=PARAM_WIDTH),
                tuple(
                    literal(param_value(r, name), max_width=PARAM_WIDTH, style="dim" if name not in r.params else "")
                    for r in runs
                ),
            )
        )
    return [(key, _cell(label, "left"), tuple(_cell(x, "left") for x in cells)) for key, label, cells in rows]


def metric_rows(c: Comparison) -> list[Row]:
    """Per metric: ``★mean±std Δ`` for each run (the reference's Δ reads ``ref``)."""
    rows: list[Row] = []
    for m in c.metrics:
        means = {r.id: (r.summaries[m].val_mean if m in r.summaries else math.nan) for r in c.runs}
        best = best_ids(means, m)
        cells = []
        for r in c.runs:
            s = r.summaries.get(m)
            text = Text(no_wrap=True, end="")
            if r.id in best:
                text.append("★", style="bold green")
            if s is None or not math.isfinite(s.val_mean):
                text.append("-")
            else:
                shown = mean_std_cell(s.val_mean, s.val_std)
                text.append(shown, style="bold" if r.id in best else "")
            text.append(" ")
            if r.id == c.reference_id:
                text.append("ref".rjust(6), style="dim")
            else:
                text.append_text(delta_text(c.deltas[r.id].get(m, math.nan), m))
            cells.append(_cell(text))
        label = metric_label(m, short=True)
        if m == c.metric:
            label.stylize("bold")
        rows.append((m, _cell(label, "left"), tuple(cells)))
    return rows


def fold_rows(c: Comparison) -> list[Row]:
    """The chosen metric's validation score per fold, lined up by fold index."""
    by_run = {r.id: {f.index: f for f in r.fold_scores} for r in c.runs}
    indexes = sorted({i for folds in by_run.values() for i in folds})
    repeated = any(r.repeats > 1 for r in c.runs)
    rows: list[Row] = []
    for index in indexes:
        some = next(folds[index] for folds in by_run.values() if index in folds)
        label = f"{some.repeat + 1}·{some.fold + 1}" if repeated else str(some.fold + 1)
        values = {
            rid: folds[index].validation.get(c.metric, math.nan) if index in folds else math.nan
            for rid, folds in by_run.items()
        }
        best = best_ids(values, c.metric)
        cells = []
        for r in c.runs:
            text = Text(no_wrap=True, end="")
            if r.id in best:
                text.append("★", style="bold green")
            text.append(score_text(values[r.id]), style="bold" if r.id in best else "")
            cells.append(_cell(text))
        rows.append((str(index), _cell(Text(label), "left"), tuple(cells)))
    return rows


def pair_head(c: Comparison, index: int) -> Text:
    """``run 2 linear vs run 1 dummy   p = 0.0585   t 3.95 · df 2 · 3 folds`` or ``no p-value``."""
    pair = c.pairs[index]
    run = next(r for r in c.runs if r.id == pair.a_id)
    ref = c.reference
    text = Text(no_wrap=True, end="")
    text.append_text(run_header(run, c.reference_id))
    text.append(" vs ", style="dim")
    text.append_text(run_header(ref, -1))
    text.append("   ")
    if pair.pairable:
        significant = pair.p < 0.05
        text.append(f"p = {format_p(pair.p)}", style="bold green" if significant else "bold")
        details = (
            f"   t {pair.t:.2f} · df {pair.df} · {pair.n_folds} folds"
            if math.isfinite(pair.t)
            else (f"   {pair.n_folds} folds")
        )
        text.append(details, style="dim")
    else:
        text.append("no p-value", style="bold yellow")
        text.append(": ", style="dim")
        text.append_text(literal(pair.reason or "not paired", style="dim"))
    return text


def pair_explanation(c: Comparison, index: int) -> Text:
    text = literal(c.pairs[index].explanation)
    text.no_wrap = False
    return text


# --------------------------------------------------------------------------- widgets


def _signature(text: Text) -> tuple:
    return text.plain, str(text.style), tuple(text.spans), text.justify


class CompareTable(DataTable):
    """Runs as columns, a label column fixed on the left; redrawn only when its rows change."""

    DEFAULT_CSS = """
    CompareTable { height: auto; max-height: 20; }
    """

    def __init__(self, label: str, justify: str = "right", **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("fixed_columns", 1)
        super().__init__(**kwargs)
        self.label = label
        self.justify = justify
        self._shown: tuple = ()

    def on_mount(self) -> None:
        self.show_cursor = False  # the row cursor hides a row's colours: only while reading this table

    def on_focus(self) -> None:
        self.show_cursor = True

    def on_blur(self) -> None:
        self.show_cursor = False

    def set_rows(self, headers: Sequence[Text], rows: Sequence[Row]) -> None:
        key = (
            tuple(map(_signature, headers)),
            tuple((k, _signature(label), tuple(map(_signature, cells))) for k, label, cells in rows),
        )
        if key == self._shown:
            return
        cursor = self.cursor_row
        self.clear(columns=True)
        self.add_column(Text(self.label), key="label")
        for i, header in enumerate(headers):
            self.add_column(_cell(header.copy(), self.justify), key=f"run{i}")
        for k, label, cells in rows:
            self.add_row(label, *cells, key=k)
        self._shown = key
        if 0 < cursor < len(rows):
            self.move_cursor(row=cursor, animate=False)

    @property
    def row_keys(self) -> list[str]:
        return [str(k.value) for k in self.rows]


class CompareScreen(Screen):
    """Runs side by side against a reference run; live while any of them is running."""

    AUTO_FOCUS = "#body"

    BINDINGS = [
        Binding("escape", "back", "Back", id="compare.back", tooltip="Back to the previous screen"),
        Binding(
            "r",
            "cycle_reference",
            "Reference",
            id="compare.reference",
            tooltip="Make the next run the reference (Δ and tests are against it)",
        ),
        Binding("m", "cycle_metric", "Metric", id="compare.metric", tooltip="Test and show folds on the next metric"),
        Binding(
            "a",
            "toggle_params",
            "All params",
            id="compare.all_params",
            tooltip="Show every parameter, or only those that differ",
        ),
        Binding("e", "export", "Export", id="compare.export", tooltip="Export the comparison (Markdown, HTML or JSON)"),
    ]

    DEFAULT_CSS = """
    CompareScreen #body { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    CompareScreen #body:focus { background-tint: $foreground 3%; }
    CompareScreen .section { height: 1; margin-top: 1; text-style: bold; color: $text-accent;
                             text-wrap: nowrap; text-overflow: ellipsis; }
    CompareScreen #params-title { margin-top: 0; }
    CompareScreen .legend { height: auto; color: $text-muted; }
    CompareScreen .hidden { display: none; }
    CompareScreen #content, CompareScreen #pairs { height: auto; }
    CompareScreen #message { height: auto; padding: 1 0; }
    CompareScreen .pair-head { height: 1; margin-top: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    CompareScreen #pair-0 { margin-top: 0; }
    CompareScreen .pair-explanation { height: auto; padding-left: 2; }
    CompareScreen #folds-note { height: auto; color: $text-warning; }
    """

    def __init__(self, run_ids: Sequence[int]) -> None:
        super().__init__()
        self.run_ids: list[int] = list(dict.fromkeys(int(r) for r in run_ids))
        self.reference: int | None = None  # None: the first run, as compare_runs does
        self.metric: str | None = None  # None: the reference's key metric
        self.all_params = False
        self.comparison: Comparison | None = None
        self.loaded = False  # the first comparison (or its error) is shown
        self.error: str | None = None
        self._request = 0

    def compose(self) -> ComposeResult:
        ids = ", ".join(map(str, self.run_ids))
        yield TitleBar(f"Compare runs {ids}" if len(self.run_ids) <= 6 else f"Compare {len(self.run_ids)} runs")
        with VerticalScroll(id="body"):
            yield Static(Text("comparing…", style="dim"), id="message")
            with Vertical(id="content", classes="hidden"):
                yield Static(id="params-title", classes="section")
                yield CompareTable("", justify="left", id="params")
                yield Static(id="scores-title", classes="section")
                yield CompareTable("metric", id="scores")
                yield Static(SCORES_LEGEND, classes="legend", markup=False)
                yield Static(id="significance-title", classes="section")
                with Vertical(id="pairs"):
                    for i in range(max(len(self.run_ids) - 1, 0)):
                        yield Static(id=f"pair-{i}", classes="pair-head")
                        yield Static(id=f"explanation-{i}", classes="pair-explanation")
                yield Static(id="folds-title", classes="section")
                yield Static(id="folds-note", classes="hidden")
                yield CompareTable("fold", id="folds")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch(self.app, "stamp", self.reload, init=True)

    # -- loading ------------------------------------------------------------------------
    def reload(self, _stamp: object = None) -> None:
        self._request += 1
        self.load_comparison(self._request, self.reference, self.metric)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False, description="comparing runs")
    def load_comparison(self, request: int, reference: int | None, metric: str | None) -> None:
        worker = get_current_worker()
        try:
            comparison = compare_runs(self.app.store, self.run_ids, reference=reference, metric=metric)
        except MlloopError as e:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._show_error, request, str(e))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, request, comparison)

    def _show_error(self, request: int, message: str) -> None:
        if request != self._request:
            return
        first = not self.loaded
        self.loaded, self.error, self.comparison = True, message, None
        self.query_one(TitleBar).detail = "cannot compare"
        self.query_one("#message", Static).update(literal(message))
        self.query_one("#message").remove_class("hidden")
        self.query_one("#content").add_class("hidden")
        if first:
            self.refresh_bindings()

    def _show(self, request: int, c: Comparison) -> None:
        if request != self._request or (c == self.comparison and self.error is None):
            return
        first = self.comparison is None
        self.comparison, self.error, self.loaded = c, None, True
        self.reference, self.metric = c.reference_id, c.metric
        ref = c.reference
        detail = Text(f"ref run {ref.id} ")
        detail.append_text(literal(ref.model))
        detail.append(" · ")
        detail.append_text(metric_label(c.metric))
        self.query_one(TitleBar).detail = detail.plain
        self.query_one("#message").add_class("hidden")
        self.query_one("#content").remove_class("hidden")
        self._show_params()
        headers = [run_header(r, c.reference_id) for r in c.runs]
        n_folds = {len(r.fold_scores) for r in c.runs}
        fold_word = f"{n_folds.pop()} folds" if len(n_folds) == 1 else "folds"
        scores_title = Text(f"Validation scores · mean ± std over {fold_word} · Δ vs ref")
        self.query_one("#scores-title", Static).update(scores_title)
        self.query_one("#scores", CompareTable).set_rows(headers, metric_rows(c))
        title = Text("Significance on ")
        title.append_text(metric_label(c.metric))
        title.append(f" · {TEST_NAME} vs the reference")
        self.query_one("#significance-title", Static).update(title)
        for i in range(len(c.pairs)):
            self.query_one(f"#pair-{i}", Static).update(pair_head(c, i))
            self.query_one(f"#explanation-{i}", Static).update(pair_explanation(c, i))
        folds_title = Text("Folds · validation ")
        folds_title.append_text(metric_label(c.metric))
        self.query_one("#folds-title", Static).update(folds_title)
        other = [p.a_id for p in c.pairs if not p.pairable and p.reason and "fold" in p.reason]
        note = self.query_one("#folds-note", Static)
        note.set_class(not other, "hidden")
        if other:
            runs = ", ".join(map(str, other))
            note.update(
                Text(
                    f"run{'s' if len(other) > 1 else ''} {runs}: not the reference's folds, "
                    "so a row does not pair those scores"
                )
            )
        self.query_one("#folds", CompareTable).set_rows(headers, fold_rows(c))
        if first:
            self.refresh_bindings()

    def _show_params(self) -> None:
        c = self.comparison
        if c is None:
            return
        which = "all (a: only those that differ)" if self.all_params else "those that differ (a: all)"
        self.query_one("#params-title", Static).update(Text(f"Parameters · {which}"))
        headers = [run_header(r, c.reference_id) for r in c.runs]
        self.query_one("#params", CompareTable).set_rows(headers, param_rows(c, self.all_params))

    # -- actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cycle_reference", "cycle_metric", "toggle_params"):
            return self.comparison is not None
        if action == "export":
            return len(self.run_ids) > 1
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_cycle_reference(self) -> None:
        """The next run becomes the reference; presses made before the last one is shown add up."""
        c = self.comparison
        if c is None:
            return
        ids = [r.id for r in c.runs]
        current = self.reference if self.reference in ids else c.reference_id
        self.reference = ids[(ids.index(current) + 1) % len(ids)]
        if self.metric not in self._metric_names():
            self.metric = None  # the new reference's task has other metrics: its key metric
        self.reload()

    def action_cycle_metric(self) -> None:
        c = self.comparison
        if c is None:
            return
        names = self._metric_names()
        current = self.metric if self.metric in names else c.metric
        self.metric = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        self.reload()

    def _metric_names(self) -> list[str]:
        """The metrics a test can use: the (pending) reference's task's, that some run has."""
        c = self.comparison
        assert c is not None
        ref = next((r for r in c.runs if r.id == self.reference), c.reference)
        present = set(c.metrics)
        return [m.name for m in metrics_for(ref.task) if m.name in present] or [c.metric]

    def action_toggle_params(self) -> None:
        self.all_params = not self.all_params
        self._show_params()

    def action_export(self) -> None:
        """Export the comparison as shown here: same reference, same metric."""
        self.app.export_runs(list(self.run_ids), reference=self.reference, metric=self.metric)
