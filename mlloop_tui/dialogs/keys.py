"""Every key of the current screen and the app, with its binding id for remapping."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from mlloop_tui.keymap import keymap_location


class KeysDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="keys.close", tooltip="Close this list")]

    DEFAULT_CSS = """
    KeysDialog { align: center middle; }
    KeysDialog > Vertical { width: 90; max-width: 100%; height: 90%; border: thick $accent; background: $surface; padding: 0 1; }
    KeysDialog DataTable { height: 1fr; }
    KeysDialog Static { height: auto; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Keys", "bold"), f" — remap by id in {keymap_location()}  (Esc closes)"))
            yield DataTable(cursor_type="row", id="keys")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("key", "id", "action"):
            table.add_column(label, key=label)
        underneath = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        rows: dict[tuple[str, str], list[str]] = {}
        for key, active in underneath.active_bindings.items():
            b: Binding = active.binding
            if not b.id:  # Textual's own cursor and editing keys: standard, and many
                continue
            rows.setdefault((b.id, b.tooltip or b.description), []).append(self.app.get_key_display(b))
        for (binding_id, action), keys in sorted(rows.items(), key=lambda item: item[0][0]):
            table.add_row(Text(" ".join(dict.fromkeys(keys))), Text(binding_id, style="dim"), Text(action))
        table.focus()
