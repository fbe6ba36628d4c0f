"""The child processes of a run's detail screen: a curve (``l``/``v``), a search (``t``) and the test
evaluation (``T``) run as ``mlloop`` children (:mod:`mlloop_tui.runner`), never in the app.

:class:`RunChildrenScreen` starts, watches and cancels them; :class:`~mlloop_tui.screens.run_detail.RunDetailScreen`
builds on it and shows what they store. The app's stamp does not see curve points or test
evaluations land, so while one of this run's children works a timer rereads the run's extras
twice a second and the plots grow point by point.
"""

from __future__ import annotations

from textual import work
from textual.containers import VerticalScroll
from textual.screen import Screen

from core.errors import MlloopError
from core.store.runs import ACTIVE
from core.types import DatasetInfo, RunRecord
from mlloop_tui.runner import CurveRequest, Launched, Request, TestRequest, TuneRequest
from mlloop_tui.widgets.curve_panel import CurvePanel


class RunChildrenScreen(Screen):
    """The actions that start, watch and cancel one run's child processes; the screen built on it
    holds the run (``run_id``, ``record``, ``dataset``) and rereads what they store (``reread``)."""

    CHILD_POLL_S = 0.5  # how often the store is asked for new curve points while a child works

    run_id: int
    record: RunRecord | None
    dataset: DatasetInfo | None
    _watching: bool  # a child of this run was active at the last tick

    def _tick(self) -> None:
        """While this run's children work, read the curve points they store (and once more when they end)."""
        active = bool(self.children_active())
        if active or self._watching:
            self.reread("extras", force=not active)
        if active != self._watching:
            self.refresh_bindings()
        self._watching = active

    def children_active(self, kind: type[Request] | None = None) -> list[Launched]:
        """This run's curve, search and test processes that are still working."""
        return [
            c
            for c in self.app.launcher.active()
            if getattr(c.request, "run_id", None) == self.run_id and (kind is None or isinstance(c.request, kind))
        ]

    def _waits_for_runs(self) -> str:
        """What to add when a curve or test evaluation started now waits in the store's run queue,
        held by runs from this app or any other terminal."""
        from core.store.run_queue import queue_busy

        return " once the runs at work are done" if queue_busy(self.app.store) else ""

    def _computing(self) -> frozenset[str]:
        return frozenset(c.request.kind for c in self.children_active(CurveRequest))

    def action_cancel_run(self) -> None:
        if self.record is None:
            return
        if self.record.status in ACTIVE:
            self.app.cancel_run(self.record)
            return
        children = self.children_active()
        for child in children:
            self.app.launcher.cancel(child.pid)
        if children:
            what = ", ".join(dict.fromkeys(c.request.what for c in children))
            self.notify(f"cancelling the {what} of run {self.run_id} (finished points and folds are kept)")

    def action_curve(self, kind: str) -> None:
        """Start the curve's child process; when it is already computing, cancel it."""
        if self.record is None or not self.check_action("curve", (kind,)):
            return
        running = [c for c in self.children_active(CurveRequest) if c.request.kind == kind]
        if running:
            for child in running:
                self.app.launcher.cancel(child.pid)
            self.notify(f"cancelling the {kind} curve (its finished points are kept)")
            return
        panel = self.query_one(f"#{kind}", CurvePanel)
        self._scroll_to_curves()
        if panel.curve is not None and panel.curve.complete:
            self.notify(f"the {kind} curve is complete (stored)", timeout=3)
            return
        waits = self._waits_for_runs()
        self.app.launcher.start(CurveRequest(self.run_id, kind))
        self.notify(
            f"computing the {kind} curve of run {self.run_id}{waits}; the plot grows as points finish", timeout=3
        )
        self.reread("extras")

    def _scroll_to_curves(self) -> None:
        self.query_one("#body", VerticalScroll).scroll_to_widget(
            self.query_one("#curves-title"), top=True, animate=False
        )

    def action_tune(self) -> None:
        if self.record is not None and self.record.status == "done":
            self.open_tune_dialog(self.record)

    @work(thread=True, exclusive=True, group="run-tune", exit_on_error=False, description="reading parameters")
    def open_tune_dialog(self, record: RunRecord) -> None:
        """The model's parameter names are read here: building an estimator imports scikit-learn (and a
        model spec is resolved again from its text, which needs the dataset's feature columns)."""
        from core.data.frames import feature_frame
        from core.modeling.specs import run_family
        from core.store.datasets import get_dataset

        store = self.app.store
        try:
            baseline = run_family(record, feature_frame(store, get_dataset(store, record.dataset_id)))
        except MlloopError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error", markup=False)
            return
        names = sorted(baseline.estimator(record.task, {}, record.seed).get_params())  # deep, as tune
        self.app.call_from_thread(self._push_tune_dialog, record, baseline.knob_for(record.task), names)

    def _push_tune_dialog(self, record: RunRecord, knob: tuple, names: list[str]) -> None:
        from mlloop_tui.dialogs.tune import TuneDialog, candidates, knob_grid

        def start(request: TuneRequest | None) -> None:
            if request is None:
                return
            self.app.launcher.start(request)
            self.notify(
                f"searching {candidates(request)} candidates from run {record.id}; they appear in the runs "
                "table and below as they finish",
                timeout=4,
            )
            self.app.poll_store()

        if self.is_attached:
            self.app.push_screen(TuneDialog(record.id, record.model, knob_grid(*knob), names), start)

    def action_test(self) -> None:
        if self.record is None or self.record.status != "done":
            return
        if self.children_active(TestRequest):
            self.notify("the test evaluation of this run is still working", severity="warning")
            return
        self.ask_test(self.record, self.dataset)

    @work(thread=True, exclusive=True, group="run-test", exit_on_error=False, description="counting test evaluations")
    def ask_test(self, record: RunRecord, dataset: DatasetInfo) -> None:
        from core.analysis.holdout import count_test_evaluations

        try:
            used = count_test_evaluations(self.app.store, record.dataset_id)
        except MlloopError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error", markup=False)
            return
        self.app.call_from_thread(self._confirm_test, record, dataset, used)

    def _confirm_test(self, record: RunRecord, dataset: DatasetInfo, used: int) -> None:
        from mlloop_tui.dialogs.confirm import ConfirmDialog

        question = (
            f"Evaluate run {record.id} ({record.model}) on the locked test set of {record.dataset}? It is "
            f"fitted on the {dataset.n_dev:,} development rows and scored on the {dataset.n_test:,} test "
            "rows. "
        )
        if used:
            question += (
                f"This test set has been used {used} time{'s' if used != 1 else ''} already: from the second "
                "evaluation on, the test score is no longer an unbiased estimate of the error on new data."
            )
        else:
            question += (
                "This test set has not been used yet: this first evaluation is an unbiased estimate. "
                "Spend it on the model you have chosen."
            )

        def answer(yes: bool | None) -> None:
            if yes:
                waits = self._waits_for_runs()
                self.app.launcher.start(TestRequest(record.id))
                self.notify(f"evaluating run {record.id} on the locked test set{waits}", timeout=3)

        if self.is_attached:
            self.app.push_screen(ConfirmDialog(question, "Evaluate"), answer)
