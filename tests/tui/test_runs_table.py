"""The runs table on its own: reused rows, sorting and filtering that keep marks and the cursor,
virtual rows (only those on screen are read), fitted widths, and guards on the pieces of Textual's
private API it overrides."""

from __future__ import annotations

import inspect
from dataclasses import replace

from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets import _data_table as data_table_module

from core.report.formatting import seconds
from core.store.run_listing import RunListing
from core.types import MetricSummary, RunRecord
from mlloop_tui.run_filter import parse_filter
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.runs_table import PAGE_ROWS, RunsTable, mean_std, status_text

MODELS = ("dummy", "glm", "linear", "tree", "forest", "boosting")


def run(rid: int, **changes) -> RunRecord:
    acc = 0.5 + (rid * 37 % 50) / 100
    record = RunRecord(
        id=rid,
        group_id=(rid - 1) // 6 + 1,
        dataset_id=1,
        dataset="penguins",
        task="binary",
        model=MODELS[rid % 6],
        params={},
        folds=5,
        repeats=1,
        seed=0,
        status="done",
        created_at=1.7e9,
        started_at=1.7e9,
        finished_at=1.7e9 + 3,
        duration_s=rid % 13 + 0.25,
        cost_s=rid % 7 + 0.125,
        group_wall_s=rid % 13 + 0.25,
        pid=None,
        host=None,
        versions={},
        dataset_hash="h",
        folds_hash="f",
        error=None,
        n_folds_done=5,
        summaries={
            "accuracy": MetricSummary("accuracy", 0.9, 0.01, acc, 0.02, 5),
            "roc_auc": MetricSummary("roc_auc", 0.9, 0.01, acc + 0.01, float("nan"), 1),
        },
    )
    return replace(record, **changes)


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield RunsTable()


def table_rows(table: RunsTable) -> list[int]:
    """Run ids in the order the table shows them (each row's id cell)."""
    return [int(str(table.get_row_at(i)[1])) for i in range(table.row_count)]


def show(table: RunsTable, records: list[RunRecord]) -> None:
    table.set_listing(RunListing.from_records(records))


async def filled(pilot, table: RunsTable) -> None:
    await pilot.pause()


def count_rebuilds(table: RunsTable, monkeypatch) -> list[None]:
    """Each time the table is cleared (a rebuild), an entry."""
    calls: list[None] = []
    clear = table.clear

    def counting_clear(*args, **kwargs):
        calls.append(None)
        return clear(*args, **kwargs)

    monkeypatch.setattr(table, "clear", counting_clear)
    return calls


def column_index(table: RunsTable, key: str) -> int:
    return next(i for i, c in enumerate(table.columns_spec) if c.key == key)


# --------------------------------------------------------------------------- cells and widths


async def test_cells_are_the_same_texts_as_formatting_each_run_directly():
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        records = [
            run(1),
            run(
                2,
                status="running",
                n_folds_done=2,
                duration_s=None,
                group_wall_s=None,
                dataset="[@click=app.quit]a very long dataset name",
                summaries={},
            ),
        ]
        show(table, records)
        await filled(pilot, table)
        for r in records:
            expected = [
                Text("✓" if r.id in table.marked else " ", style="bold green"),
                Text(str(r.id), justify="right"),
                Text(f"g{r.group_id}", style=("cyan", "blue")[r.group_id % 2]),
                literal(r.dataset, max_width=16),
                Text(r.model),
                status_text(r),
                *(Text(mean_std(r, m), justify="right") for m in ("accuracy", "roc_auc")),
                Text(seconds(r.cost_s), justify="right"),
                Text(seconds(r.group_wall_s), justify="right"),
            ]
            shown = table.get_row(str(r.id))
            assert all(isinstance(cell, Text) for cell in shown)
            assert [(c.plain, c.style, c.justify, c.no_wrap, c.end, c.spans) for c in shown] == [
                (c.plain, c.style, c.justify, c.no_wrap, c.end, c.spans) for c in expected
            ]


async def test_columns_fit_the_widest_text_as_datatable_would_measure_it():
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        show(
            table,
            [run(i) for i in range(1, 30)]
            + [run(1234, dataset="日本語のデータ", cost_s=1234.5, group_wall_s=98765.25)],
        )
        await filled(pilot, table)
        plain = DataTable()
        await app.mount(plain)
        for column in table.ordered_columns:
            plain.add_column(column.label, key=column.key.value)
        for i in range(table.row_count):
            plain.add_row(*table.get_row_at(i))
        await pilot.pause()
        assert [c.width for c in table.ordered_columns] == [c.content_width for c in plain.ordered_columns]
        assert table.get_row("1234")[3].plain == "日本語のデータ"
        # the virtual size DataTable computes from those widths: every row, one line each, plus the header
        assert table.virtual_size.width == sum(c.get_render_width(table) for c in table.ordered_columns)
        assert table.virtual_size.height == table.row_count + 1


