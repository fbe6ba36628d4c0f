"""One run in full: its spec, its dataset, train vs validation scores, every fold, the GLM.

The screen reads the run (:func:`core.runs.get_run`) in a thread worker whenever the app's
``stamp`` says the store changed, so a running run's folds appear as they finish. The page is
one scrolling column, read top to bottom: what was run and on what; the summary of scores with
the train − validation gap (judged by each metric's direction, the first sign of over- or
underfitting); the per-fold table; for a GLM its coefficient table and fit statistics; and
the provenance (library versions, dataset and folds hashes) that makes a run comparable.

Every text that comes from data (dataset, target and term names, params, errors, warnings)
is rendered through :func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import json
import math
import time

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from core.errors import MlloopError, NotFoundError
from core.runs import ACTIVE
from core.types import DatasetInfo, RunRecord
from mlloop_tui.widgets.fold_table import FoldTable, ScoreSummaryTable
from mlloop_tui.widgets.glm_table import GlmTable, glm_stats_text, glm_warnings_text
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.runs_table import STATUS_STYLE
from mlloop_tui.widgets.title_bar import TitleBar

GAP_LEGEND = ("↑ higher is better, ↓ lower is better. gap = train − validation: train much better than "
              "validation suggests overfitting; both poor, underfitting.")


def params_text(params: dict) -> Text:
    if not params:
        return Text("(defaults)", style="dim")
    return literal(", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(params.items())))


def status_line(run: RunRecord) -> Text:
    """``done``, or ``running · 3/15 folds`` (and folds done when a run stopped early)."""
    text = Text(run.status, style=STATUS_STYLE.get(run.status, ""))
    if run.status in ACTIVE or run.n_folds_done < run.n_folds_total:
        text.append(f" · {run.n_folds_done}/{run.n_folds_total} folds")
    return text


def duration_text(run: RunRecord, now: float | None = None) -> Text:
    if run.duration_s is not None and math.isfinite(run.duration_s):
        return Text(_seconds(run.duration_s))
    if run.status in ACTIVE and run.started_at is not None:
        now = time.time() if now is None else now
        return Text(f"{_seconds(max(now - run.started_at, 0.0))} so far", style="dim")
    return Text("-", style="dim")


def _seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(int(round(s)), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def timestamp(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t)) if t is not None else "-"


def facts_table(run: RunRecord, dataset: DatasetInfo | None) -> Table:
    """The run's spec (left) and its dataset's facts (right), as label/value pairs."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
    cv = f"{run.folds} folds × {run.repeats} repeat{'s' if run.repeats != 1 else ''}"
    left = [
        ("model", literal(run.model, style="bold")),
        ("cv", Text(cv)),
        ("seed", Text(str(run.seed))),
        ("status", status_line(run)),
        ("duration", duration_text(run)),
        ("created", Text(timestamp(run.created_at))),
    ]
    right: list[tuple[str, Text]] = [("dataset", literal(run.dataset, style="bold")), ("task", literal(run.task))]
    if dataset is not None:
        right += [
            ("target", literal(dataset.target, style="bold cyan")),
            ("rows", Text(f"dev {dataset.n_dev:,} · test {dataset.n_test:,}"
                          + (f" · unlabeled {dataset.n_unlabeled:,}" if dataset.n_unlabeled else ""))),
            ("file", literal(f"sha256 {dataset.file_hash[:12]}")),
        ]
        if dataset.classes:
            right.append(("classes", literal(", ".join(dataset.classes))))
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ("", Text(""))
        b = right[i] if i < len(right) else ("", Text(""))
        grid.add_row(a[0], a[1], b[0], b[1])
    return grid


def problems_text(run: RunRecord) -> Text:
    text = Text()
    if run.error:
        text.append("✖ error: ", style="bold red")
        text.append_text(literal(run.error))
    for warning in run.warnings:
        if text:
            text.append("\n")
        text.append("⚠ ", style="bold yellow")
        text.append_text(literal(warning))
    return text


