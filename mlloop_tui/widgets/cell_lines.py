"""A DataTable whose body cells render as DataTable renders them, minus two wrappers.

DataTable (textual 8.2) renders each cell as ``Styled(Padding(cell))`` through the console. For a
table whose cells are one line of Rich text, what the console does for it (Text's wrap, join and
render, then padding) with the styles added here gives the very same segments
(``tests/tui/test_runs_table.py`` compares every cell in every cursor and hover state) for about half
the work per cell; the runs table paints a new screenful of cells on every sort and filter.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable


def body_cell_lines(
    table: DataTable[Any],
    row_index: int,
    column_index: int,
    base_style: Style,
    width: int,
    cursor: bool,
    hover: bool,
) -> list[list[Segment]] | None:
    """The cell's lines, cached as DataTable caches them; None for anything but a one-line body cell
    of text (a header, a label, a fixed row or column), which DataTable should render itself."""
    row_key = table._row_locations.get_key(row_index) if row_index >= 0 else None
    if row_key is None or column_index < 0 or row_index < table.fixed_rows or column_index < table.fixed_columns:
        return None
    cache_key = (
        row_key,
        table._column_locations.get_key(column_index),
        base_style,
        cursor,
        hover,
        table._show_hover_cursor,
        table._update_count,
        table._pseudo_class_state,
    )
    lines = table._cell_render_cache.get(cache_key)
    if lines is not None:
        return lines
    cell = table._get_row_renderables(row_index).cells[column_index]
    padding = table.cell_padding
    if not isinstance(cell, Text) or width < 2 * padding or table.rows[row_key].height != 1:
        return None
    component_style, post_style = table._get_styles_to_render_cell(
        False,
        False,
        False,
        hover,
        cursor,
        table.show_cursor,
        table._show_hover_cursor,
        table.cursor_foreground_priority == "css",
        table.cursor_background_priority == "css",
    )
    console = table.app.console
    pad_style = console.get_style("none")  # Padding's own style
    inner = _text_line(console, cell, width - 2 * padding, pad_style)
    if inner is None:
        return None
    edge = [Segment(" " * padding, pad_style)] if padding else []
    pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
    lines = [list(Segment.apply_style([*edge, *inner, *edge], style=pre_style, post_style=post_style))]
    table._cell_render_cache[cache_key] = lines
    return lines


def _text_line(console: Console, text: Text, width: int, style: Style) -> list[Segment] | None:
    """``console.render_lines(text, options of width, style=style, pad=True)[0]`` for one line of
    text with no wrapping, without the console's general path: what Text's own ``__rich_console__``
    does (wrap, here only cropping and justifying), styled and padded to ``width`` as render_lines does;
    None for a text of several lines."""
    lines = text.wrap(
        console,
        width,
        justify=text.justify or "default",
        overflow=text.overflow or "fold",
        tab_size=text.tab_size or 8,
        no_wrap=True,
    )
    if len(lines) != 1:
        return None
    line = Text("\n").join(lines)  # as Text does: the join makes each line's base style a span, which render needs
    segments = Segment.apply_style(line.render(console, end=""), style)
    return Segment.adjust_line_length(list(segments), width, style=style, pad=True)


class TextCellsTable(DataTable[Any]):
    """A DataTable that renders its one-line text cells with :func:`body_cell_lines`."""

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        lines = body_cell_lines(self, row_index, column_index, base_style, width, cursor, hover)
        if lines is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        return lines
