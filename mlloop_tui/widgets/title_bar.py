"""A one-line title bar: the screen's name and a detail line (counts, sort, filter).

Textual's Header takes three lines in some themes and shows a clock; at 80×24 every row counts.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mlloop_tui.widgets.literal import literal


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title_text = title
        self.detail = ""

    def on_mount(self) -> None:
        self._render_line()

    def set_detail(self, detail: str) -> None:
        self.detail = detail
        self._render_line()

    def _render_line(self) -> None:
        line = Text.assemble(("mlloop", "bold"), " · ", (self.title_text, "bold"))
        if self.detail:
            line.append("  ")
            line.append_text(literal(self.detail, style="dim"))
        hint = Text("r runs · d datasets · ? keys", style="dim")
        room = self.size.width - 2 - line.cell_len - hint.cell_len
        if room >= 2:
            line.append(" " * room)
            line.append_text(hint)
        self.update(line)

    def on_resize(self) -> None:
        self._render_line()
