"""The export dialog: one run's summary, or a comparison of runs, as Markdown, HTML or JSON.

It proposes a file name in the current folder (``mlloop-run-12.md``,
``mlloop-compare-3-5-7.md``; ``-2``, ``-3`` … when that name is taken), pre-filled in an Input
where Enter accepts it. The format follows the file's extension: type ``.html`` or ``.json``,
or press F2 / F3 / F4 (Ctrl+T cycles), which rewrites the extension for you.

The file is written by :func:`core.report.export.write_export` in a thread worker, never over an
existing file without a yes in a :class:`~mlloop_tui.dialogs.confirm.ConfirmDialog`. A problem
(a folder that does not exist, an unknown extension, no permission) is shown as one line in
the dialog, which stays open; success notifies with the path and dismisses with it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from core.errors import MlloopError
from core.report.export import EXTENSIONS, FORMATS
from core.text import printable
from mlloop_tui.dialogs.base import Dialog
from mlloop_tui.widgets.literal import literal

FORMAT_NAMES = {"md": "Markdown", "html": "HTML", "json": "JSON"}
FORMAT_KEYS = {"md": "F2", "html": "F3", "json": "F4"}
FORMAT_HINTS = {
    "md": "tables for notes or a pull request",
    "html": "one self-contained page for a browser",
    "json": "every number, for scripts",
}
MAX_NAMED_IDS = 6  # a comparison of more runs is named by its count and id range


def file_stem(run_ids: Sequence[int]) -> str:
    """``mlloop-run-12`` for one run, ``mlloop-compare-3-5-7`` for several (ids sorted)."""
    ids = sorted(dict.fromkeys(int(r) for r in run_ids))
    if len(ids) == 1:
        return f"mlloop-run-{ids[0]}"
    if len(ids) <= MAX_NAMED_IDS:
        return "mlloop-compare-" + "-".join(map(str, ids))
    return f"mlloop-compare-{len(ids)}-runs-{ids[0]}-to-{ids[-1]}"


def propose_name(run_ids: Sequence[int], fmt: str = "md", folder: Path | None = None) -> str:
    """A file name for these runs that does not exist yet in ``folder`` (default: the current folder)."""
    return free_name(file_stem(run_ids), fmt, folder)


def free_name(stem: str, fmt: str, folder: Path | None = None) -> str:
    """``stem.fmt``, or ``stem-2.fmt`` … : the first that does not exist yet in ``folder``."""
    folder = Path(".") if folder is None else folder
    for n in range(1, 1000):
        name = f"{stem}.{fmt}" if n == 1 else f"{stem}-{n}.{fmt}"
        candidate = folder / name
        if not (candidate.exists() or candidate.is_symlink()):
            return name
    return f"{stem}-{os.getpid()}.{fmt}"


def format_of(value: str) -> str | None:
    """``md`` / ``html`` / ``json`` from the typed name's extension, or None."""
    return EXTENSIONS.get(Path(value.strip()).suffix.lower())


def with_format(value: str, fmt: str) -> str:
    """The typed name with its export extension replaced (or ``.fmt`` appended)."""
    value = value.strip()
    if not value:
        return value
    path = Path(value)
    if path.suffix.lower() in EXTENSIONS:
        return value[: len(value) - len(path.suffix)] + f".{fmt}"
    return f"{value}.{fmt}"


def _is_existing_file(path: Path) -> bool:
    return path.is_symlink() or (path.exists() and not path.is_dir())


