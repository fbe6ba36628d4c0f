"""The import dialog shows the import's progress, and imports a glob of files (issue 11 part 1)."""

from __future__ import annotations

from pathlib import Path

import core.data.progress as progress_mod
from core.store import Store
from core.store.datasets import list_datasets
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.import_file import ImportDialog
from tests.core.test_import_memory import write_long_csv
from tests.tui.conftest import wait_for
from tests.tui.test_datasets import open_datasets


async def test_the_dialog_shows_progress_while_a_glob_of_files_imports(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(progress_mod, "INTERVAL_S", 0.005)  # sample often: the files are small
    folder = tmp_path / "logs"
    folder.mkdir()
    for i in range(2):
        write_long_csv(folder / f"part-{i}.csv", 40_000)
    store = Store(tmp_path / "s.duckdb")
    app = MlloopApp(store, poll_interval=0.2)
    shown: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_datasets(pilot)
        await pilot.press("i")
        dialog = app.screen
        assert isinstance(dialog, ImportDialog)
        dialog.query_one("#path").value = str(folder / "*.csv")
        await wait_for(pilot, lambda: "label" in str(dialog.query_one("#columns").render()))  # the first file's header
        dialog.query_one("#target").value = "label"
        status = dialog.query_one("#status")
        await pilot.press("enter")

        def progressed() -> bool:
            text = str(status.render())
            if text.startswith("import:") and text not in shown:
                shown.append(text)
            return app.screen is screen

        await wait_for(pilot, progressed, timeout=60, step=0.001)
    assert shown, "the status line never showed the import's progress"
    assert all(
        line.startswith(
            ("import: scanning", "import: reading", "import: profiling", "import: splitting", "import: storing")
        )
        for line in shown
    ), shown
    (info,) = list_datasets(store)
    assert info.name == "logs" and info.n_rows == 80_000
