"""The quality screen's fix key: a finding's fix becomes a new dataset version after a confirmation
that lists exactly what changes (real app, store and checks)."""

from __future__ import annotations

from core.data.frames import load_split
from core.data.versions import Edit, preview_version
from core.store.datasets import get_dataset, list_datasets
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.confirm import ConfirmDialog
from tests.tui.conftest import screen_text, wait_for
from tests.tui.test_quality import kinds_shown, open_quality, planted_store


async def test_f_applies_a_findings_fix_as_a_version_after_listing_the_change(tmp_path):
    store = planted_store(tmp_path)
    X_before, y_before = load_split(store, get_dataset(store, "planted"))
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_quality(pilot)
        duplicates = screen.findings[[f.kind for f in screen.findings].index("duplicates")]
        assert duplicates.edit == ("--drop-duplicates",)

        # duplicates: the dialog lists the very rows; No creates nothing
        screen.query_one("FindingsTable").move_cursor(row=kinds_shown(screen).index("duplicates"))
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        text = screen_text(app)
        assert "Make planted@2 from planted" in text
        plan = preview_version(store, "planted", Edit(drop_duplicates=True))
        rows = list(plan.dropped_rows)
        assert set(rows) <= {0, 1, 2, 150, 151, 152} and len(rows) >= 2  # unless both copies are test rows
        flat = " ".join(text.split())
        assert f"drop {len(rows)} rows: {', '.join(map(str, rows))}" in flat
        await pilot.press("n")
        await pilot.pause(0.3)
        assert [d.name for d in list_datasets(store)] == ["planted"]

        # the constant column: Yes makes planted@2 without it; the parent is untouched
        screen.query_one("FindingsTable").move_cursor(row=kinds_shown(screen).index("constant"))
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "drop column: const" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(list_datasets(store)) == 2, timeout=30)
        version = get_dataset(store, "planted@2")
        assert version.parent_id == get_dataset(store, "planted").id
        X, _ = load_split(store, version)
        assert "const" not in X.columns and list(X.index) == list(X_before.index)
        X_after, y_after = load_split(store, get_dataset(store, "planted"))
        assert X_after.equals(X_before) and y_after.equals(y_before)
