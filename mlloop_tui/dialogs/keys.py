"""Every key of the current screen and the app, with its binding id for remapping."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from mlloop_tui.dialogs.base import Dialog
from mlloop_tui.keymap import keymap_location


class KeysDialog(Dialog[None]):
    BINDINGS = [Binding("question_mark,q", "cancel", "Close", id="keys.close", tooltip="Close this list")]

    def heading(self) -> Text:
        close = self.key("dialog.cancel")
        return Text.assemble(("Keys", "bold"), f" — remap by id in {keymap_location()}  ({close} closes)")

    def compose_body(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="keys")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("key", "id", "action"):
            table.add_column(label, key=label)
        underneath = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        rows: dict[tuple[str, str], list[str]] = {}
        for active in underneath.active_bindings.values():
            b: Binding = active.binding
            if not b.id:  # Textual's own cursor and editing keys: standard, and many
                continue
            rows.setdefault((b.id, b.tooltip or b.description), []).append(self.app.get_key_display(b))
        for (binding_id, action), keys in sorted(rows.items(), key=lambda item: item[0][0]):
            table.add_row(Text(" ".join(dict.fromkeys(keys))), Text(binding_id, style="dim"), Text(action))
        table.focus()
