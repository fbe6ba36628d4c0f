"""The one way the command line prints: lines, progress, JSON, tables and the summaries' blocks.

Every line passes :func:`core.text.printable` and JSON passes :func:`core.text.json_printable`,
so no name or value from a user's file reaches the terminal as a control sequence (a clipboard
write, a cleared screen) or as reordering characters. Nothing else in :mod:`mlloop_tui.cli` writes
to stdout or stderr (a test checks it). Standard library only at import: ``mlloop --help`` loads it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any


def out(*values: object, err: bool = False) -> None:
    """Print one line (the values joined by spaces), made printable."""
    from core.text import printable

    write(printable(" ".join(map(str, values))) + "\n", err)


def status(text: str) -> None:
    """Redraw the progress line on a terminal: our own carriage return and erase, the text made printable."""
    from core.text import printable

    write("\r\x1b[2K" + printable(text), err=True)


def write(text: str, err: bool = False) -> None:
    """Write text that is already printable (the callers above, and a prompt) and flush it."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text)
    stream.flush()


def print_json(value: Any) -> None:
    import json

    from core.text import json_printable

    write(json_printable(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)) + "\n")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Columns aligned on two spaces, one row a line (the text renderer's tables, at their natural width)."""
    from core.report.text import table_lines

    for line in table_lines(headers, [[fmt(c) for c in row] for row in rows]):
        out(line)


def print_blocks(blocks: Sequence[Any]) -> None:
    """A summary's blocks (:mod:`core.report.blocks`) as text: the same words and tables as the exports."""
    from core.report.text import render_text

    for line in render_text(blocks, text_width()).splitlines():
        out(line)


def text_width() -> int | None:
    """The terminal's width (or ``$COLUMNS``) to fit summaries to; None, no fitting, when output goes
    to a pipe or a file, so that every table row stays one line for ``grep``."""
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None


def fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def mean_std(mean: float, std: float) -> str:
    """A table cell: the metrics registry's mean ± std, compact."""
    from core.modeling.metrics import format_mean_std

    return format_mean_std(mean, std, compact=True)


class ProgressPrinter:
    """A one-line progress bar on a terminal (over every group of the command); one line per finished
    run otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.total = 0
        self.done: dict[int, int] = {}
        self.run_ids: list[int] = []

    def created(self, group_id: int, run_ids: list[int]) -> None:
        self.run_ids += run_ids
        out(f"group {group_id}: runs {', '.join(map(str, run_ids))}", err=True)

    def update(self, p) -> None:
        self.total = p.total * len(self.run_ids)
        self.done[p.run_id] = p.done
        if p.status != "running":
            if self.tty:
                status("")
            detail = f": {p.error}" if p.error else ""
            out(f"run {p.run_id} {p.model}: {p.status}{detail}", err=True)
        if self.tty:
            n = sum(self.done.values())
            width = 30
            filled = int(width * n / max(self.total, 1))
            status(f"[{'#' * filled}{'.' * (width - filled)}] {n}/{self.total} folds")

    def close(self) -> None:
        if self.tty:
            status("")


class PointPrinter:
    """``what: done/total points`` on a terminal while a curve is computed point by point."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def show(self, text: str) -> None:
        if self.tty:
            status(text)

    def close(self) -> None:
        if self.tty:
            status("")
