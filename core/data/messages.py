"""How text from a user's file (a column name, a value, a line) is quoted inside a one-line error message.

An ``InputError`` must stay one readable line whatever the file holds: a 10,000-character header
cell or a value spanning lines would otherwise swamp it. Every data module quotes through here.
"""

from __future__ import annotations

from collections.abc import Sequence


def shorten(text: str, limit: int = 40) -> str:
    """``text`` with its whitespace collapsed to single spaces, cut to ``limit`` characters with '…'."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listed(items: Sequence[object], limit: int = 10) -> str:
    """The first ``limit`` items, comma-separated, and how many more there are (``a, b and 3 more``)."""
    return ", ".join(str(i) for i in items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
