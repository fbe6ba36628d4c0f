"""Untrusted text as a renderable that is shown exactly as typed.

Textual's Static, Label, DataTable and Button parse plain strings as markup, so a column named
``[@click=app.quit]`` would become an action. Everything that comes from a user's data goes
through :func:`literal`, which returns a ``rich.text.Text`` (never parsed) with control
characters made visible.
"""

from __future__ import annotations

from rich.text import Text

from core.text import printable


def literal(value: object, style: str = "", max_width: int | None = None) -> Text:
    text = printable("" if value is None else value)
    if max_width is not None and len(text) > max_width:
        text = text[: max(max_width - 1, 0)] + "…"
    return Text(text, style=style, no_wrap=True, end="")
