"""Blocks as Markdown (CommonMark with GitHub tables), safe for any text from users' files.

Control characters go through :func:`core.text.printable` (visible ``\\xNN`` escapes); a table cell
that would start a spreadsheet formula (``=``, ``+``, ``-``) is escaped too. ASCII
punctuation that means something inline (``\\ ` * _ [ ] < > | ~ $ & ! # @``) is backslash-escaped,
so a cell holding ``|`` keeps the table's column count and ``<script>`` or ``[link](x)`` render as
the literal text; block markers never start a line with data (tables and prefixed paragraphs only).
Charts are left out: the table beside each has its numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.report.blocks import Block, Heading, Para, Steps, Table
from core.text import printable

__all__ = ["render_markdown"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$&!#@])")
_MD_BLOCK_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]inf")


def render_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Steps):
            b = b.as_table()
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md(b.text)}")
        elif isinstance(b, Para):
            out.append(_md_para(b.text))
        elif isinstance(b, Table):
            width = len(b.headers)
            out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            out.append("|" + "|".join(" ---: " if b.is_numeric(i) else " --- " for i in range(width)) + "|")
            for row in b.rows:
                cells = [_md_cell(c) for c in row] + [""] * (width - len(row))
                out.append("| " + " | ".join(cells[:width]) + " |")
        else:
            continue  # a chart: the table next to it has the numbers
        out.append("")
    return "\n".join(out)


def _md(text: object) -> str:
    """Inline-safe Markdown for any text: control characters made visible, markup characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text))


def _md_cell(text: object) -> str:
    """A table cell: a value that starts with ``=``, ``+`` or ``-`` and is not a number gets a backslash
    first, so a spreadsheet the table is pasted into never reads it as a formula (OWASP CSV injection);
    Markdown renders the backslash away."""
    out = _md(text)
    if len(out) > 1 and out[0] in "=+-" and not _NUMBER.fullmatch(out):  # a lone "-" is a missing value
        return "\\" + out
    return out


def _md_para(text: str) -> str:
    out = _md(text).lstrip()
    # a paragraph's first characters must not open a list, a heading underline or a quote
    return _MD_BLOCK_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], out, count=1)
