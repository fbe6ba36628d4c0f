"""The import dialog: a file path (with file-system completion), a target column (with the
file's header names as suggestions) and an optional dataset name.

Nothing here blocks the event loop: path completion lists directories in a thread, the column
names come from :func:`core.data.reading.peek_columns` in a thread worker (the names the import
will store, read from the head of a CSV or the schema of a Parquet file), and the import itself —
:func:`core.data.importing.import_dataset` on the app's store — runs in a thread worker, whose
progress (bytes read, then rows profiled and stored) the status line shows. The path may be a
directory or a glob of files with the same columns (their first file's header gives the names). A
failed import shows the engine's one-line message in the dialog, which stays open; a successful one
dismisses the dialog with the new :class:`~core.types.DatasetInfo`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static

from core.data.inputs import resolve_inputs
from core.data.progress import ImportStep
from core.data.reading import DATA_SUFFIXES, peek_columns
from core.errors import MlloopError
from core.text import printable
from core.types import DatasetInfo
from mlloop_tui.dialogs.base import Dialog
from mlloop_tui.widgets.literal import literal

# --------------------------------------------------------------------------- completion


def _rank(name: str, is_dir: bool) -> tuple[int, str]:
    """Directories and data files first, then other files; alphabetically within each."""
    data = is_dir or name.lower().endswith(DATA_SUFFIXES)
    return (0 if data else 1, name.lower())


def complete_path(value: str) -> str | None:
    """A completion of ``value`` (a partial path, ``~`` allowed) that starts with ``value``.

    One match completes fully (a directory gets a trailing ``/``); several complete to their
    longest common prefix, or, when that adds nothing, to the first directory or data file.
    Hidden entries are offered only when the typed name starts with a dot.
    """
    if not value:
        return None
    head, prefix = os.path.split(os.path.expanduser(value))
    try:
        with os.scandir(head or ".") as entries:
            matches = []
            for entry in entries:
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                matches.append((entry.name, is_dir))
    except OSError:
        return None
    if not matches:
        return None
    if len(matches) == 1:
        name, is_dir = matches[0]
        completion = name[len(prefix) :] + ("/" if is_dir else "")
    else:
        common = os.path.commonprefix([name for name, _ in matches])
        if len(common) > len(prefix):
            completion = common[len(prefix) :]
        else:
            name, is_dir = min(matches, key=lambda m: _rank(*m))
            completion = name[len(prefix) :] + ("/" if is_dir else "")
    return value + completion if completion else None


class PathSuggester(Suggester):
    """Completes file-system paths; the directory is listed in a thread, never cached."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)


