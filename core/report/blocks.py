"""The block model of every summary: a document is a list of plain-text blocks, built once and then
rendered as Markdown, HTML or terminal text.

Builders (:mod:`core.report.run_summary`, :mod:`core.report.dataset_summary`) say *what* a run,
a comparison or a dataset is, in words and tables; renderers (:mod:`core.report.markdown`,
:mod:`core.report.html`, :mod:`core.report.text`) say how it looks and escape every piece of
text themselves. So the terminal and the exports cannot describe the same run with different
labels, and no builder can forget to escape. Blocks hold raw text: names and values from users'
files, not yet made safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from core.report.svg_plot import Chart

__all__ = ["Block", "Heading", "Para", "Steps", "Table"]


@dataclass(frozen=True)
class Heading:
    level: int  # 1 is the document's title
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: Sequence[bool] = field(default=())  # right-align these columns

    def is_numeric(self, i: int) -> bool:
        return i < len(self.numeric) and self.numeric[i]


@dataclass(frozen=True)
class Steps:
    """Numbered things to do, each with the command that does it (or None): a table in a document,
    ``1. text`` / ``$ command`` lines in a terminal, where the command is there to be copied."""

    items: Sequence[tuple[str, str | None]]

    def as_table(self) -> Table:
        return Table(
            ["#", "next step", "command"],
            [[str(i), text, command or "-"] for i, (text, command) in enumerate(self.items, 1)],
            [True, False, False],
        )


# A Chart (core.report.svg_plot) is drawn in HTML only; its numbers are in a table beside it. It is named
# here only for type checkers, so that rendering text does not import the engine behind the charts.
Block = Union[Heading, Para, Table, Steps, "Chart"]
