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
    """Stands in for DataTable's ``_row_locations`` (row key <-> index) over a list of run ids.

    DataTable asks for the index of keys it has just been given for an index (each painted line),
    so those are remembered; any other key is looked up by a scan of the ids, and only after
    several such lookups by a map of every id. That map costs tens of milliseconds for 100,000
    shuffled ids, more than a paint's budget, and a sort or a filter makes a new one each time.
    """

    SCANS = 16  # lookups by scanning before the map of every id is built
    RECENT = 4096  # keys handed out that are remembered (a few screens' worth)

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self._index: dict[int, int] | None = None
        self._recent: dict[int, int] = {}
        self._scans = 0

    def key_at(self, index: int) -> RowKey:
        """The key of the row at ``index`` (in range), remembered for :meth:`index_of`."""
        rid = self.ids[index]
        if len(self._recent) >= self.RECENT:
            self._recent.clear()
        self._recent[rid] = index
        return RowKey(str(rid))

    def index_of(self, rid: int) -> int | None:
        index = self._recent.get(rid)
        if index is not None:
            return index
        if self._index is None and self._scans < self.SCANS:
            self._scans += 1
            try:
                return self.ids.index(rid)
            except ValueError:
                return None
        if self._index is None:
            self._index = dict(zip(self.ids, range(len(self.ids))))
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
        return self.key_at(index) if 0 <= index < len(self.ids) else None

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

    def __init__(self, locations: RowLocations, rows: bool, start: int = 0, stop: int | None = None) -> None:
        self.locations, self.rows, self.start = locations, rows, start
        self.stop = len(locations.ids) if stop is None else stop

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
            return LazyLines(self.locations, self.rows, self.start + start, self.start + stop)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        key = self.locations.key_at(self.start + index)
        return Row(key, 1) if self.rows else (key, 0)

    def clear(self) -> None:
        """As :meth:`LazyRows.clear`."""