async def test_a_wider_text_widens_its_column_and_narrows_it_again():
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        records = [run(i) for i in range(1, 10)]
        show(table, records)
        await filled(pilot, table)
        status = table.columns["status"]
        assert status.width == len("status")
        show(table, [replace(records[0], status="running", n_folds_done=12, folds=20, repeats=5), *records[1:]])
        await filled(pilot, table)
        assert str(table.get_cell("1", "status")) == "█░░░░░ 12/100"  # 12% of six cells
        assert table.columns["status"].width == len("█░░░░░ 12/100")
        show(table, records)
        await filled(pilot, table)
        assert table.columns["status"].width == len("status")


# --------------------------------------------------------------------------- reuse and live updates


async def test_a_poll_reuses_unchanged_rows_and_updates_a_changed_status(monkeypatch):
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        records = [run(i, status="running", n_folds_done=1, cost_s=0.25, group_wall_s=None) for i in range(1, 6)]
        show(table, records)
        await filled(pilot, table)
        rebuilds = count_rebuilds(table, monkeypatch)
        before = {r.id: table.get_row(str(r.id)) for r in records}
        table.move_cursor(row=2)
        selected = table.selected_id()
        # the next poll: new record objects, one run has finished
        polled = [replace(r) for r in records]
        summaries = {"accuracy": MetricSummary("accuracy", 1.0, 0.0, 0.875, 0.125, 5)}
        polled[3] = replace(
            records[3], status="done", n_folds_done=5, cost_s=1.5, group_wall_s=12.25, summaries=summaries
        )
        show(table, polled)
        await pilot.pause()
        done = str(records[3].id)
        assert str(table.get_cell(done, "status")) == "done"
        assert table.get_cell(done, "status").style == "green"
        assert str(table.get_cell(done, "m:accuracy")) == "0.875±0.125"
        assert (str(table.get_cell(done, "time")), str(table.get_cell(done, "wall"))) == ("1.50s", "12.2s")
        for r in records:
            if r.id != records[3].id:  # untouched rows keep their very cells
                assert all(a is b for a, b in zip(table.get_row(str(r.id)), before[r.id]))
        assert table.selected_id() == selected
        assert not rebuilds  # updated in place


async def test_a_new_run_joins_in_place_and_the_cursor_stays_on_its_run(monkeypatch):
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        records = [run(i) for i in range(1, 20)]
        show(table, records)
        await filled(pilot, table)
        table.move_cursor(row=4)
        selected = table.selected_id()
        rebuilds = count_rebuilds(table, monkeypatch)
        show(table, [run(20), *records])
        await pilot.pause()
        assert table.shown_ids[0] == 20 and table_rows(table) == table.shown_ids
        assert table.selected_id() == selected and not rebuilds


# --------------------------------------------------------------------------- sorting


async def test_sorting_in_place_keeps_marks_and_the_cursor_on_the_same_run(monkeypatch):
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        records = [run(i) for i in range(1, 40)]
        show(table, records)
        await filled(pilot, table)
        table.move_cursor(row=3)
        await pilot.press("space", "space")  # marks the 4th and 5th runs; the cursor ends on the 6th
        marked, selected = set(table.marked), table.selected_id()
        assert len(marked) == 2
        rebuilds = count_rebuilds(table, monkeypatch)
        table.sort_by(column_index(table, "m:accuracy"), descending=True)
        await pilot.pause()
        by_accuracy = sorted(records, key=lambda r: r.summaries["accuracy"].val_mean, reverse=True)
        assert table.shown_ids == [r.id for r in by_accuracy] == table_rows(table)
        assert table.selected_id() == selected
        assert table.marked == marked
        assert {rid for rid in table.shown_ids if str(table.get_cell(str(rid), "mark")) == "✓"} == marked
        await pilot.press("S")  # ascending (equal accuracies keep their order, as in any stable sort)
        ascending = sorted(records, key=lambda r: r.summaries["accuracy"].val_mean)
        assert table_rows(table) == table.shown_ids == [r.id for r in ascending]
        assert table.selected_id() == selected
        table.sort_by(column_index(table, "mark"), descending=True)
        await pilot.pause()
        assert set(table.shown_ids[:2]) == marked and table_rows(table) == table.shown_ids
        assert not rebuilds  # every sort reordered the rows in place


def cursor_lines(table: RunsTable) -> list[int]:
    """The rows (indices) painted with the cursor's background, among those on screen."""
    cursor = table.get_component_rich_style("datatable--cursor").bgcolor
    rows = []
    for y in range(1, table.size.height):  # line 0 is the header
        if any(segment.style and segment.style.bgcolor == cursor for segment in table.render_line(y)):
            rows.append(int(table.scroll_y) + y - 1)
    return rows


