"""The new-run dialog: a dataset, the models to fit, the cross-validation scheme and where to fit.

The models are the baselines, the model specs runs in this store were made from (as ``mlloop
models`` lists them) and a new ``NAME=SPEC`` typed in; the sample field is ``mlloop run --sample``'s
number of development rows or ``all`` (empty: every row, or what fits the memory budget, as
without ``--sample``); the cluster field is a Dask scheduler's address (default ``$MLLOOP_CLUSTER``; empty:
this machine). It dismisses with a :class:`~mlloop_tui.runner.RunRequest` (the app starts the run
as a ``mlloop run`` child process) or ``None`` when cancelled. Values are checked here, so a bad
number, sample or spec is a one-line message in the dialog rather than a failed run. The dataset
names and specs are read from the store in a thread worker, and so is what a sample is checked
against (the dataset's rows, classes or groups).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from core.data.sampling import ALL, parse_sample
from core.errors import InputError, MlloopError
from core.modeling.models import BASELINES
from core.modeling.specs import OBJECT_PREFIX, ModelSpec, parse_model_option
from mlloop_tui.cli.runs import CLUSTER_ENV
from mlloop_tui.dialogs.base import StartDialog
from mlloop_tui.runner import RunRequest
from mlloop_tui.widgets.literal import literal

MAX_SEED = 2**31 - 1
SAMPLE_OPTION = "sample"  # how the sample's messages name it here (the CLI's say --sample)


class RequestError(ValueError):
    """A bad value in the dialog; ``field`` is the id of the widget to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _int(text: str, label: str, field: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        shown = text.strip() or "(empty)"
        raise RequestError(f"{label} must be a whole number, not {shown}", field) from None


def check_spec(text: str, field: str = "spec") -> ModelSpec:
    """``NAME=SPEC`` parsed, its file or top-level package found (nothing imported or run), or
    :class:`RequestError`; the ``mlloop run`` child resolves it in full before it creates a run."""
    try:
        spec = parse_model_option(text)
    except InputError as e:
        raise RequestError(str(e), field) from None
    if spec.is_file:
        if not Path(spec.target).expanduser().is_file():
            raise RequestError(f"model {spec.name}: file {spec.target} does not exist", field)
        return spec
    package = spec.target.split(".")[0]
    try:
        found = importlib.util.find_spec(package) is not None  # a top-level name: searched, not imported
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RequestError(f"model {spec.name}: no module named {package!r}", field)
    return spec


def build_request(
    dataset: object,
    models: list[str],
    folds: str,
    repeats: str,
    seed: str,
    jobs: str,
    spec: str = "",
    cluster: str = "",
    sample: str = "",
) -> RunRequest:
    """The run request from the dialog's raw values, or :class:`RequestError` (one line).

    ``models`` holds baseline names and stored specs' ``NAME=SPEC`` texts; ``spec`` is a new one.
    ``sample`` (a number of rows or ``all``) is checked here as a positive number only: against the
    dataset, :meth:`NewRunDialog.check_sample`.
    """
    if not isinstance(dataset, str) or not dataset:
        raise RequestError("choose a dataset (import one with i on the datasets screen)", "dataset")
    typed = spec.strip()
    specs = [m for m in models if m not in BASELINES] + ([typed] if typed else [])
    if not models and not specs:
        raise RequestError("choose at least one model (space toggles) or type a spec", "models")
    n_folds = _int(folds, "folds", "folds")
    if n_folds < 2:
        raise RequestError(f"folds must be at least 2, got {n_folds}", "folds")
    n_repeats = _int(repeats, "repeats", "repeats")
    if n_repeats < 1:
        raise RequestError(f"repeats must be at least 1, got {n_repeats}", "repeats")
    n_seed = _int(seed, "seed", "seed")
    if not 0 <= n_seed <= MAX_SEED:
        raise RequestError(f"seed must be in [0, {MAX_SEED}], got {n_seed}", "seed")
    n_jobs = _int(jobs, "jobs", "jobs")
    if n_jobs == 0 or n_jobs < -1:
        raise RequestError(f"jobs must be -1 (all cores) or at least 1, got {n_jobs}", "jobs")
    n_sample: int | Literal["all"] | None = None
    text = sample.strip()
    if text:
        try:
            n_sample = parse_sample(ALL if text.lower() == ALL else _int(text, "sample", "sample"), SAMPLE_OPTION)
        except InputError as e:
            raise RequestError(str(e), "sample") from None
    names = [check_spec(text, "spec" if text == typed else "models").name for text in specs]
    repeated = next((n for n in names if names.count(n) > 1), None)
    if repeated is not None:
        raise RequestError(f"two models are named {repeated!r}: choose one", "models")
    ordered = tuple(name for name in BASELINES if name in models)
    # Every model selected means "all": the ones that suit the dataset's task (no GLM on a ranking dataset).
    chosen = ("all",) if len(ordered) == len(BASELINES) else ordered
    return RunRequest(
        dataset,
        chosen,
        folds=n_folds,
        repeats=n_repeats,
        seed=n_seed,
        jobs=n_jobs,
        specs=tuple(specs),
        cluster=cluster.strip(),
        sample=n_sample,
    )


class ModelList(SelectionList[str]):
    """The baselines, then the stored specs; space toggles one, Enter starts the run (as everywhere)."""

    BINDINGS = [
        Binding("enter", "screen.start", "Start", show=False, id="new_run.start_from_models", tooltip="Start the run"),
        Binding(
            "a",
            "toggle_all",
            "All/none",
            show=False,
            id="new_run.toggle_all",
            tooltip="Select all models, or none when all are selected",
        ),
    ]

    def action_toggle_all(self) -> None:
        if len(self.selected) == self.option_count:
            self.deselect_all()
        else:
            self.select_all()


class NewRunDialog(StartDialog[RunRequest | None]):
    """Choose a dataset, models, the cross-validation scheme and where to fit; Enter starts."""

    BINDINGS = [
        Binding("enter", "start", "Start", id="new_run.start", tooltip="Start the run"),
    ]

    def __init__(self, dataset: str | None = None) -> None:
        super().__init__()
        self.dataset = dataset
        self.datasets_loaded = False
        # focus at compose, not in on_mount: a focus() there races the screen's own auto-focus of the
        # first focusable widget (the dataset Select), which could win and take the keys
        self.AUTO_FOCUS = "#dataset" if not dataset else "#models"

    def heading(self) -> Text:
        keys = f"{self.key('new_run.start')} starts · {self.key('dialog.cancel')} closes"
        return Text.assemble(("New run", "bold"), (f"  cross-validate models · {keys}", "dim"))

    def compose_body(self) -> ComposeResult:
        options = [(literal(self.dataset), self.dataset)] if self.dataset else []
        with Horizontal(id="columns"):
            with Vertical(id="left"):
                yield Label("Dataset")
                yield Select(options, value=self.dataset or Select.NULL, prompt="choose a dataset", id="dataset")
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("Folds")
                        yield Input("5", type="integer", id="folds")
                    with Vertical():
                        yield Label("Repeats")
                        yield Input("1", type="integer", id="repeats")
                    with Vertical():
                        yield Label("Seed")
                        yield Input("0", type="integer", id="seed")
                with Horizontal(classes="pair"):
                    with Vertical():
                        yield Label("Jobs (-1 = all)")
                        yield Input("-1", type="integer", id="jobs")
                    with Vertical():
                        yield Label("Sample (N or all)")
                        yield Input(placeholder="auto", id="sample")  # auto: every row, or what fits the memory budget
            with Vertical(id="right"):
                yield Label(Text.assemble("Models ", ("space toggles · a all/none", "dim")))
                yield ModelList(
                    *(
                        Selection(Text.assemble((b.name.ljust(9), "bold"), (b.description, "dim")), b.name, True)
                        for b in BASELINES.values()
                    ),
                    id="models",
                )
                with Horizontal(classes="field"):
                    yield Label("Spec")
                    yield Input(placeholder="name=package.Class(arg=1)", id="spec")
        yield Static(id="error")
        with Horizontal(id="buttons"):
            yield Button("Start", variant="primary", id="start")
            yield Button("Cancel", id="cancel")
            with Horizontal(classes="field", id="where"):
                yield Label("Cluster")
                yield Input(os.environ.get(CLUSTER_ENV, ""), placeholder="empty: this machine", id="cluster")

    def on_mount(self) -> None:
        self.load_datasets()

    @work(thread=True, exclusive=True, group="new-run-datasets", exit_on_error=False, description="listing datasets")
    def load_datasets(self) -> None:
        from core.store.datasets import list_datasets
        from core.store.model_specs import used_specs

        try:
            names = [d.name for d in list_datasets(self.app.store)]
            # a Python object's run cannot be re-created from the CLI: not offered
            specs = [(s.name, s.text) for s in used_specs(self.app.store) if not s.text.startswith(OBJECT_PREFIX)]
        except MlloopError as e:
            self.app.call_from_thread(self._show_error, str(e), None)
            return
        self.app.call_from_thread(self._show_loaded, names, specs)

    def _show_loaded(self, names: list[str], specs: list[tuple[str, str]]) -> None:
        if specs:
            self.query_one(ModelList).add_options(
                Selection(Text.assemble(literal(name.ljust(9), "bold"), literal(text, "dim")), f"{name}={text}")
                for name, text in specs
            )
        select = self.query_one("#dataset", Select)
        current = select.value if isinstance(select.value, str) else None
        if current and current not in names:
            names = [*names, current]  # keep the preselected name; the run reports if it is gone
        with select.prevent(Select.Changed):  # not an edit: keep any message on show
            select.set_options([(literal(n, max_width=40), n) for n in names])
            if current:
                select.value = current
            elif names:
                select.value = names[-1]  # the newest dataset
        self.datasets_loaded = True
        if not names:
            self._show_error("no datasets yet: import one first (i on the datasets screen)", None)

    # -- starting -----------------------------------------------------------------------
    def action_start(self) -> None:
        try:
            request = build_request(
                self.query_one("#dataset", Select).value,
                self.query_one("#models", ModelList).selected,
                *(self.query_one(f"#{name}", Input).value for name in ("folds", "repeats", "seed", "jobs")),
                spec=self.query_one("#spec", Input).value,
                cluster=self.query_one("#cluster", Input).value,
                sample=self.query_one("#sample", Input).value,
            )
        except RequestError as e:
            self._show_error(str(e), e.field)
            return
        if not isinstance(request.sample, int):  # none, or all: nothing to check against the dataset
            self.dismiss(request)
        else:
            self.check_sample(request)

    @work(thread=True, exclusive=True, group="new-run-sample", exit_on_error=False, description="checking the sample")
    def check_sample(self, request: RunRequest) -> None:
        """The sample against the dataset (its development rows, and its classes or groups for the
        folds) by the rule ``mlloop run --sample`` applies: a bad size is a message here, not a failed run."""
        from core.data.sampling import plan_sample
        from core.store.datasets import get_dataset

        store = self.app.store
        try:
            plan_sample(
                store, get_dataset(store, request.dataset), request.sample, request.folds, request.seed, SAMPLE_OPTION
            )
        except MlloopError as e:
            self.app.call_from_thread(self._show_error, str(e), "sample" if isinstance(e, InputError) else None)
            return
        self.app.call_from_thread(self._sample_checked, request)

    def _sample_checked(self, request: RunRequest) -> None:
        if self.is_current:  # not closed, nor started already by a second Enter, while the sample was checked
            self.dismiss(request)

    @on(Input.Changed)
    @on(SelectionList.SelectedChanged)
    @on(Select.Changed)
    def _edited(self) -> None:
        self.query_one("#error", Static).update("")

    def _show_error(self, message: str, field: str | None) -> None:
        line = Text()
        line.append_text(literal(message))
        self.query_one("#error", Static).update(line)
        if field:
            self.query_one(f"#{field}").focus()
