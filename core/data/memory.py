"""How much memory an import may use, and where DuckDB spills what does not fit.

``--memory SIZE`` becomes DuckDB's ``memory_limit`` for the import's connection, and its
``temp_directory`` a folder next to the store (``<store>.import-<pid>.tmp``), deleted when the
import ends. DuckDB's readers, sorts, aggregates and temporary tables then spill there instead of
growing past the limit, so a file larger than memory imports. A limit DuckDB cannot work within
is one line naming ``--memory``.

Without ``--memory`` an import starts at :data:`START_MEMORY` and, when DuckDB runs out of it (a
file of thousands of columns does), starts again with twice as much, up to :data:`DEFAULT_FRACTION`
of the machine's RAM (or of the container's limit when that is lower). DuckDB keeps what it read in
memory up to its limit, so starting low keeps the import's peak memory near what it needs: a
1,000,000-row CSV peaked at 600 MB under a limit of half the RAM. The process itself (Python,
DuckDB's library, its threads' buffers) takes about 110 MB beside the limit, so 224 MB keeps that
import's peak under half of what pandas takes for the same work (tests/benchmarks/bench_import.py).

Drawing a run's sample reads every development row to keep a few: DuckDB would keep the blocks it
read up to its default limit, so that read gets a limit of its own, sized by the table's width and
the sample (:func:`sample_read_memory`), in a temporary folder (:func:`spill_folder`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.errors import InputError
from core.store.sql import error_reason, one_row, sql_string

DEFAULT_FRACTION = 0.5  # of the RAM (or the cgroup's limit): the most an import takes without --memory
START_MEMORY = 224 * 2**20  # without --memory, the first limit tried (doubled while DuckDB runs out)
MIN_MEMORY = 64 * 2**20  # below this DuckDB runs out of memory on the import's own queries
THREAD_MEMORY = 32 * 2**20  # per DuckDB thread: its CSV buffers and its share of the operators' state
SCAN_BLOCK = 256 * 2**10  # DuckDB's block size: what a scan pins per column
SAMPLE_READ_FLOOR = 128 * 2**20  # a sample's read beside its scan and result: the ranking of its keys, the join
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def memory_bytes(memory: str | int | None) -> int:
    """``--memory``'s value in bytes: ``2GB``, ``512MB``, ``1.5G``, ``300M`` or bytes; None: the default."""
    if memory is None:
        return default_memory()
    n = parse_size(memory)
    if n < MIN_MEMORY:
        raise InputError(f"--memory {memory} is below the {MIN_MEMORY // 2**20} MB an import needs at least; give more")
    return n


def parse_size(memory: str | int) -> int:
    """``--memory``'s value in bytes (``2GB``, ``512MB``, ``1.5G``, ``300M`` or bytes), whatever it is for."""
    if isinstance(memory, int) and not isinstance(memory, bool):
        n = memory
    else:
        found = _SIZE.fullmatch(str(memory))
        if found is None:
            raise InputError(f"--memory: not a size: {memory!r} (use e.g. 2GB, 512MB)")
        n = int(float(found.group(1)) * _UNITS[found.group(2).upper()])
    if n <= 0:
        raise InputError(f"--memory must be more than nothing, got {memory!r}")
    return n


class MemoryTooSmall(InputError):
    """DuckDB ran out of the import's memory limit (one line naming ``--memory``)."""


def memory_limits(memory: str | int | None) -> list[int]:
    """The limits an import tries in turn: ``--memory``'s alone, else from :data:`START_MEMORY`
    doubling up to :func:`default_memory`."""
    if memory is not None:
        return [memory_bytes(memory)]
    most = default_memory()
    limits = []
    limit = START_MEMORY
    while limit < most:
        limits.append(limit)
        limit *= 2
    return [*limits, most]


def ran_out_note(first: int, limit: int) -> str:
    """The dataset's note when its import ran out of the ``first`` limit and went on within ``limit``."""
    return f"the import ran out of {memory_size(first)}: imported within {memory_size(limit)}"


def default_memory() -> int:
    """:data:`DEFAULT_FRACTION` of the physical memory, or of the container's limit when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return max(int(total * DEFAULT_FRACTION), MIN_MEMORY)


@contextmanager
def spilling(store_path: Path, limit: int) -> Iterator[Path]:
    """The import's temporary folder next to the store (DuckDB creates it if it spills), removed after.

    DuckDB's out-of-memory error, wherever in the import (commit included), becomes one line naming
    ``--memory``.
    """
    folder = store_path.with_name(f"{store_path.name}.import-{os.getpid()}.tmp")
    try:
        yield folder
    except duckdb.OutOfMemoryException as e:
        raise MemoryTooSmall(
            f"the import needs more memory than --memory {memory_size(limit)} lets DuckDB use "
            f"({error_reason(e)}); give more"
        ) from e
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def apply_limit(con: duckdb.DuckDBPyConnection, limit: int, folder: Path) -> None:
    """Keep ``con``'s queries within ``limit`` bytes, spilling to ``folder``, with no more threads than
    the limit feeds (each reads through buffers of its own)."""
    threads = int(one_row(con.execute("SELECT current_setting('threads')"))[0])
    con.execute(f"SET threads = {max(1, min(threads, limit // THREAD_MEMORY))}")
    con.execute(f"SET memory_limit = '{int(limit)}B'")
    con.execute(f"SET temp_directory = {sql_string(str(folder))}")


def sample_read_memory(columns: int, rows: int) -> int:
    """DuckDB's limit for drawing a ``rows``-row sample of a table of ``columns`` columns: the scan pins a
    block per column per thread (two while it reads ahead), the result holds the sample, and
    :data:`SAMPLE_READ_FLOOR` is left for the rest (on 2 cores, 20 columns and 100,000 rows: about 180 MB)."""
    threads = os.cpu_count() or 1
    return SAMPLE_READ_FLOOR + columns * threads * 2 * SCAN_BLOCK + rows * columns * 16


@contextmanager
def spill_folder() -> Iterator[Path]:
    """A temporary folder for what a limited read cannot keep in memory, removed after."""
    folder = Path(tempfile.mkdtemp(prefix="mlloop-read-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def memory_size(n: int) -> str:
    """``256 MB``, ``1.5 GB``, ``4,800 bytes``: a limit or a budget as messages and notes say it."""
    for unit in ("GB", "MB"):
        scale = _UNITS[unit[0]]
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"  # never 1e+03 MB
    return f"{n:,} bytes"
