"""Views that stand in for DataTable's per-row bookkeeping, so that a table of 100,000 rows holds a
list of ids and nothing per row (see :mod:`mlloop_tui.widgets.runs_table`).

DataTable (textual 8.2) keeps a ``Row`` and a dict of cells per row, a two-way map of row keys and
indices, and lists of every row and line; these views answer the same questions from one list of
run ids, making a ``Row`` or a row's cells only when DataTable asks for one. Every row is one line
high and has no label. Guarded by ``tests/tui/test_runs_table.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, overload

from rich.text import Text
from textual.widgets.data_table import ColumnKey, Row, RowKey


class _CellSource(Protocol):
    def cells_of(self, rid: int) -> dict[ColumnKey, Text]: ...


class RowLocations:
    """Stands in for DataTable's ``_row_locations`` (row key <-> index) over a list of run ids."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self._index: dict[int, int] | None = None

    def index_of(self, rid: int) -> int | None:
        if self._index is None:
            self._index = {r: i for i, r in enumerate(self.ids)}
        return self._index.get(rid)

    def get(self, key: RowKey | str, default: int | None = None) -> int | None:
        """The index of a row key (DataTable's public methods also take the key as a string)."""
        value = key.value if isinstance(key, RowKey) else key
        try:
            index = self.index_of(int(str(value)))
        except ValueError:
            return default
        return default if index is None else index

    def get_key(self, index: int) -> RowKey | None:
        return RowKey(str(self.ids[index])) if 0 <= index < len(self.ids) else None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, RowKey | str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(str(rid)) for rid in self.ids)


class LazyRows(Mapping[RowKey, Row]):
    """Stands in for DataTable's ``rows``: every row is one line high and has no label."""

    def __init__(self, locations: RowLocations) -> None:
        self.locations = locations

    def __getitem__(self, key: RowKey) -> Row:
        index = self.locations.get(key)
        if index is None:
            raise KeyError(key)
        return Row(RowKey(str(self.locations.ids[index])), 1)

    def __iter__(self) -> Iterator[RowKey]:
        return iter(self.locations)

    def __len__(self) -> int:
        return len(self.locations)

    def clear(self) -> None:
        """DataTable.clear() clears its rows; the table installs new views after it."""


class LazyCells(Mapping[RowKey, dict[ColumnKey, Text]]):
    """Stands in for DataTable's ``_data``: a run's cells, formatted when asked for."""

    def __init__(self, table: _CellSource, locations: RowLocations) -> None:
        self.table = table
        self.locations = locations

    def __getitem__(self, key: RowKey) -> dict[ColumnKey, Text]:
        index = self.locations.get(key)
        if index is None:
            raise KeyError(key)
        return self.table.cells_of(self.locations.ids[index])

    def __iter__(self) -> Iterator[RowKey]:
        return iter(self.locations)

    def __len__(self) -> int:
        return len(self.locations)

    def clear(self) -> None:
        """As :meth:`LazyRows.clear`."""


class LazyLines(Sequence[Any]):
    """``ordered_rows`` (``Row`` s) or ``_y_offsets`` (``(key, 0)``) of some rows, made when read."""

    def __init__(self, ids: list[int], rows: bool, start: int = 0, stop: int | None = None) -> None:
        self.ids, self.rows, self.start = ids, rows, start
        self.stop = len(ids) if stop is None else stop

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> LazyLines: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("only contiguous slices")
            return LazyLines(self.ids, self.rows, self.start + start, self.start + stop)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        key = RowKey(str(self.ids[self.start + index]))
        return Row(key, 1) if self.rows else (key, 0)

    def clear(self) -> None:
        """As :meth:`LazyRows.clear`."""