class ExportDialog(Dialog[Path | None]):
    """Export one run (a run summary) or several (a comparison) to a file."""

    BINDINGS = [
        Binding("f2", "set_format('md')", "Markdown", id="export.markdown", tooltip="Export as Markdown (.md)"),
        Binding("f3", "set_format('html')", "HTML", id="export.html", tooltip="Export as HTML (.html)"),
        Binding("f4", "set_format('json')", "JSON", id="export.json", tooltip="Export as JSON (.json)"),
        Binding(
            "ctrl+t",
            "cycle_format",
            "Next format",
            id="export.cycle_format",
            tooltip="Next format: Markdown → HTML → JSON",
        ),
    ]

    def __init__(self, run_ids: Sequence[int], reference: int | None = None, metric: str | None = None) -> None:
        super().__init__()
        self.run_ids = list(dict.fromkeys(int(r) for r in run_ids))
        self.reference = reference
        self.metric = metric
        self._proposed = ""
        self.busy = False

    @property
    def what(self) -> str:
        if len(self.run_ids) == 1:
            return f"run {self.run_ids[0]}"
        return f"the comparison of runs {', '.join(map(str, self.run_ids))}"

    def propose(self, fmt: str, folder: Path | None = None) -> str:
        """A free file name for this export (a subclass names what it exports)."""
        return propose_name(self.run_ids, fmt, folder)

    def export_to(self, target: Path, overwrite: bool) -> Path:
        """Write the summary (in the dialog's thread worker); errors are the worker's to show."""
        from core.report.export import write_export

        several = len(self.run_ids) > 1
        return write_export(
            self.app.store,
            self.run_ids,
            target,
            overwrite=overwrite,
            reference=self.reference if several else None,
            metric=self.metric if several else None,
        )

    def heading(self) -> Text:
        return Text.assemble(
            ("Export ", "bold"), (self.what, "bold"), (f"  Enter writes · {self.key('dialog.cancel')} closes", "dim")
        )

    def compose_body(self) -> ComposeResult:
        self._proposed = self.propose("md")
        with Horizontal(classes="field"):
            yield Label("File")
            yield Input(self._proposed, placeholder="file name: .md, .html or .json", id="path")
        yield Static(id="formats", classes="line")
        yield Static(id="hint", classes="line")
        yield Static(
            "written to the current folder unless the name has a path", id="folder", classes="line", markup=False
        )
        yield Static(id="status", classes="-empty")
        with Horizontal(id="buttons"):
            yield Button("Export", variant="primary", id="export")
            yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()
        self._show_format(self._proposed)

    # -- the format ---------------------------------------------------------------------
    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        self._show_format(event.value)

    def _show_format(self, value: str) -> None:
        fmt = format_of(value)
        line = Text(no_wrap=True, end="")
        for f in FORMATS:
            if line:
                line.append("  ")
            style = "bold reverse" if f == fmt else "dim" if fmt else ""
            line.append(f"{FORMAT_KEYS[f]} {FORMAT_NAMES[f]}", style=style)
        line.append("  · Ctrl+T next", style="dim")
        self.query_one("#formats", Static).update(line)
        if fmt is not None:
            hint = Text(f"{FORMAT_NAMES[fmt]}: {FORMAT_HINTS[fmt]}")
        elif value.strip():
            hint = Text("unknown extension: use .md, .html or .json (or press F2 / F3 / F4)")
        else:
            hint = Text("give a file name ending in .md, .html or .json")
        self.query_one("#hint", Static).update(hint)

    def action_set_format(self, fmt: str) -> None:
        box = self.query_one("#path", Input)
        if box.value == self._proposed:  # untouched: propose a free name with the new extension
            self._proposed = self.propose(fmt)
            box.value = self._proposed
        elif box.value.endswith(("/", os.sep)):  # a folder: a free name in it
            box.value += self.propose(fmt, Path(box.value).expanduser())
        else:
            box.value = with_format(box.value, fmt) or self.propose(fmt)
        box.cursor_position = len(box.value)
        box.focus()

    def action_cycle_format(self) -> None:
        current = format_of(self.query_one("#path", Input).value)
        following = FORMATS[(FORMATS.index(current) + 1) % len(FORMATS)] if current else FORMATS[0]
        self.action_set_format(following)

    # -- writing ------------------------------------------------------------------------
    @on(Input.Submitted, "#path")
    def _submitted(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#export")
    def _export_pressed(self) -> None:
        self.action_export()

    def action_cancel(self) -> None:
        if not self.busy:  # the file is being written: its result is on its way
            super().action_cancel()

    def action_export(self, overwrite: bool = False) -> None:
        if self.busy:
            return
        value = self.query_one("#path", Input).value.strip()
        if not value:
            self._error("give a file name ending in .md, .html or .json")
            return
        self.busy = True
        self.query_one("#export", Button).disabled = True
        self._set_status(Text.assemble("writing ", literal(value), "…"))
        self.write(value, overwrite)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="exporting")
    def write(self, value: str, overwrite: bool) -> None:
        from core.errors import InputError

        target = Path(value).expanduser()
        try:
            path = self.export_to(target, overwrite)
        except InputError as e:
            if not overwrite and _is_existing_file(target):
                self.app.call_from_thread(self._ask_overwrite, value)
            else:
                self.app.call_from_thread(self._failed, str(e))
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
        except Exception as e:
            self.app.call_from_thread(self._failed, f"internal error: {type(e).__name__}: {e}")
        else:
            self.app.call_from_thread(self._written, Path(os.path.abspath(path)))

    def _ask_overwrite(self, value: str) -> None:
        from mlloop_tui.dialogs.confirm import ConfirmDialog

        def answer(yes: bool | None) -> None:
            self.busy = False
            self.query_one("#export", Button).disabled = False
            if yes:
                self.action_export(overwrite=True)
            else:
                self._error(f"{printable(value)} already exists and was kept; give another name")

        self._set_status(Text.assemble(literal(value), " already exists"))
        self.app.push_screen(ConfirmDialog(f"{printable(value)} already exists. Overwrite it?", "Overwrite"), answer)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.query_one("#export", Button).disabled = False
        self._error(message)

    def _written(self, path: Path) -> None:
        self.busy = False
        self.app.notify(f"exported {self.what} to {printable(str(path))}", title="exported", markup=False, timeout=5)
        self.dismiss(path)

    def _error(self, message: str) -> None:
        status = self.query_one("#status", Static)
        status.remove_class("-empty")
        status.add_class("-error")
        line = literal(" ".join(message.split()))
        line.no_wrap = False
        status.update(line)
        self.query_one("#path", Input).focus()

    def _set_status(self, text: Text) -> None:
        status = self.query_one("#status", Static)
        status.remove_class("-error", "-empty")
        status.update(text)
