"""Making untrusted text (column names, category values, file paths) safe to show.

Text from users' files must reach the screen exactly as typed, never as instructions:
control characters (escape sequences, carriage returns, bells) are written out as visible
``\\xNN`` escapes, so a terminal never interprets them and a name cannot hide what it is.
Bidirectional overrides and zero-width characters (U+200B–U+200F, U+202A–U+202E,
U+2066–U+2069) are written as ``\\uNNNN``: they would reorder or hide what is shown
("Trojan Source"). Markup safety is the renderer's job (the TUI renders ``rich.text.Text``,
exports escape).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# what JSON leaves raw with ensure_ascii=False (it already escapes C0 controls); U+2028/U+2029 end lines
# in JavaScript and in some terminals
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """``str(value)`` with every control and bidirectional/zero-width format character made a visible escape."""
    return _CONTROL.sub(_escape, str(value))


def json_printable(text: str) -> str:
    """JSON text with the characters a terminal would act on written as ``\\uNNNN``: the same data."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def first_line(value: object) -> str:
    """The first line of a message's or an exception's text (drivers append context dumps and
    tracebacks); an exception with no text gives its type's name."""
    text = str(value).strip()
    if text:
        return text.splitlines()[0]
    return type(value).__name__ if isinstance(value, BaseException) else ""


def error_line(exc: BaseException, limit: int = 500) -> str:
    """``ValueError: the first line``: an error for a one-line field (a failed fold, a run's error)."""
    return f"{type(exc).__name__}: {first_line(exc)}"[:limit]