def provenance_table(run: RunRecord) -> Table:
    """What makes a run reproducible and comparable: versions, the data's and the folds' hashes."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    versions = literal(" · ".join(f"{k} {v}" for k, v in run.versions.items()) or "-")
    versions.no_wrap = False
    grid.add_row("versions", versions)
    grid.add_row("dataset", literal(run.dataset_hash or "-"))
    grid.add_row("folds", literal(run.folds_hash or "-") if run.folds_hash else
                 Text("- (written when the run ends)", style="dim"))
    if run.status in ACTIVE and run.host:
        grid.add_row("running on", literal(f"{run.host}" + (f" (pid {run.pid})" if run.pid is not None else "")))
    return grid


class RunDetailScreen(Screen):
    """One run: spec, dataset, score summary, folds, GLM table, provenance; live while running."""

    AUTO_FOCUS = "#body"

    BINDINGS = [
        Binding("escape", "back", "Back", id="run.back", tooltip="Back to the previous screen"),
        Binding("e", "export", "Export", id="run.export", tooltip="Export this run (Markdown, HTML or JSON)"),
        Binding("x", "cancel_run", "Cancel run", id="run.cancel",
                tooltip="Stop this run (its group stops; finished folds are kept)"),
        Binding("f", "focus_table('#folds', '#folds-title')", "Folds", show=False, id="run.folds",
                tooltip="Move to the per-fold table"),
        Binding("g", "focus_table('#glm-table', '#glm')", "GLM", show=False, id="run.glm",
                tooltip="Move to the GLM coefficient table"),
    ]

    DEFAULT_CSS = """
    RunDetailScreen #body { height: 1fr; padding: 0 1; }
    RunDetailScreen #body:focus { background-tint: $foreground 3%; }
    RunDetailScreen .section { height: 1; margin-top: 1; text-style: bold; color: $text-accent;
                               text-wrap: nowrap; text-overflow: ellipsis; }
    RunDetailScreen #facts { height: auto; }
    RunDetailScreen #progress { height: 1; margin-left: 9; }
    RunDetailScreen #problems { height: auto; margin-top: 1; }
    RunDetailScreen .legend { height: auto; color: $text-muted; }
    RunDetailScreen .hidden { display: none; }
    RunDetailScreen #content, RunDetailScreen #glm { height: auto; }
    RunDetailScreen #glm-stats, RunDetailScreen #glm-warnings { height: auto; }
    RunDetailScreen #provenance { height: auto; }
    RunDetailScreen #message { height: auto; padding: 1 0; }
    """

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.record: RunRecord | None = None
        self.dataset: DatasetInfo | None = None
        self.loaded = False  # the first read has been shown (or failed)
        self.missing = False

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Run {self.run_id}")
        with VerticalScroll(id="body"):
            yield Static(Text("reading the run…", style="dim"), id="message")
            with Vertical(id="content", classes="hidden"):
                yield Static(id="facts")
                yield ProgressBar(id="progress", show_eta=False, classes="hidden")
                yield Static(id="params")
                yield Static(id="problems", classes="hidden")
                yield Static(id="scores-title", classes="section")
                yield ScoreSummaryTable(id="summary")
                yield Static(GAP_LEGEND, id="legend", classes="legend", markup=False)
                yield Static(id="folds-title", classes="section")
                yield FoldTable(id="folds")
                with Vertical(id="glm", classes="hidden"):
                    yield Static("GLM fitted on the whole development set", classes="section", markup=False)
                    yield Static(id="glm-stats")
                    yield Static(id="glm-warnings", classes="hidden")
                    yield GlmTable(id="glm-table")
                yield Static("Provenance", classes="section", markup=False)
                yield Static(id="provenance")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watch(self.app, "stamp", self.reload, init=True)

    # -- loading ------------------------------------------------------------------------
    def reload(self, _stamp: object = None) -> None:
        self.load_run()

    @work(thread=True, exclusive=True, group="run-detail", exit_on_error=False, description="reading a run")
    def load_run(self) -> None:
        from core.datasets import get_dataset
        from core.runs import get_run

        try:
            record = get_run(self.app.store, self.run_id)
            dataset = self.dataset
            if dataset is None or dataset.id != record.dataset_id:
                dataset = get_dataset(self.app.store, record.dataset_id)
        except NotFoundError as e:
            self.app.call_from_thread(self._show_missing, str(e))
            return
        except MlloopError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error", markup=False)
            return
        self.app.call_from_thread(self._show, record, dataset)

    def _show_missing(self, message: str) -> None:
        if not self.is_attached:  # closed while the worker read
            return
        self.loaded = self.missing = True
        self.record = None
        self.query_one(TitleBar).set_detail("not found")
        self.query_one("#message", Static).update(literal(message))
        self.query_one("#message").remove_class("hidden")
        self.query_one("#content").add_class("hidden")
        self.refresh_bindings()

    def _show(self, record: RunRecord, dataset: DatasetInfo) -> None:
        if not self.is_attached:  # closed while the worker read
            return
        if self.loaded and record == self.record and dataset == self.dataset:
            return
        first = not self.loaded
        was_active = self.record is not None and self.record.status in ACTIVE
        self.record, self.dataset = record, dataset
        self.loaded, self.missing = True, False
        self.query_one(TitleBar).set_detail(f"{record.model} on {record.dataset} · {record.status}")
        self.query_one("#message").add_class("hidden")
        self.query_one("#content").remove_class("hidden")

        self.query_one("#facts", Static).update(facts_table(record, dataset))
        active = record.status in ACTIVE
        progress = self.query_one("#progress", ProgressBar)
        progress.set_class(not active, "hidden")
        if active:
            progress.update(total=max(record.n_folds_total, 1), progress=record.n_folds_done)
        params = Text.assemble(("params ", "dim"), params_text(record.params))
        self.query_one("#params", Static).update(params)
        problems = problems_text(record)
        self.query_one("#problems", Static).update(problems)
        self.query_one("#problems").set_class(not problems, "hidden")

        n = len(record.fold_scores)
        scores_title = f"Scores · mean ± std over {n} fold{'s' if n != 1 else ''}"
        self.query_one("#scores-title", Static).update(Text(scores_title))
        self.query_one(ScoreSummaryTable).set_summaries(record.task, record.summaries)
        self.query_one(ScoreSummaryTable).set_class(not record.summaries, "hidden")
        self.query_one("#legend").set_class(not record.summaries, "hidden")
        folds_title = f"Folds · {n} of {record.n_folds_total} finished"
        if n == 0:
            folds_title += " · none yet" if record.status in ACTIVE else ""
        self.query_one("#folds-title", Static).update(Text(folds_title))
        folds = self.query_one(FoldTable)
        if record.fold_scores:
            folds.set_folds(record.task, record.fold_scores)
        folds.set_class(not record.fold_scores, "hidden")

        glm = record.glm
        self.query_one("#glm").set_class(glm is None, "hidden")
        if glm is not None:
            self.query_one("#glm-stats", Static).update(glm_stats_text(glm))
            self.query_one("#glm-warnings", Static).update(glm_warnings_text(glm))
            self.query_one("#glm-warnings").set_class(not glm.warnings, "hidden")
            self.query_one(GlmTable).set_summary(glm)
            self.query_one(GlmTable).set_class(not glm.coefficients, "hidden")

        self.query_one("#provenance", Static).update(provenance_table(record))
        if first or was_active != (record.status in ACTIVE):
            self.refresh_bindings()

    # -- actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.record is not None and self.record.status in ACTIVE
        if action == "export":
            return True if self.record is not None else None
        if action == "focus_table" and parameters[:1] == ("#glm-table",):
            return self.record is not None and self.record.glm is not None
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_export(self) -> None:
        if self.record is not None:
            self.app.export_runs([self.run_id])

    def action_cancel_run(self) -> None:
        if self.record is not None:
            self.app.cancel_run(self.record)

    def action_focus_table(self, selector: str, section: str) -> None:
        """Focus a table and scroll its section's title to the top of the page."""
        table = self.query_one(selector)
        if self.record is None or table.has_class("hidden"):
            return
        table.focus(scroll_visible=False)
        self.query_one("#body", VerticalScroll).scroll_to_widget(self.query_one(section), top=True, animate=False)
