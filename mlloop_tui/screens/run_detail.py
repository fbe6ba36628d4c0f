"""One run in full: its spec, its dataset, train vs validation scores, the diagnosis, its curves, every fold.

The screen reads the run (:func:`core.store.runs.get_run`) in a thread worker whenever the app's
``stamp`` says the store changed, so a running run's folds appear as they finish. The page is
one scrolling column, read top to bottom: what was run and on what; the summary of scores with
the train − validation gap (judged by each metric's direction, the first sign of over- or
underfitting) and the locked test score once evaluated; the bias/variance diagnosis and its
advice (:func:`core.analysis.diagnosis.diagnose`); the learning and validation curves; the search the
run belongs to (or started); the per-fold table; for a GLM its coefficient table and fit
statistics; and the provenance (library versions, dataset and folds hashes) that makes a run
comparable.

The loop's work (a curve, a search, the test evaluation) runs in child processes, started by the
base :class:`~mlloop_tui.screens.run_children.RunChildrenScreen`; the plots grow as they store
points, and the diagnosis is recomputed when the run, the curves or the test score change.

Every text that comes from data (dataset, target and term names, params, errors, warnings)
is rendered through :func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker

from core.errors import MlloopError, NotFoundError
from core.store.runs import ACTIVE
from core.types import DatasetInfo, RunRecord
from mlloop_tui.runner import CurveRequest
from mlloop_tui.screens.dataset_in_view import DatasetInView, run_in_view
from mlloop_tui.screens.run_children import RunChildrenScreen
from mlloop_tui.widgets.curve_panel import CurvePanel, with_plan
from mlloop_tui.widgets.diagnosis_panel import DiagnosisPanel
from mlloop_tui.widgets.fold_table import FoldTable, ScoreSummaryTable
from mlloop_tui.widgets.glm_table import GlmTable, glm_stats_text, glm_warnings_text
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.run_sections import (
    facts_table,
    holdout_text,
    params_text,
    problems_text,
    provenance_table,
    search_table,
)
from mlloop_tui.widgets.title_bar import TitleBar

GAP_LEGEND = (
    "↑ higher is better, ↓ lower is better. gap = train − validation: train much better than "
    "validation suggests overfitting; both poor, underfitting."
)


class RunDetailScreen(RunChildrenScreen):
    """One run: spec, dataset, score summary, folds, GLM table, provenance; live while running."""

    AUTO_FOCUS = "#body"

    BINDINGS = [
        Binding("escape", "back", "Back", id="run.back", tooltip="Back to the previous screen"),
        Binding(
            "e", "export", "Export", show=False, id="run.export", tooltip="Export this run (Markdown, HTML or JSON)"
        ),
        Binding(
            "l",
            "curve('learning')",
            "Learning",
            id="run.learning_curve",
            tooltip="Compute the learning curve in a child process (stored points are reused); again cancels",
        ),
        Binding(
            "v",
            "curve('validation')",
            "Validation",
            id="run.validation_curve",
            tooltip="Compute the validation curve over the model's complexity knob; again cancels",
        ),
        Binding(
            "t",
            "tune",
            "Tune",
            id="run.tune",
            tooltip="Search hyper-parameters from this run (every candidate is a run)",
        ),
        Binding(
            "T",
            "test",
            "Test",
            show=False,
            id="run.test",
            tooltip="Evaluate on the locked test set (asks first; every evaluation is counted)",
        ),
        Binding(
            "Q",
            "app.quality",
            "Quality",
            show=False,
            id="run.quality",
            tooltip="Check the data quality of this run's dataset",
        ),
        Binding(
            "F",
            "app.features",
            "Features",
            show=False,
            id="run.features",
            tooltip="Feature-selection curves of this run's model on its dataset",
        ),
        Binding(
            "E",
            "errors",
            "Errors",
            show=False,
            id="run.errors",
            tooltip="Error analysis: confusion matrix or residuals, worst rows, weakest slices",
        ),
        Binding(
            "x",
            "cancel_run",
            "Cancel",
            id="run.cancel",
            tooltip="Stop this run (its group stops; finished folds are kept), or its curve, search or test",
        ),
        Binding(
            "f",
            "focus_table('#folds', '#folds-title')",
            "Folds",
            show=False,
            id="run.folds",
            tooltip="Move to the per-fold table",
        ),
        Binding(
            "g",
            "focus_table('#glm-table', '#glm')",
            "GLM",
            show=False,
            id="run.glm",
            tooltip="Move to the GLM coefficient table",
        ),
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
    RunDetailScreen #test-result { height: auto; margin-top: 1; }
    RunDetailScreen #search, RunDetailScreen #search-table { height: auto; }
    """

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.record: RunRecord | None = None
        self.dataset: DatasetInfo | None = None
        self.loaded = False  # the first read has been shown (or failed)
        self.missing = False
        self.evaluations: list = []  # this run's locked-test evaluations, oldest first
        self.extras_loaded = False  # curves, test scores and search shown at least once
        self._fingerprint: tuple | None = None  # what the curves shown were read at
        self._plans: dict[str, Any] = {}  # kind -> the curve the key would compute (settings only)
        self._watching = False  # a child of this run was active at the last tick
        self._workers: dict[str, Worker] = {}  # "extras" / "diagnosis" -> the latest read
        self._again: dict[str, bool] = {}  # reads asked for while one was running (-> force)

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
                yield Static(id="test-result", classes="hidden")
                yield Static(
                    "Diagnosis · where the error comes from, what to try next", classes="section", markup=False
                )
                yield DiagnosisPanel(id="diagnosis")
                yield Static(id="curves-title", classes="section")
                yield CurvePanel("learning", id="learning")
                yield CurvePanel("validation", id="validation")
                with Vertical(id="search", classes="hidden"):
                    yield Static(id="search-title", classes="section")
                    yield Static(id="search-table")
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
        self.set_interval(self.CHILD_POLL_S, self._tick)

    # -- loading ------------------------------------------------------------------------
    def reload(self, _stamp: object = None) -> None:
        self.load_run()  # its result reloads the curves and the diagnosis, which depend on the run

    def _keys(self) -> dict[str, str]:
        """Binding id -> the key as hints name it (after the user's remapping), for this screen's keys."""
        return {b.id: self.app.shown_key(b.id, self) for b in self.BINDINGS if b.id}

    def reread(self, name: str, force: bool = True) -> None:
        """Start the ``extras`` read (curves, test scores, search) or the ``diagnosis``; while one runs, again after it.

        Ticks come every ``CHILD_POLL_S``, and a read can take longer while a child writes; dropping
        the running read for a new one each tick would starve the plots of updates.
        """
        worker = self._workers.get(name)
        if worker is not None and not worker.is_finished:
            self._again[name] = self._again.get(name, False) or force
            return
        self._workers[name] = self.load_extras(self._computing(), force) if name == "extras" else self.load_diagnosis()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        for name, worker in list(self._workers.items()):
            if worker is event.worker and worker.is_finished and name in self._again:
                self.reread(name, self._again.pop(name))

    @work(thread=True, group="run-extras", exit_on_error=False, description="reading curves and test scores")
    def load_extras(self, computing: frozenset[str], force: bool = True) -> None:
        from core.analysis.curves import curve_stamp
        from core.analysis.holdout import list_test_evaluations
        from core.analysis.tuning import search_of_run, searches_from_run

        store = self.app.store
        try:
            with store.reading():  # twice a second while a child works: one connection, not ten
                evaluations = list_test_evaluations(store, run_id=self.run_id)
                fingerprint = (curve_stamp(store, self.run_id), len(evaluations), computing)
                if not force and fingerprint == self._fingerprint:
                    return
                curves = {kind: self._read_curve(kind, kind in computing) for kind in ("learning", "validation")}
                search = search_of_run(store, self.run_id)
                if search is None:
                    started = searches_from_run(store, self.run_id)
                    search = started[-1] if started else None
        except NotFoundError:
            return  # the run is gone: load_run says so
        except MlloopError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error", markup=False)
            return
        self.app.call_from_thread(self._show_extras, fingerprint, curves, evaluations, search)

    @work(thread=True, group="run-diagnosis", exit_on_error=False, description="diagnosing the run")
    def load_diagnosis(self) -> None:
        """May fit the dummy baseline on the run's folds (when no dummy run is stored): small, and in a thread."""
        from core.analysis.diagnosis import diagnose

        try:
            diagnosis: Any = diagnose(self.app.store, self.run_id)
        except NotFoundError:
            return
        except MlloopError as e:
            diagnosis = str(e)
        self.app.call_from_thread(self._show_diagnosis, diagnosis)

    def _read_curve(self, kind: str, computing: bool) -> Any:
        """The stored curve over the settings its key computes (see :func:`with_plan`); ``None`` if none."""
        from core.analysis.curves import learning_curve, load_curve, validation_curve

        stored = load_curve(self.app.store, self.run_id, kind)
        if stored is None and not computing:
            return None
        if kind not in self._plans:  # reads the run's rows and folds once; fits nothing
            try:
                compute = learning_curve if kind == "learning" else validation_curve
                self._plans[kind] = compute(self.app.store, self.run_id, fit=False)
            except MlloopError:
                self._plans[kind] = None
        return with_plan(stored, self._plans[kind])

    @work(thread=True, exclusive=True, group="run-detail", exit_on_error=False, description="reading a run")
    def load_run(self) -> None:
        from core.store.datasets import get_dataset
        from core.store.runs import get_run

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
        self.query_one(TitleBar).detail = "not found"
        self.query_one("#message", Static).update(literal(message))
        self.query_one("#message").remove_class("hidden")
        self.query_one("#content").add_class("hidden")
        self.refresh_bindings()

    def _show(self, record: RunRecord, dataset: DatasetInfo) -> None:
        if not self.is_attached:  # closed while the worker read
            return
        self.reread("extras")  # other runs, a target or the run itself may have changed
        if self.loaded and record == self.record and dataset == self.dataset:
            return
        first = not self.loaded
        was_active = self.record is not None and self.record.status in ACTIVE
        self.record, self.dataset = record, dataset
        self.loaded, self.missing = True, False
        self.query_one(TitleBar).detail = f"{record.model} on {record.dataset} · {record.status}"
        self.query_one("#message").add_class("hidden")
        self.query_one("#content").remove_class("hidden")

        self.query_one("#facts", Static).update(facts_table(record, dataset))
        active = record.status in ACTIVE
        progress = self.query_one("#progress", ProgressBar)
        progress.set_class(not active, "hidden")
        if active:
            progress.update(total=max(record.n_folds_total, 1), progress=record.n_folds_done)
        params = Text.assemble(("params ", "dim"), params_text(record.params))
        if record.spec is not None:  # a model spec: the text that re-creates it, and the class it resolved to
            params.append_text(
                Text.assemble(
                    ("\nspec ", "dim"), literal(record.spec.text), ("  → ", "dim"), literal(record.spec.estimator_class)
                )
            )
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

    def _show_extras(self, fingerprint: tuple, curves: dict, evaluations: list, search: Any) -> None:
        if not self.is_attached:
            return
        computing = fingerprint[2]
        keys = self._keys()
        new = [e for e in evaluations if e.id not in {old.id for old in self.evaluations}]
        if self.extras_loaded and new:
            latest = new[-1]
            self.notify(
                latest.warning or f"run {self.run_id} evaluated on the locked test set",
                title="test evaluation",
                severity="warning" if latest.warning else "information",
                timeout=8,
                markup=False,
            )
        self._fingerprint, self.evaluations, self.extras_loaded = fingerprint, evaluations, True
        self.reread("diagnosis")
        test = self.query_one("#test-result", Static)
        test.update(holdout_text(evaluations, self.record))
        test.set_class(not evaluations, "hidden")

        from core.modeling.metrics import METRICS, key_metrics

        metric = key_metrics(self.record.task)[0] if self.record is not None else None
        title = "Curves" + (f" · {METRICS[metric.name].label} on the run's folds" if metric else "")
        self.query_one("#curves-title", Static).update(Text(title))
        knob = None
        if self.record is not None:
            from core.modeling.models import BASELINES

            baseline = BASELINES.get(self.record.model)
            knob = baseline.knob_for(self.record.task)[0] if baseline else None
        learning_key, validation_key = keys["run.learning_curve"], keys["run.validation_curve"]
        self.query_one("#learning", CurvePanel).show_curve(
            curves["learning"],
            "learning" in computing,
            learning_key,
            f"No learning curve yet: {learning_key} computes it on the run's folds (train and validation score "
            "against the training rows: does more data help?).",
        )
        no_validation = (
            f"No validation curve yet: {validation_key} computes it over the complexity knob {knob}."
            if knob
            else f"This model has no complexity knob: no validation curve ({keys['run.tune']} tunes a parameter)."
        )
        self.query_one("#validation", CurvePanel).show_curve(
            curves["validation"], "validation" in computing, validation_key, no_validation
        )

        box = self.query_one("#search")
        box.set_class(search is None, "hidden")
        if search is not None:
            role = "a candidate" if self.run_id in search.run_ids else "started from this run"
            best = search.best
            title = f"Search · {role} · {len(search.candidates)} candidates of {search.model}" + (
                f" · best run {best.run_id}" if best else ""
            )
            self.query_one("#search-title", Static).update(literal(title))
            self.query_one("#search-table", Static).update(search_table(search, self.run_id))
        self._keep_focus_in_view()

    def _show_diagnosis(self, diagnosis: Any) -> None:
        if not self.is_attached:
            return
        panel = self.query_one(DiagnosisPanel)
        if isinstance(diagnosis, str):
            panel.show_message(diagnosis)
        else:
            panel.show_diagnosis(diagnosis, self._keys())
        self._keep_focus_in_view()

    def _keep_focus_in_view(self) -> None:
        """The diagnosis and curves above the tables arrive late and change height: keep a focused table in view."""
        focused = self.app.focused
        if isinstance(focused, (FoldTable, GlmTable)) and focused.screen is self:
            self.call_after_refresh(focused.scroll_visible, animate=False)

    # -- actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.record is not None and (self.record.status in ACTIVE or bool(self.children_active()))
        if action == "curve":
            if self.record is None:
                return None
            return self.record.status not in ACTIVE or bool(self.children_active(CurveRequest))
        if action in ("tune", "test"):
            return None if self.record is None else self.record.status == "done"
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

    def action_errors(self) -> None:
        from mlloop_tui.screens.errors import ErrorsScreen

        self.app.push_screen(ErrorsScreen(self.run_id))

    def current_dataset(self) -> DatasetInView | None:
        return run_in_view(self.record.dataset, self.record.model, self.record.id) if self.record is not None else None

    def action_focus_table(self, selector: str, section: str) -> None:
        """Focus a table and scroll its section's title to the top of the page."""
        table = self.query_one(selector)
        if self.record is None or table.has_class("hidden"):
            return
        table.focus(scroll_visible=False)
        self.query_one("#body", VerticalScroll).scroll_to_widget(self.query_one(section), top=True, animate=False)
