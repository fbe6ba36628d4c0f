"""The Textual app: screens, global keys, and the store watcher. No business logic here.

The app never holds a store connection: a timer asks a thread worker for the store's change
stamp every ``poll_interval`` seconds and sets :attr:`MlloopApp.stamp`; screens watch it and
reload their data in their own thread workers. That is how folds from this app's runs and
from any other process (a ``mlloop run`` in another SSH session) show up within a second or two.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from core.store import Store
from core.types import RunRecord
from mlloop_tui.keymap import bound_key, declared_bindings, key_name, load_keymap
from mlloop_tui.runner import RunLauncher, RunRequest
from mlloop_tui.screens.dataset_in_view import DatasetInView, ShowsDataset
from mlloop_tui.screens.runs import RunsScreen

POLL_INTERVAL_S = 1.0
QUIT_QUESTION = "quit-question"  # the id of the dialog asking whether to cancel runs and quit


def _datasets_screen() -> Screen:
    from mlloop_tui.screens.datasets import DatasetsScreen

    return DatasetsScreen()


class MlloopApp(App):
    """mlloop: datasets, runs, comparisons — from the keyboard."""

    TITLE = "mlloop"
    CSS_PATH = ["styles/app.tcss", "styles/dialogs.tcss"]
    ENABLE_COMMAND_PALETTE = True
    MODES = {"runs": RunsScreen, "datasets": lambda: _datasets_screen()}
    BINDINGS = [
        Binding("q", "quit_app", "Quit", id="app.quit", tooltip="Quit (asks first if a run is in progress)"),
        Binding("question_mark", "keys", "Keys", id="app.keys", tooltip="Show every key"),
        # r/d are shown in the title bar rather than the footer, which is full at 80 columns
        Binding("r", "switch_mode('runs')", "Runs", show=False, id="app.runs", tooltip="The runs table"),
        Binding(
            "d",
            "switch_mode('datasets')",
            "Datasets",
            show=False,
            id="app.datasets",
            tooltip="Datasets and their profiles",
        ),
        Binding("n", "new_run", "New run", id="app.new_run", tooltip="Cross-validate baselines on a dataset"),
        Binding(
            "L",
            "load_samples",
            "Load samples",
            show=False,
            id="app.load_samples",
            tooltip="Import the bundled sample datasets and run the baselines",
        ),
    ]

    stamp: reactive[tuple] = reactive(tuple, always_update=False)

    def __init__(self, store: Store, poll_interval: float = POLL_INTERVAL_S, load_samples: bool = False) -> None:
        super().__init__()
        self.store = store
        self.poll_interval = poll_interval
        self.load_samples_on_start = load_samples
        self.launcher = RunLauncher(store.path)
        self._has_running = False
        self._checker: subprocess.Popen[bytes] | None = None  # the data-quality checker started here
        self._checked_stamp: tuple | None = None
        self.keymap = load_keymap()
        self.set_keymap(self.keymap)

    def on_mount(self) -> None:
        self.switch_mode("runs")
        self.poll_store()
        self.set_interval(self.poll_interval, self.poll_store)
        if self.load_samples_on_start:
            self.action_load_samples()

    # -- the store watcher -----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="poll", exit_on_error=False, description="watching the store")
    def poll_store(self) -> None:
        stamp = self.store.change_stamp()
        # An active run's shown status can change with no write (its process died), so while
        # any run is active the stamp also ticks every few seconds.
        tick = int(time.monotonic() // 5) if self.launcher.active() or self._has_running else 0
        if stamp != self._checked_stamp:
            self._checked_stamp = stamp
            self._start_checker_if_needed()
        self.call_from_thread(self._set_stamp, (*stamp, tick))

    def _start_checker_if_needed(self) -> None:
        """Check new (or never checked) datasets in the background, one checker at a time."""
        from core.analysis.trust import needs_checks
        from core.errors import MlloopError
        from mlloop_tui.background import enabled, start_checker

        if not enabled() or (self._checker is not None and self._checker.poll() is None):
            return
        try:
            if needs_checks(self.store):
                self._checker = start_checker(self.store.path)
        except MlloopError:
            pass  # the store's own error is shown where it is read

    def _set_stamp(self, stamp: tuple) -> None:
        for ended in self.launcher.reap():
            if ended.process.returncode not in (0, 130):
                self.notify(
                    ended.error_line(), title=f"{ended.request.what} failed", severity="error", timeout=10, markup=False
                )
        self.stamp = stamp

    async def action_switch_mode(self, mode: str) -> None:
        await super().action_switch_mode(mode)
        # Textual masks a switch with a 50 ms delayed update; once that has passed, repaint the
        # whole screen: after rapid resizes the resumed screen was sometimes never written,
        # leaving the previous mode on the terminal until something changed.
        self.set_timer(0.1, lambda: self.refresh(layout=True))

    def freeze_heap(self) -> None:
        """Keep what is alive now (modules, the app, a big runs table) out of the garbage
        collector's full passes, which otherwise rescan it all and stall the screen for ~0.5 s
        at a time with 10,000 runs. Reference counting still frees these objects; only cycles
        among them wait until the app ends (:meth:`on_unmount`)."""
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()  # collectable again, so the interpreter's shutdown sees a normal heap

    def note_running(self, active: bool) -> None:
        """Screens tell the app whether any run is active, to keep status ticking."""
        self._has_running = active

    # -- navigation --------------------------------------------------------------------------
    def open_run(self, run_id: int) -> None:
        from mlloop_tui.screens.run_detail import RunDetailScreen

        self.push_screen(RunDetailScreen(run_id))

    def open_comparison(self, run_ids: list[int]) -> None:
        from mlloop_tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(run_ids))

    def export_runs(self, run_ids: list[int], reference: int | None = None, metric: str | None = None) -> None:
        from mlloop_tui.dialogs.export import ExportDialog

        self.push_screen(ExportDialog(run_ids, reference=reference, metric=metric))

    def open_quality(self, dataset: str) -> None:
        from mlloop_tui.screens.quality import QualityScreen

        self.push_screen(QualityScreen(dataset))

    def open_features(self, dataset: str, model: str) -> None:
        from mlloop_tui.screens.features import FeaturesScreen

        self.push_screen(FeaturesScreen(dataset, model))

    def dataset_in_view(self) -> DatasetInView | None:
        """The current dataset of the screen in front, if it is about one (:mod:`.screens.dataset_in_view`)."""
        return self.screen.current_dataset() if isinstance(self.screen, ShowsDataset) else None

    def action_quality(self) -> None:
        """Q on a screen about a dataset: its data-quality findings."""
        if (current := self.dataset_in_view()) is not None:
            self.open_quality(current.dataset)

    def action_features(self) -> None:
        """F on a screen about a dataset: its feature-selection curves, with the run's model if there is one."""
        if (current := self.dataset_in_view()) is not None:
            self.open_features(current.dataset, current.model)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("quality", "features"):  # the screens' Q and F: shown dimmed until a dataset is current
            return True if self.dataset_in_view() is not None else None
        return True

    def action_keys(self) -> None:
        from mlloop_tui.dialogs.keys import KeysDialog

        self.push_screen(KeysDialog())

    def action_new_run(self, dataset: str | None = None) -> None:
        from mlloop_tui.dialogs.new_run import NewRunDialog

        def start(request: RunRequest | None) -> None:
            if request is not None:
                self.start_run(request)

        self.push_screen(NewRunDialog(dataset), start)

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, request: RunRequest, announce: bool = True) -> None:
        self.launcher.start(request)
        if announce:
            self.notify(f"started {', '.join(request.names)} on {request.dataset}", timeout=3, markup=False)
        self.poll_store()

    def cancel_run(self, run: RunRecord) -> None:
        if run.status not in ("running", "queued"):
            self.notify(f"run {run.id} is {run.status}, not running", severity="warning")
            return
        if run.host != socket.gethostname() or run.pid is None:
            self.notify(f"run {run.id} runs on {run.host}; cancel it there", severity="warning", markup=False)
            return
        try:
            os.kill(run.pid, signal.SIGINT)
        except ProcessLookupError:
            self.notify(f"run {run.id}'s process has already ended", severity="warning")
            return
        self.notify(f"cancelling run {run.id} (every run its process started stops; finished folds are kept)")

    def shown_key(self, binding_id: str, owner: object = None) -> str:
        """The key of ``binding_id`` as hints name it, remapped or not; ``owner`` (a screen, dialog or widget, or
        its class) declares the binding, default the app."""
        owner = self if owner is None else owner
        bindings = declared_bindings(owner if isinstance(owner, type) else type(owner))
        return key_name(bound_key(binding_id, bindings, self.keymap))

    # -- samples -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="samples", exit_on_error=False, description="loading samples")
    def action_load_samples(self) -> None:
        """Import the samples that are missing; run the baselines on those never run yet."""
        from core.data.demo import load_samples
        from core.errors import MlloopError
        from core.store.runs import list_runs

        try:
            infos = load_samples(self.store)
            have_runs = {r.dataset_id for r in list_runs(self.store)}
        except MlloopError as e:
            self.call_from_thread(self.notify, str(e), severity="error", markup=False)
            return
        todo = [info.name for info in infos if info.id not in have_runs]
        if todo:  # one child: one pool of workers for every sample, where a child each would oversubscribe
            self.call_from_thread(self.start_run, RunRequest(todo[0], ("all",), folds=5, also=tuple(todo[1:])), False)
            self.call_from_thread(self.notify, f"running every baseline on {', '.join(todo)}", timeout=4, markup=False)

    # -- quitting ----------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Textual's own quit (ctrl+q, the palette's "Quit") asks first too: quitting at once would
        leave the runs started here working with no app to show or cancel them."""
        self.action_quit_app()

    def action_quit_app(self) -> None:
        active = self.launcher.active()
        if not active:
            self.exit()
            return
        from mlloop_tui.dialogs.confirm import ConfirmDialog

        if isinstance(self.screen, ConfirmDialog) and self.screen.id == QUIT_QUESTION:
            return  # already asking (ctrl+q, a priority key, reaches the app over the question)

        def answer(yes: bool | None) -> None:
            if yes:
                self.launcher.cancel()
                self.exit()

        self.push_screen(
            ConfirmDialog(
                f"{len(active)} process(es) (runs, curves, searches) still working. Cancel them and quit?",
                "Cancel runs & quit",
                id=QUIT_QUESTION,
            ),
            answer,
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every action that has a key, once, after Textual's own commands."""
        yield from super().get_system_commands(screen)
        seen: set[tuple[str, int]] = set()
        for active in screen.active_bindings.values():
            b = active.binding
            if not b.id or (b.action, id(active.node)) in seen:
                continue
            seen.add((b.action, id(active.node)))
            key = self.get_key_display(b)
            yield SystemCommand(
                f"{b.description} ({key})",
                b.tooltip or b.description,
                lambda action=b.action, node=active.node: self.run_action(action, node),
            )
