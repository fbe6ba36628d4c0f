"""The datasets screen: every imported dataset, and the selected one's column profile and notes.

Both tables reload when the store changes (the app's ``stamp``), in thread workers; nothing
here touches the store on the event loop. Every name and value from a user's file is shown
through :func:`~mlloop_tui.widgets.literal.literal`, so a column called ``[@click=app.quit]``
is just text. On an empty store the screen says how to get data in: ``L`` loads the bundled
samples (and runs the baselines on them), ``i`` imports a file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from core.data.samples import SAMPLES
from core.errors import MlloopError
from core.types import ColumnProfile, DatasetInfo
from mlloop_tui.screens.dataset_in_view import DatasetInView
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.title_bar import TitleBar

DATASET_COLUMNS = (
    ("name", "name"),
    ("rows", "rows"),
    ("cols", "cols"),
    ("task", "task"),
    ("target", "target"),
    ("dev", "dev"),
    ("test", "test"),
)
PROFILE_COLUMNS = (
    ("column", "column"),
    ("type", "type"),
    ("kind", "kind"),
    ("missing", "miss"),
    ("distinct", "dist"),
    ("min", "min"),
    ("max", "max"),
    ("mean", "mean"),
    ("top", "top values"),
)


def _count_cell(value: int) -> Text:
    return Text(f"{value:,}", justify="right")


def _mean(value: float | None) -> Text:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text("")
    return Text(f"{value:.4g}", justify="right")


def dataset_row(info: DatasetInfo) -> tuple[Text, ...]:
    return (
        literal(info.name, style="bold", max_width=20),
        _count_cell(info.n_rows),
        _count_cell(info.n_cols),
        Text(info.task),
        literal(info.target, max_width=18),
        _count_cell(info.n_dev),
        _count_cell(info.n_test),
    )


def profile_row(col: ColumnProfile, target: str) -> tuple[Text, ...]:
    top = ", ".join(f"{v} ({n})" for v, n in col.top_values)
    return (
        literal(
            col.name, style="bold cyan" if col.name == target else "dim" if col.role == "ignored" else "", max_width=18
        ),
        literal(col.sql_type.lower(), max_width=9),
        Text(col.kind),
        Text(f"{col.n_missing:,}", justify="right", style="yellow" if col.n_missing else ""),
        _count_cell(col.n_distinct),
        literal(col.min, max_width=8),
        literal(col.max, max_width=8),
        _mean(col.mean),
        literal(top, max_width=40),
    )


def summary_line(info: DatasetInfo) -> Text:
    """One line about the dataset: target, task, classes, split."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append_text(literal(info.name, style="bold"))
    line.append(" · target ")
    line.append_text(literal(info.target, style="bold cyan"))
    line.append(f" · {info.task}")
    line.append(f" · test {info.test_size:.0%} seed {info.split_seed}", style="dim")
    if info.n_unlabeled:
        line.append(f" · {info.n_unlabeled:,} unlabeled", style="yellow")
    if info.classes:
        line.append(f" · {len(info.classes)} classes: ")
        line.append_text(literal(", ".join(info.classes)))
    return line


def column_line(col: ColumnProfile) -> Text:
    """Everything about one column (for the one under the profile's cursor): the table's cells
    are cut to fit 80 columns, this line wraps."""
    line = Text()
    line.append_text(literal(col.name, style="bold"))
    line.append(f" · {col.kind} · {col.n_missing:,} missing · {col.n_distinct:,} distinct")
    if col.role == "ignored":
        line.append(" · ignored: not a feature", style="yellow")
    top = Text()
    if col.top_values:
        top.append(" · top ")
        top.append_text(literal(", ".join(f"{v} ({n:,})" for v, n in col.top_values)))
    numbers = Text()
    if col.min is not None or col.max is not None:
        numbers.append(" · range ")
        numbers.append_text(literal(col.min))
        numbers.append(" … ")
        numbers.append_text(literal(col.max))
    if col.mean is not None and not math.isnan(col.mean):
        numbers.append(f" · mean {col.mean:.4g}")
    if col.std is not None and not math.isnan(col.std):
        numbers.append(f" · std {col.std:.4g}")
    first, second = (top, numbers) if col.kind in ("categorical", "text", "boolean") else (numbers, top)
    line.append_text(first)
    line.append_text(second)
    return line


def notes_text(info: DatasetInfo) -> Text:
    """A version's lineage (its parent and what it changed), then the import's notes."""
    from core.data.versions import describe_recipe

    text = Text()  # wraps, unlike the one-line cells
    if info.parent_id is not None:
        text.append("version: ", style="dim")
        text.append_text(literal(describe_recipe(info)))
    for i, note in enumerate(info.notes):
        text.append("\n" if i else "\nnotes: " if text else "notes: ", style="dim")
        text.append_text(literal(note))
    return text