async def test_after_reordering_the_cursor_is_painted_on_its_run_only():
    """Reordering keeps each run's rendered cells (only what is cached by position goes), so this
    checks no row keeps a cursor it had at its old position."""
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        show(table, [run(i) for i in range(1, 40)])
        await pilot.pause()
        table.move_cursor(row=3)
        await pilot.pause()
        assert cursor_lines(table) == [3]
        for sort, descending in (("m:accuracy", True), ("id", True), ("m:accuracy", False), ("id", True)):
            table.sort_by(column_index(table, sort), descending=descending)
            await pilot.pause()
            assert table.selected_id() == 36 and cursor_lines(table) == [table.cursor_row]
        table.set_filter(parse_filter("model:tree", set(table.metric_names)))  # run 36 is a dummy
        await pilot.pause()
        assert cursor_lines(table) == [0] and str(table.get_cell_at(Coordinate(0, 4))) == "tree"
        table.set_filter(None)
        await pilot.pause()
        assert cursor_lines(table) == [table.cursor_row]
        table.move_cursor(row=0)  # run 39, a tree; run 36 is painted below it
        await pilot.pause()
        table.set_filter(parse_filter("model:dummy", set(table.metric_names)))  # 36 comes to row 0
        await pilot.pause()
        assert table.selected_id() == 36 and cursor_lines(table) == [0]


# --------------------------------------------------------------------------- virtual rows


def counting_reads(listing: RunListing, monkeypatch) -> list[int]:
    """The ids the table reads back from the listing, in order."""
    read: list[int] = []
    records = listing.records

    def counting(ids):
        read.extend(ids)
        return records(ids)

    monkeypatch.setattr(listing, "records", counting)
    return read


async def test_a_big_list_reads_and_formats_only_the_rows_it_paints(monkeypatch):
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RunsTable)
        listing = RunListing.from_records([run(i) for i in range(1, 3001)])
        read = counting_reads(listing, monkeypatch)
        table.set_listing(listing)
        await pilot.pause()
        assert table.row_count == 3000 and table.shown_ids == list(range(3000, 0, -1))
        assert table.virtual_size.height == 3001  # every run scrolls, with the header
        assert table.selected_id() == 3000
        assert 0 < len(read) <= PAGE_ROWS and read[0] == 3000  # the first page, not 3,000 runs
        await pilot.press("pagedown")  # DataTable's paging walks the rows below the cursor
        assert table.selected_id() == 3000 - table.cursor_row and table.cursor_row > 1
        await pilot.press("ctrl+end")  # the last run: its page is read when it is painted
        await pilot.pause()
        assert table.selected_id() == 1 and table.scroll_y == table.max_scroll_y > 0
        assert 1 in read and len(read) <= 2 * PAGE_ROWS
        assert str(table.get_cell("1", "id")) == "1"


async def test_sort_filter_and_marks_on_runs_never_painted(monkeypatch):
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RunsTable)
        records = [run(i) for i in range(1, 1001)]
        show(table, records)
        await pilot.pause()
        table.action_toggle_mark()  # marks run 1000; the cursor moves to run 999
        table.marked.add(3)  # a run far below the screen (as clear_marks/compare see marks: by id)
        table.sort_by(column_index(table, "m:accuracy"), descending=False)
        ascending = sorted(records, key=lambda r: (r.summaries["accuracy"].val_mean, -r.id))  # ties: newest first
        assert table.shown_ids == [r.id for r in ascending] and table.selected_id() == 999
        table.set_filter(parse_filter("model:tree", set(table.metric_names)))
        await pilot.pause()
        trees = [r.id for r in ascending if r.model == "tree"]
        assert table.shown_ids == trees and table.selected_id() == 999  # 999 % 6 == 3: a tree
        table.set_filter(None)
        await pilot.pause()
        assert len(table.shown_ids) == 1000 and table.selected_id() == 999  # followed through the filter and back
        assert str(table.get_cell("3", "mark")) == "✓" and str(table.get_cell("1000", "mark")) == "✓"
        assert table_rows(table)[:5] == table.shown_ids[:5]
        table.sort_by(column_index(table, "mark"), descending=True)
        assert set(table.shown_ids[:2]) == {3, 1000}


async def test_the_cursor_run_far_down_stays_selected_through_filters_and_sorts():
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RunsTable)
        show(table, [run(i) for i in range(1, 201)])
        await filled(pilot, table)
        table.move_cursor(row=90)
        selected = table.selected_id()
        table.set_filter(parse_filter("accuracy>0.5", set(table.metric_names)))  # drops runs 50, 100, 150, 200
        assert len(table.shown_ids) == 196
        assert table.selected_id() == selected
        table.sort_by(column_index(table, "id"), descending=False)
        assert table.selected_id() == selected
        await filled(pilot, table)
        assert table_rows(table) == table.shown_ids and table.selected_id() == selected
        # the cursor's row is on screen: DataTable scrolled to it
        assert table.scroll_y <= table.cursor_row < table.scroll_y + table.size.height


