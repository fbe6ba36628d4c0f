"""Blocks as plain terminal text: what ``mlloop show``, ``compare`` and ``diagnose`` print, and the
aligned tables of every other command.

Headings are lines underlined by their level (``=``, ``-``, ``~``), paragraphs are lines, tables
are columns separated by two spaces (numbers right-aligned), next steps are numbered with their
``$ command`` on a line of its own, to be copied. Every piece of text goes through
:func:`core.text.printable`. Charts are left out: the table beside each has its numbers.

Given a ``width`` (a terminal's), paragraphs are wrapped and a wider table is fitted to it: its
text columns are wrapped onto more lines (and headers at their spaces), and when that is not
enough its columns are cut into groups printed one under the other, each repeating the first
column (a per-fold table with every metric). Words are never split, so a value, a hash or a
command stays whole. Without a width (output to a pipe or a file) every table row is one line.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from core.report.blocks import Block, Heading, Para, Steps, Table
from core.text import printable

__all__ = ["render_text", "table_lines"]

GAP = "  "  # between two columns
MIN_TEXT = 16  # a wrapped text column keeps at least this width (or its longest word)
UNDERLINE = {1: "=", 2: "-"}  # deeper headings: "~"


def render_text(blocks: Sequence[Block], width: int | None = None) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            text = printable(b.text)
            lines = [text, UNDERLINE.get(b.level, "~") * min(len(text), width or len(text))]
        elif isinstance(b, Para):
            lines = _wrap(printable(b.text), width)
        elif isinstance(b, Table):
            lines = table_lines(b.headers, b.rows, b.numeric, width)
        elif isinstance(b, Steps):
            lines = []
            for i, (text, command) in enumerate(b.items, 1):
                number = f"  {i}. "
                lines += _wrap(printable(text), width, number, " " * len(number))
                if command:
                    lines.append(f"{' ' * len(number)}$ {printable(command)}")
        else:
            continue  # a chart: the table next to it has the numbers
        if out:
            out.append("")
        out += lines
    return "".join(f"{line}\n" for line in out)


def table_lines(
    headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[bool] = (), width: int | None = None
) -> list[str]:
    """A table as aligned lines; fitted to ``width`` when given (see the module's docstring)."""
    n = len(headers)
    head = [printable(h) for h in headers]
    body = [[printable(c) for c in row][:n] + [""] * (n - len(row)) for row in rows]
    right = [i < len(numeric) and bool(numeric[i]) for i in range(n)]
    natural = [max([len(head[i])] + [len(r[i]) for r in body]) for i in range(n)]
    columns = list(range(n))
    if width is None or _span(natural) <= width:
        return _lines(head, body, right, columns, natural)
    floors = [_floor(head[i], [r[i] for r in body], right[i]) for i in columns]
    fitted = _fit(natural, floors, width)
    if fitted is not None:
        return _lines(head, body, right, columns, fitted)
    out: list[str] = []
    for group in _groups(floors, width):
        widths = _fit([natural[i] for i in group], [floors[i] for i in group], width)
        out += [""] if out else []
        out += _lines(head, body, right, group, widths or [floors[i] for i in group])
    return out


def _span(widths: Sequence[int]) -> int:
    return sum(widths) + len(GAP) * (len(widths) - 1)


def _floor(header: str, cells: list[str], numeric: bool) -> int:
    """The narrowest a column can be: numbers are never wrapped, words never split."""
    words = max((len(w) for text in [header, *cells] for w in text.split()), default=0)
    if numeric:
        return max([words] + [len(c) for c in cells])
    return min(max([len(header)] + [len(c) for c in cells]), max(MIN_TEXT, words))


def _fit(natural: list[int], floors: list[int], width: int) -> list[int] | None:
    """Widths that fit ``width``, taken from the columns with the most room above their floor; None if none do."""
    widths = list(natural)
    excess = _span(widths) - width
    while excess > 0:
        j = max(range(len(widths)), key=lambda k: widths[k] - floors[k])
        room = widths[j] - floors[j]
        if room <= 0:
            return None
        cut = min(room, excess)
        widths[j] -= cut
        excess -= cut
    return widths


def _groups(floors: list[int], width: int) -> list[list[int]]:
    """Columns cut into groups that fit ``width`` at their narrowest, each starting with the first column."""
    groups: list[list[int]] = []
    group = [0]
    for i in range(1, len(floors)):
        if len(group) > 1 and _span([floors[k] for k in group] + [floors[i]]) > width:
            groups.append(group)
            group = [0]
        group.append(i)
    return groups + [group]


def _lines(
    head: list[str], body: list[list[str]], right: list[bool], columns: list[int], widths: list[int]
) -> list[str]:
    out: list[str] = []
    for row in [head, *body]:
        cells = [_wrap(row[i], w) if len(row[i]) > w else [row[i]] for i, w in zip(columns, widths)]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "") for c in cells]
            out.append(
                GAP.join(p.rjust(w) if right[i] else p.ljust(w) for p, i, w in zip(parts, columns, widths)).rstrip()
            )
    return out


def _wrap(text: str, width: int | None, first: str = "", rest: str = "") -> list[str]:
    if width is None or len(first) + len(text) <= width:
        return [first + text]
    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
    ) or [first]