class ColumnSuggester(Suggester):
    """Suggests the column names of the file's header (exact case first, then any case)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.columns: list[str] = []

    async def get_suggestion(self, value: str) -> str | None:
        # Names with control characters cannot be typed; they are shown in the hint line only.
        names = [c for c in self.columns if printable(c) == c]
        for name in names:
            if name.startswith(value):
                return name
        folded = value.casefold()
        for name in names:
            if name.casefold().startswith(folded):
                return name
        return None


class CompletingInput(Input):
    """An Input where Tab accepts the completion (like Right); without one, Tab moves on."""

    BINDINGS = [
        Binding(
            "tab",
            "complete",
            "Complete",
            show=False,
            id="input.complete",
            tooltip="Accept the completion, or move to the next field",
        ),
    ]

    def action_complete(self) -> None:
        before = self.value
        if self.cursor_at_end:
            self.action_cursor_right()  # accepts the suggestion, if there is one
        if self.value == before:
            self.screen.focus_next()


def is_data_file(path: str) -> bool:
    return path.lower().endswith(DATA_SUFFIXES)


# --------------------------------------------------------------------------- the dialog


class ImportDialog(Dialog[DatasetInfo | None]):
    """Import a CSV or Parquet file into the store."""

    def __init__(self, path: str = "", target: str = "") -> None:
        super().__init__()
        self._initial_path = path
        self._initial_target = target
        self._columns_suggester = ColumnSuggester()
        self._header_for: str | None = None

    def heading(self) -> Text:
        keys = f"{self.app.shown_key('input.complete', CompletingInput)} completes · {self.key('dialog.cancel')} closes"
        return Text.assemble(("Import a dataset", "bold"), (f"  CSV, TSV (.gz) or Parquet · {keys}", "dim"))

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("File")
            yield CompletingInput(
                self._initial_path,
                placeholder="path to a .csv / .tsv / .parquet file",
                suggester=PathSuggester(),
                id="path",
            )
        with Horizontal(classes="field"):
            yield Label("Target")
            yield CompletingInput(
                self._initial_target,
                placeholder="the column to predict",
                suggester=self._columns_suggester,
                id="target",
            )
        yield Static(id="columns")
        with Horizontal(classes="field"):
            yield Label("Name")
            yield Input(placeholder="optional; default: the file name", id="name")
        yield Static(id="status")
        with Horizontal(id="buttons"):
            yield Button("Import", variant="primary", id="import")
            yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()
        if self._initial_path:
            self._path_changed_to(self._initial_path)

    # -- the header, for target suggestions ---------------------------------------------
    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        self._path_changed_to(event.value)

    def _path_changed_to(self, value: str) -> None:
        path = value.strip()
        if path == self._header_for:
            return
        self._header_for = None
        self._columns_suggester.columns = []
        self.query_one("#columns", Static).update("")
        if is_data_file(path) or path.endswith(os.sep):
            self.load_header(path)

    @work(thread=True, exclusive=True, group="import-header", exit_on_error=False, description="reading the header")
    def load_header(self, path: str) -> None:
        try:
            names = peek_columns(resolve_inputs(path).files[0])
        except Exception:
            return
        self.app.call_from_thread(self._show_header, path, names)

    def _show_header(self, path: str, names: list[str]) -> None:
        if path != self.query_one("#path", Input).value.strip():
            return  # the user has typed on
        self._header_for = path
        self._columns_suggester.columns = names
        hint = Text("columns: ", style="dim")
        hint.append_text(literal(", ".join(printable(n) for n in names), max_width=58))
        self.query_one("#columns", Static).update(hint)

    # -- importing ----------------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_import()

    @on(Button.Pressed, "#import")
    def _import_pressed(self) -> None:
        self.action_import()

    def action_import(self) -> None:
        if self.query_one("#import", Button).disabled:
            return  # an import is already running
        path = self.query_one("#path", Input).value.strip()
        target = self.query_one("#target", Input).value.strip()
        name = self.query_one("#name", Input).value.strip() or None
        if not path:
            self._error("give the path of a CSV or Parquet file", focus="#path")
            return
        if not target:
            self._error("give the target column (the one to predict)", focus="#target")
            return
        self._set_status(Text.assemble("importing ", literal(name or Path(path).name), "…"))
        self.query_one("#import", Button).disabled = True
        self.run_import(path, target, name)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False, description="importing a dataset")
    def run_import(self, path: str, target: str, name: str | None) -> None:
        from core.data.importing import import_dataset

        try:
            info = import_dataset(
                self.app.store, Path(path).expanduser(), target, name=name, progress=self._import_progress
            )
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
        except Exception as e:
            self.app.call_from_thread(self._failed, f"internal error: {type(e).__name__}: {e}")
        else:
            self.app.call_from_thread(self._imported, info)

    def _import_progress(self, step: ImportStep) -> None:
        """From the import's progress thread: the status line says how far it is."""
        self.app.call_from_thread(self._set_status, Text(step.line()))

    def _failed(self, message: str) -> None:
        self.query_one("#import", Button).disabled = False
        self._error(message)

    def _imported(self, info: DatasetInfo) -> None:
        self.app.notify(
            f"imported {printable(info.name)}: {info.n_rows} rows × {info.n_cols} columns, "
            f"{info.task} target {printable(info.target)}",
            title="dataset imported",
            markup=False,
            timeout=4,
        )
        self.dismiss(info)

    def _error(self, message: str, focus: str | None = None) -> None:
        status = self.query_one("#status", Static)
        status.add_class("-error")
        line = Text()  # one line of text, wrapped to the dialog's width if it is long
        line.append_text(literal(" ".join(message.split())))
        status.update(line)
        if focus:
            self.query_one(focus, Input).focus()

    def _set_status(self, text: Text) -> None:
        status = self.query_one("#status", Static)
        status.remove_class("-error")
        status.update(text)
