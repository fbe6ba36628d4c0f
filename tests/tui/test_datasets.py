"""The datasets screen and the import dialog with the real app, a real store and real imports."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.text import Text

from core.data.importing import import_dataset
from core.store import Store
from core.store.datasets import list_datasets
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.import_file import ImportDialog, complete_path
from mlloop_tui.dialogs.new_run import NewRunDialog
from mlloop_tui.screens.datasets import DatasetsScreen, DatasetsTable, ProfileTable
from tests.tui.conftest import screen_text, wait_for

EVIL = ("[bold]x", "[@click=app.quit]y", "\x1b[31mz\u202e")  # an escape and a right-to-left override
EVIL_SHOWN = ("[bold]x", "[@click=app.quit]y", "\\x1b[31mz\\u202e")  # control characters made visible


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fixed_csv(path: Path) -> Path:
    """A small deterministic dataset: numeric, categorical with a missing value, binary target."""
    rows = []
    for i in range(30):
        rows.append(
            [
                round(i * 0.37 % 5, 2),
                ["north", "south", "east"][i % 3] if i != 7 else "",
                i % 4,
                "yes" if (i * 7) % 10 < 5 else "no",
            ]
        )
    return write_rows(path, ["height", "region", "visits", "bought"], rows)


async def open_datasets(pilot) -> DatasetsScreen:
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DatasetsScreen) and pilot.app.screen.loaded)
    return pilot.app.screen


def cell_texts(table, column: str) -> list[str]:
    cells = [table.get_cell(key, column) for key in table.rows]
    assert all(isinstance(c, Text) for c in cells)  # never a string that could be parsed as markup
    return [c.plain for c in cells]


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


# --------------------------------------------------------------------------- empty store, samples


async def test_empty_store_offers_samples_and_L_loads_them(tmp_path):
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    started = []
    real_start = app.launcher.start
    app.launcher.start = lambda request: started.append(real_start(request)) or started[-1]
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_datasets(pilot)
            assert screen.has_class("-empty")
            await wait_for(pilot, lambda: "No datasets yet" in screen_text(app))
            shown = screen_text(app)
            assert "Press L to load" in shown and "penguins" in shown
            await wait_for(pilot, lambda: "L Samples" in screen_text(app))  # the footer offers the key too
            await pilot.press("L")
            table = screen.query_one(DatasetsTable)
            await wait_for(pilot, lambda: table.row_count == 4, timeout=60)
            assert cell_texts(table, "name") == ["penguins", "anes96", "diabetes", "wide"]
            assert not screen.has_class("-empty")
            await wait_for(pilot, lambda: screen.profile is not None and screen.profile.name == "penguins")
            assert "species" in cell_texts(screen.query_one(ProfileTable), "column")
            await wait_for(pilot, lambda: len(started) == 1, timeout=30)  # one child: one pool for all four
            await wait_for(pilot, lambda: "L Samples" not in screen_text(app))  # only offered when empty
    finally:
        app.launcher.cancel()
        for run in started:
            run.process.wait(timeout=60)
    (child,) = started
    assert {child.request.dataset, *child.request.also} == {"penguins", "anes96", "diabetes", "wide"}


# --------------------------------------------------------------------------- importing


async def test_import_from_the_dialog_shows_the_dataset_and_its_profile(tmp_path, binary_csv, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative path: typing is slow in Pilot
    store = Store(tmp_path / "s.duckdb")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_datasets(pilot)
        await pilot.press("i")
        assert isinstance(app.screen, ImportDialog)
        path = app.screen.query_one("#path")
        await type_text(pilot, "bin")
        await wait_for(pilot, lambda: path._suggestion == "binary.csv")
        await pilot.press("tab")  # accepts the completion
        assert path.value == "binary.csv"
        await pilot.press("tab")  # nothing left to complete: moves on to the target
        assert app.screen.focused.id == "target"
        await wait_for(pilot, lambda: "label" in str(app.screen.query_one("#columns").render()))
        await type_text(pilot, "lab")
        await pilot.press("tab")  # accepts the header suggestion
        assert app.screen.query_one("#target").value == "label"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, timeout=30)
        table = screen.query_one(DatasetsTable)
        await wait_for(pilot, lambda: table.row_count == 1 and screen.profile is not None)
        assert cell_texts(table, "name") == ["binary"]
        assert cell_texts(table, "target") == ["label"]
        assert cell_texts(table, "rows") == ["240"]
        profile = screen.query_one(ProfileTable)
        assert cell_texts(profile, "column") == ["x1", "x 2", "color", "label"]
        assert cell_texts(profile, "missing") == ["15", "0", "10", "0"]
        assert cell_texts(profile, "kind")[2] == "categorical"
        # enter moves to the profile; escape comes back
        await pilot.press("enter")
        assert app.screen.focused is profile
        await pilot.press("down", "down")
        assert "color" in str(screen.query_one("#column").render())
        await pilot.press("escape")
        assert app.screen.focused is table
        # n starts a run on the selected dataset
        await pilot.press("n")
        assert isinstance(app.screen, NewRunDialog)
        assert app.screen.query_one("#dataset").value == "binary"
        await pilot.press("escape")
        assert app.screen is screen
    (info,) = list_datasets(store)
    assert info.name == "binary" and info.target == "label"


async def test_a_bad_import_shows_one_line_in_the_dialog_and_stores_nothing(tmp_path, binary_csv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = Store(tmp_path / "s.duckdb")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_datasets(pilot)
        await pilot.press("i")
        dialog = app.screen
        dialog.query_one("#path").value = str(binary_csv)
        await pilot.press("enter")  # no target yet: caught in the dialog
        status = dialog.query_one("#status")
        assert "target" in str(status.render())
        assert dialog.focused.id == "target"
        await type_text(pilot, "nosuch")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "no column" in str(status.render()), timeout=30)
        message = str(status.render())
        assert "\n" not in message.strip() and "'nosuch'" in message and "'label'" in message
        assert app.screen is dialog and status.has_class("-error")
        # a missing file: the engine's message, literally
        dialog.query_one("#path").value = "[@click=app.quit]missing.csv"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "file not found" in str(status.render()), timeout=30)
        assert "[@click=app.quit]missing.csv" in screen_text(app)
        assert app.screen is dialog and app.is_running
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetsScreen)
    assert list_datasets(store) == []


# --------------------------------------------------------------------------- untrusted text


async def test_markup_and_escapes_in_names_and_values_are_shown_literally(tmp_path):
    rows = [[EVIL[i % 3], EVIL[(i + 1) % 3], i * 0.5, "a" if i % 2 else "b"] for i in range(30)]
    path = write_rows(tmp_path / "evil.csv", [EVIL[0], EVIL[1], EVIL[2], "label"], rows)
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, path, EVIL[1], name="[b]evil[/b]")
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_datasets(pilot)
        await wait_for(pilot, lambda: screen.profile is not None)
        table = screen.query_one(DatasetsTable)
        profile = screen.query_one(ProfileTable)
        assert cell_texts(table, "name") == ["[b]evil[/b]"]
        assert cell_texts(table, "target") == [EVIL[1]]
        assert cell_texts(profile, "column") == [*EVIL_SHOWN, "label"]
        tops = cell_texts(profile, "top")
        assert any(shown in tops[0] for shown in EVIL_SHOWN)
        # navigate and click over every cell: nothing is an action, nothing reaches the terminal raw
        await pilot.click(DatasetsTable, offset=(3, 1))
        await pilot.press("enter")
        for _ in range(4):
            await pilot.press("down")
            await pilot.click(ProfileTable, offset=(3, 1 + _))
        await pilot.click("#summary", offset=(20, 0))
        await pilot.click("#column", offset=(3, 0))
        await pilot.pause()
        assert app.is_running
        shown = screen_text(app)
        assert (
            "[b]evil[/b]" in shown
            and EVIL[1] in shown
            and "\\x1b[31mz\\u202e" in shown
            and "\x1b" not in shown
            and "\u202e" not in shown
        )
        svg = app.export_screenshot()
        assert "\x1b" not in svg


async def test_a_version_shows_its_lineage_and_its_own_profile(tmp_path):
    from core.data.versions import Edit, create_version

    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, fixed_csv(tmp_path / "fixed.csv"), "bought", name="shop")
    create_version(store, "shop", Edit(drop_columns=("visits",), note="[red]no visits"))
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_datasets(pilot)
        table = screen.query_one(DatasetsTable)
        assert cell_texts(table, "name") == ["shop", "shop@2"]
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.profile is not None and screen.profile.name == "shop@2")
        assert cell_texts(screen.query_one(ProfileTable), "column") == ["height", "region", "bought"]
        assert "version: shop@2 (from shop): dropped columns visits; note: [red]no visits" in screen_text(app)


# --------------------------------------------------------------------------- path completion


def make_tree(root: Path) -> Path:
    data = root / "data"
    data.mkdir()
    for name in ("train.csv", "test.parquet", "notes.md", ".hidden.csv"):
        (data / name).write_text("a,b\n1,2\n")
    (data / "tables").mkdir()
    return data


async def test_g_sets_checks_and_clears_the_datasets_target_score(runs_store):
    from core.analysis.targets import get_target
    from mlloop_tui.dialogs.target import TargetDialog

    app = MlloopApp(runs_store, poll_interval=3600)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_datasets(pilot)
        await wait_for(pilot, lambda: pilot.app.screen.profile is not None)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, TargetDialog))
        dialog = app.screen
        await wait_for(pilot, lambda: "no target" in str(dialog.query_one("#current").render()))
        await type_text(pilot, "1.5")  # an accuracy above 1: refused in one line, nothing stored
        await pilot.press("enter")
        await wait_for(pilot, lambda: "at most 1" in str(dialog.query_one("#status").render()))
        assert app.screen is dialog and get_target(runs_store, "binary") is None
        dialog.query_one("#score").value = ""
        await type_text(pilot, "0.9")
        await pilot.press("tab", "tab")
        await type_text(pilot, "[bold]a panel of 3 people")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, TargetDialog))
        target = get_target(runs_store, "binary")
        assert (target.metric, target.score, target.note) == ("accuracy", 0.9, "[bold]a panel of 3 people")
        # opened again it shows the target literally; an empty score clears it
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, TargetDialog))
        dialog = app.screen
        await wait_for(pilot, lambda: "[bold]a panel" in str(dialog.query_one("#current").render()))
        assert dialog.query_one("#score").value == "0.9"
        dialog.query_one("#score").value = ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, TargetDialog))
        assert get_target(runs_store, "binary") is None


def test_complete_path_completes_directories_and_files(tmp_path, monkeypatch):
    make_tree(tmp_path)
    base = str(tmp_path)
    assert complete_path(f"{base}/da") == f"{base}/data/"
    assert complete_path(f"{base}/data/tr") == f"{base}/data/train.csv"
    assert complete_path(f"{base}/data/ta") == f"{base}/data/tables/"
    # several matches: the common prefix first, then the first directory or data file
    assert complete_path(f"{base}/data/t") == f"{base}/data/tables/"
    assert complete_path(f"{base}/data/te") == f"{base}/data/test.parquet"
    assert complete_path(f"{base}/data/.h") == f"{base}/data/.hidden.csv"
    assert complete_path(f"{base}/data/zz") is None
    assert complete_path(f"{base}/nowhere/x") is None
    monkeypatch.setenv("HOME", base)
    assert complete_path("~/da") == "~/data/"
    monkeypatch.chdir(tmp_path / "data")
    assert complete_path("no") == "notes.md"


async def test_the_path_input_completes_with_tab(tmp_path):
    make_tree(tmp_path)
    app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_datasets(pilot)
        await pilot.press("i")
        path = app.screen.query_one("#path")
        path.value = f"{tmp_path}/"
        path.cursor_position = len(path.value)
        await type_text(pilot, "da")
        await wait_for(pilot, lambda: path._suggestion == f"{tmp_path}/data/")
        await pilot.press("tab")
        assert path.value == f"{tmp_path}/data/"
        await type_text(pilot, "tr")
        await wait_for(pilot, lambda: path._suggestion == f"{tmp_path}/data/train.csv")
        await pilot.press("right")  # Right accepts too
        assert path.value == f"{tmp_path}/data/train.csv"
        assert app.screen.focused is path
        await wait_for(pilot, lambda: "a, b" in str(app.screen.query_one("#columns").render()))


# --------------------------------------------------------------------------- snapshots


class TestSnapshots:
    def test_datasets_screen(self, snap_compare, tmp_path):
        store = Store(tmp_path / "s.duckdb")
        import_dataset(store, fixed_csv(tmp_path / "shop.csv"), "bought")
        app = MlloopApp(store, poll_interval=0.2)

        async def run_before(pilot) -> None:
            screen = await open_datasets(pilot)
            await wait_for(pilot, lambda: screen.profile is not None)
            await pilot.press("enter", "down")

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

    def test_empty_datasets_screen(self, snap_compare, tmp_path):
        app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)

        async def run_before(pilot) -> None:
            await open_datasets(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

    def test_import_dialog(self, snap_compare, tmp_path, monkeypatch):
        fixed_csv(tmp_path / "shop.csv")
        monkeypatch.chdir(tmp_path)  # a relative path: the same on every machine
        app = MlloopApp(Store(tmp_path / "s.duckdb"), poll_interval=0.2)

        async def run_before(pilot) -> None:
            await open_datasets(pilot)
            await pilot.press("i")
            for widget in app.screen.query("Input"):
                widget.cursor_blink = False
            await type_text(pilot, "sh")
            await pilot.pause(0.3)
            await pilot.press("tab", "tab")
            await wait_for(pilot, lambda: "bought" in str(app.screen.query_one("#columns").render()))
            await type_text(pilot, "nope")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "no column" in str(app.screen.query_one("#status").render()))

        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
