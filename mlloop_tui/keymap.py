"""User key remapping: binding id -> keys, from a small TOML file.

Every binding has an id (``app.quit``, ``runs.filter`` ...; `?` lists them), so users can
remap keys without touching code. The file is ``$MLLOOP_KEYMAP`` or
``~/.config/mlloop/keymap.toml``::

    [keymap]
    "app.quit" = "ctrl+q"
    "runs.filter" = "f,slash"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

KEYMAP_ENV = "MLLOOP_KEYMAP"


def keymap_path() -> Path:
    return Path(os.environ.get(KEYMAP_ENV) or Path.home() / ".config" / "mlloop" / "keymap.toml")


def keymap_location() -> str:
    """Where the keymap is read from, as a user would write it."""
    return f"${KEYMAP_ENV}" if os.environ.get(KEYMAP_ENV) else "~/.config/mlloop/keymap.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The remapping, or ``{}`` when there is no file; a broken file is ignored, not fatal."""
    path = path or keymap_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("keymap", {})
    return {str(k): str(v) for k, v in table.items() if isinstance(v, str)} if isinstance(table, dict) else {}
