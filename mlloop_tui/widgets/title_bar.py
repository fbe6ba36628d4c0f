"""A one-line title bar: the screen's name, a detail (counts, sort, filter) and the keys to the main screens.

Textual's Header takes three lines in some themes and shows a clock; at 80×24 every row counts.
Screens set :attr:`TitleBar.detail`; the bar redraws itself when it, the title or its width change.
The hint on the right names the keys as the user's keymap binds them (``r runs · d datasets · ? keys``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from mlloop_tui.widgets.literal import literal

if TYPE_CHECKING:
    from mlloop_tui.app import MlloopApp


def navigation_hint(app: MlloopApp) -> str:
    """The keys to the runs and datasets screens and to the list of keys, as bound now."""
    key = app.shown_key
    return f"{key('app.runs')} runs · {key('app.datasets')} datasets · {key('app.keys')} keys"


class TitleBar(Widget):
    DEFAULT_CSS = """
    TitleBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    title: reactive[str] = reactive("")
    detail: reactive[str] = reactive("")  # may hold names from data: drawn literally
    hint: reactive[str] = reactive("")

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.set_reactive(TitleBar.title, title)

    def on_mount(self) -> None:
        self.hint = navigation_hint(self.app)

    def render(self) -> Text:
        line = Text.assemble(("mlloop", "bold"), " · ", (self.title, "bold"))
        if self.detail:
            line.append("  ")
            line.append_text(literal(self.detail, style="dim"))
        hint = Text(self.hint, style="dim")
        room = self.size.width - 2 - line.cell_len - hint.cell_len
        if self.hint and room >= 2:  # the hint only where it fits beside the title and detail
            line.append(" " * room)
            line.append_text(hint)
        return line
