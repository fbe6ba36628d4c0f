"""Making untrusted text (column names, category values, file paths) safe to show.

Text from users' files must reach the screen exactly as typed, never as instructions:
control characters (escape sequences, carriage returns, bells) are written out as visible
``\\xNN`` escapes, so a terminal never interprets them and a name cannot hide what it is.
Markup safety is the renderer's job (the TUI renders ``rich.text.Text``, exports escape).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(value: object) -> str:
    """``str(value)`` with every C0/C1 control character replaced by a visible escape."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), str(value))
