"""User key remapping: binding id -> keys, from a small TOML file.

Every binding has an id (``app.quit``, ``runs.filter`` ...; `?` lists them), so users can
remap keys without touching code. The file is ``$MLLOOP_KEYMAP`` or
``~/.config/mlloop/keymap.toml``::

    [keymap]
    "app.quit" = "ctrl+q"
    "runs.filter" = "f,slash"

Hints written in the app ("Press L to load…", the title bar's ``r runs``) name keys through
:func:`bound_key` and :func:`key_name`, so a remapped key is shown remapped.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from textual.binding import Binding

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


KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "space"}


def key_name(key: str) -> str:
    """A key as hints write it: ``L``, ``?``, ``Esc``, ``Ctrl+S``, ``F2``."""
    *modifiers, base = key.strip().split("+")
    base = KEY_NAMES.get(base, base.upper() if len(base) > 1 or modifiers else base)  # F2, Ctrl+S; but L and l differ
    return "+".join([*(m.capitalize() for m in modifiers), base])


def declared_bindings(owner: type) -> list[Binding]:
    """The bindings ``owner`` (a screen, dialog, widget or app class) and its bases declare."""
    return [b for cls in owner.__mro__ for b in vars(cls).get("BINDINGS", ()) if isinstance(b, Binding)]


def bound_key(binding_id: str, bindings: Iterable[Binding], keymap: Mapping[str, str]) -> str:
    """The (first) key of the binding ``binding_id`` among ``bindings``, after the user's remapping."""
    keys = keymap.get(binding_id) or next((b.key for b in bindings if b.id == binding_id), None)
    if keys is None:
        raise KeyError(f"no binding {binding_id!r}")
    return keys.split(",")[0].strip()