# --------------------------------------------------------------------------- the private API guard


def test_datatable_still_measures_new_rows_in_update_dimensions():
    """RunsTable._update_dimensions overrides a private DataTable method (textual 8.2) to skip
    measuring cells. If Textual renames it or changes what it does, this fails: revisit
    the override (and the widths RunsTable computes) before upgrading."""
    source = inspect.getsource(DataTable._update_dimensions)
    assert list(inspect.signature(DataTable._update_dimensions).parameters) == ["self", "new_rows"]
    assert "for row_key in new_rows" in source and "measure(console, renderable, 1)" in source
    assert "self.virtual_size = Size(" in source and "self._total_row_height" in source
    assert "self._update_dimensions(new_rows)" in inspect.getsource(DataTable._on_idle)


def test_datatable_still_keeps_its_rows_where_runstable_replaces_them():
    """RunsTable replaces DataTable's per-row bookkeeping with views over its list of ids
    (textual 8.2 private API). These are the places DataTable reads it through: if one moves,
    this fails, and the views must follow before upgrading."""
    init = inspect.getsource(DataTable.__init__)
    for attribute in ("self._data: dict[RowKey", "self.rows: dict[RowKey, Row]", "self._row_locations: TwoWayDict"):
        assert attribute in init
    assert "self._row_locations = TwoWayDict({})" in inspect.getsource(DataTable.clear)
    assert isinstance(DataTable.ordered_rows, property) and isinstance(DataTable._y_offsets, property)
    assert "return len(self._y_offsets)" in inspect.getsource(DataTable._total_row_height.fget)
    assert "return len(self.rows)" in inspect.getsource(DataTable.row_count.fget)
    get_row = inspect.getsource(DataTable.get_row)
    assert "self._data.get(row_key, {})" in get_row and "row_key not in self._row_locations" in get_row
    assert "y_offsets[y]" in inspect.getsource(DataTable._get_offsets)
    for method in (DataTable._get_row_region, DataTable._get_cell_region):
        assert list(inspect.signature(method).parameters)[0] == "self"
        assert "sum(ordered_row.height for ordered_row in self.ordered_rows[:row_index])" in inspect.getsource(method)


async def test_filling_the_table_measures_no_cells(monkeypatch):
    calls = []
    real_measure = data_table_module.measure

    def counting_measure(*args, **kwargs):
        calls.append(args[1])
        return real_measure(*args, **kwargs)

    monkeypatch.setattr(data_table_module, "measure", counting_measure)
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(RunsTable)
        show(table, [run(i) for i in range(1, 201)])
        await filled(pilot, table)
        assert table.row_count == 200
        assert len(calls) <= len(table.columns)  # the column labels, when the columns are added
        # the control: a plain DataTable measures every new cell (so the patch above does see it)
        calls.clear()
        plain = DataTable()
        await app.mount(plain)
        plain.add_column("a")
        plain.add_row(Text("x"))
        plain.add_row(Text("y"))
        await pilot.pause()
        assert len(calls) >= 3


async def test_cells_render_exactly_as_datatable_renders_them():
    """RunsTable renders a body cell without DataTable's Styled/Padding wrappers (cell_lines): every
    cell on screen, with and without the cursor or the mouse on it, marked, failed or with a long
    text, must be the very segments (text and style, click metadata included) DataTable makes."""
    app = TableApp()
    async with app.run_test(size=(100, 16)) as pilot:
        table = app.query_one(RunsTable)
        records = [run(i) for i in range(1, 40)]
        records[3] = replace(records[3], status="failed", error="boom", summaries={})
        records[5] = replace(records[5], dataset="[bold]a very long dataset name that is cut[/] ✓")
        records[7] = replace(records[7], dataset="two\nlines\tand a tab")
        show(table, records)
        table.marked.add(records[1].id)
        await filled(pilot, table)
        table.sort_by(column_index(table, "m:accuracy"), descending=False)
        await filled(pilot, table)
        base = table.rich_style
        compared = 0
        for row in range(table.row_count):
            for column in range(len(table.columns)):
                width = table.ordered_columns[column].get_render_width(table)
                for cursor, hover in ((False, False), (True, False), (False, True), (True, True)):
                    table._cell_render_cache.clear()
                    ours = table._render_cell(row, column, base, width, cursor, hover)
                    table._cell_render_cache.clear()
                    theirs = DataTable._render_cell(table, row, column, base, width, cursor, hover)
                    assert ours == theirs, (row, column, cursor, hover)
                    compared += 1
        assert compared == table.row_count * len(table.columns) * 4 > 600