def empty_message(key: Callable[[str], str]) -> Group:
    """What an empty store's datasets screen says: the samples, and the keys (``key``: binding id -> key) that
    load them or import a file."""
    samples = Table.grid(padding=(0, 2))
    samples.add_column(style="bold", no_wrap=True)
    samples.add_column(style="dim")
    for sample in SAMPLES:
        samples.add_row(sample.name, sample.description)
    return Group(
        Text.assemble(
            ("No datasets yet.\n\n", "bold"),
            "Press ",
            (key("datasets.load_samples"), "bold reverse"),
            " to load the bundled sample datasets (one key press; the baselines are then cross-validated on each):\n",
        ),
        Padding(samples, (0, 0, 0, 2)),
        Text.assemble(
            "\nor press ", (key("datasets.import"), "bold reverse"), " to import your own CSV, TSV or Parquet file."
        ),
    )


class DatasetsTable(DataTable):
    """The datasets; Enter moves to the highlighted dataset's profile."""

    DEFAULT_CSS = """
    DatasetsTable { height: auto; max-height: 9; }
    """

    BINDINGS = [
        Binding(
            "enter",
            "screen.focus_profile",
            "Profile",
            id="datasets.profile",
            tooltip="Move to the dataset's column profile",
        ),
    ]


class ProfileTable(DataTable):
    """The selected dataset's columns; Escape goes back to the datasets."""

    DEFAULT_CSS = """
    ProfileTable { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "screen.focus_datasets", "Back", id="datasets.back", tooltip="Back to the datasets table"),
    ]


class DatasetsScreen(Screen):
    """Imported datasets with their profiles; i imports, n starts a run on the selected one,
    Q checks its data quality, F shows its feature-selection curves."""

    BINDINGS = [
        Binding(
            "L",
            "load_samples",
            "Samples",
            id="datasets.load_samples",
            tooltip="Import the bundled sample datasets and run the baselines on them",
        ),
        Binding("i", "import_file", "Import", id="datasets.import", tooltip="Import a CSV, TSV or Parquet file"),
        Binding(
            "n", "new_run", "New run", id="datasets.new_run", tooltip="Cross-validate baselines on the selected dataset"
        ),
        Binding(
            "Q", "app.quality", "Quality", id="datasets.quality", tooltip="Check the selected dataset's data quality"
        ),
        Binding(
            "g",
            "target",
            "Target score",
            id="datasets.target",
            tooltip="Set the dataset's target score (human-level, an existing system's) for the diagnosis",
        ),
        Binding(
            "F",
            "app.features",
            "Features",
            id="datasets.features",
            tooltip="Feature-selection curves and the curse of dimensionality on the selected dataset",
        ),
        Binding(
            "R",
            "review",
            "Review labels",
            show=False,
            id="datasets.review",
            tooltip="Review the selected dataset's suspicious labels one row at a time: keep, relabel, drop",
        ),
    ]

    DEFAULT_CSS = """
    DatasetsScreen #empty { display: none; padding: 1 2; height: auto; }
    DatasetsScreen.-empty #empty { display: block; }
    DatasetsScreen.-empty #body { display: none; }
    DatasetsScreen #summary { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    DatasetsScreen #column { height: auto; max-height: 2; padding: 0 1; background: $boost; }
    DatasetsScreen #notes { height: auto; max-height: 3; padding: 0 1; color: $text-warning; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.infos: list[DatasetInfo] = []
        self.loaded = False
        self.profile: DatasetInfo | None = None  # the dataset whose profile is shown
        self._rows: list[tuple[int, tuple]] = []
        self._want: str | None = None  # a dataset to select once it is listed (just imported)

    def compose(self) -> ComposeResult:
        yield TitleBar("Datasets")
        yield Static(id="empty")
        with Vertical(id="body"):
            yield DatasetsTable(cursor_type="row", id="datasets")
            yield Static(id="summary")
            yield ProfileTable(cursor_type="row", id="profile")
            yield Static(id="column")
            yield Static(id="notes")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DatasetsTable)
        for key, label in DATASET_COLUMNS:
            table.add_column(
                Text(label, justify="right" if key in ("rows", "cols", "dev", "test") else "left"), key=key
            )
        self.watch(self.app, "stamp", self.reload, init=True)

    # -- loading ------------------------------------------------------------------------
    def selected_name(self) -> str | None:
        table = self.query_one(DatasetsTable)
        if not self._rows or not 0 <= table.cursor_row < len(self._rows):
            return None
        rid = self._rows[table.cursor_row][0]
        return next((i.name for i in self.infos if i.id == rid), None)

    def current_dataset(self) -> DatasetInView | None:
        name = self.selected_name()
        return DatasetInView(name) if name is not None else None

    def reload(self, _stamp: object = None) -> None:
        self.load_datasets(self._want or self.selected_name())

    @work(thread=True, exclusive=True, group="datasets-load", exit_on_error=False, description="reading datasets")
    def load_datasets(self, selected: str | None) -> None:
        from core.store.datasets import get_dataset, list_datasets

        try:
            infos = list_datasets(self.app.store)
            names = [i.name for i in infos]
            if selected not in names:
                selected = names[0] if names else None
            detail = get_dataset(self.app.store, selected) if selected is not None else None
        except MlloopError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error", markup=False)
            return
        self.app.call_from_thread(self._show, infos, detail)

    @work(thread=True, exclusive=True, group="datasets-profile", exit_on_error=False, description="reading a profile")
    def load_profile(self, name: str) -> None:
        from core.store.datasets import get_dataset

        try:
            detail = get_dataset(self.app.store, name)
        except MlloopError:
            return  # removed meanwhile: the next reload shows what is there
        self.app.call_from_thread(self._show_profile, detail)

    def _show(self, infos: list[DatasetInfo], detail: DatasetInfo | None) -> None:
        self.infos = infos
        self.loaded = True
        self.set_class(not infos, "-empty")
        if not infos:
            self.query_one("#empty", Static).update(empty_message(partial(self.app.shown_key, owner=self)))
        table = self.query_one(DatasetsTable)
        rows = [(i.id, dataset_row(i)) for i in infos]
        if rows != self._rows:
            table.clear()
            for rid, cells in rows:
                table.add_row(*cells, key=str(rid))
            self._rows = rows
        if detail is not None:
            if self._want == detail.name:
                self._want = None
            index = next((n for n, (rid, _) in enumerate(rows) if rid == detail.id), None)
            if index is not None and index != table.cursor_row:
                table.move_cursor(row=index, animate=False)
            self._show_profile(detail)
        n = len(infos)
        self.query_one(TitleBar).detail = f"{n} dataset{'s' if n != 1 else ''}" if n else "empty store"
        if infos and self.focused is None:
            table.focus()
        self.refresh_bindings()

    def _show_profile(self, info: DatasetInfo) -> None:
        if info.name != self.selected_name():
            return  # the cursor has moved on; its own load is coming
        changed = self.profile != info
        same_dataset = self.profile is not None and self.profile.id == info.id
        self.profile = info
        if not changed:
            return
        self.query_one("#summary", Static).update(summary_line(info))
        table = self.query_one(ProfileTable)
        row = table.cursor_row
        if same_dataset:
            table.clear()
        else:  # column widths only ever grow: start afresh for another dataset
            table.clear(columns=True)
            for key, label in PROFILE_COLUMNS:
                table.add_column(Text(label), key=key)
        for col in info.columns:
            table.add_row(*profile_row(col, info.target), key=str(col.position))
        if same_dataset and 0 < row < len(info.columns):
            table.move_cursor(row=row, animate=False)
        self._show_column(table.cursor_row)
        notes = self.query_one("#notes", Static)
        notes.update(notes_text(info))
        notes.display = bool(info.notes) or info.parent_id is not None

    @on(DataTable.RowHighlighted, "#datasets")
    def _dataset_highlighted(self) -> None:
        name = self.selected_name()
        if name is not None and (self.profile is None or self.profile.name != name):
            self.load_profile(name)
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#profile")
    def _column_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_column(event.cursor_row)

    def _show_column(self, row: int) -> None:
        columns = self.profile.columns if self.profile is not None else ()
        line = column_line(columns[row]) if 0 <= row < len(columns) else Text("")
        self.query_one("#column", Static).update(line)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()

    # -- actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "load_samples":
            return self.loaded and not self.infos  # shown (and taken) only on an empty store
        if action in ("new_run", "target", "review"):
            return True if self.selected_name() is not None else None
        return True

    def action_focus_profile(self) -> None:
        if self.profile is not None:
            self.query_one(ProfileTable).focus()

    def action_focus_datasets(self) -> None:
        self.query_one(DatasetsTable).focus()

    def action_import_file(self) -> None:
        from mlloop_tui.dialogs.import_file import ImportDialog

        def imported(info: DatasetInfo | None) -> None:
            if info is not None:
                self._want = info.name
                self.reload()

        self.app.push_screen(ImportDialog(), imported)

    def action_new_run(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.app.action_new_run(name)

    def action_load_samples(self) -> None:
        self.app.action_load_samples()

    def action_review(self) -> None:
        from mlloop_tui.screens.review import ReviewScreen

        name = self.selected_name()
        if name is not None:
            self.app.push_screen(ReviewScreen(name))

    def action_target(self) -> None:
        from mlloop_tui.dialogs.target import TargetDialog

        if self.profile is None or self.profile.name != self.selected_name():
            return

        def saved(changed: bool | None) -> None:
            if changed:
                self.notify("target score saved: the diagnosis of this dataset's runs uses it", markup=False)

        self.app.push_screen(TargetDialog(self.profile), saved)
