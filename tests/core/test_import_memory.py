"""Import within --memory (issue 11 part 1): a CSV several times larger than the memory DuckDB may
use imports, DuckDB spilling to a folder next to the store that is removed after, and a run on a sample
of it with the same --memory keeps its whole process tree within it too; a limit below what
an import needs is one line, exit 2; progress reaches the caller from one thread, stage by stage."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import core.data.progress as progress_mod
from core.data.importing import import_dataset
from core.data.memory import MIN_MEMORY, memory_bytes, memory_limits
from core.data.progress import ImportStep
from core.errors import InputError
from core.store import Store
from core.store.datasets import get_dataset, list_datasets
from core.store.flushing import flushed_meanwhile
from core.store.sql import sql_string
from tests.conftest import REPO, mlloop_main

STAGES = ["scanning", "reading", "splitting", "storing", "profiling"]
MEMORY_MB = MIN_MEMORY // 2**20  # the smallest limit an import accepts
SLACK_MB = 500  # Python, its libraries and DuckDB's own structures outside its buffer manager


def write_long_csv(path: Path, rows: int) -> Path:
    """Full-precision numbers (which compress little once read), integers, text with missing values and
    a 3-class label, about 170 bytes a row, from hashes of the row number: written by DuckDB in seconds
    where pandas takes a minute, and the same every time."""

    def unit(k: int) -> str:  # a number in [-1, 1) drawn from the row number
        return f"(hash(i * 16 + {k}) % 1000000007) / 500000003.5 - 1"

    cols = [f"CASE WHEN hash(i * 16 + 9) % 20 = 0 THEN NULL ELSE {unit(0)} END AS x0"]
    cols += [f"{unit(k)} AS x{k}" for k in range(1, 8)]
    cols += [
        "hash(i * 16 + 8) % 10000 AS n",
        "CASE WHEN hash(i * 16 + 10) % 20 = 0 THEN NULL "
        "ELSE ['paris', 'lyon', 'nice', 'lille', 'brest'][CAST(hash(i * 16 + 11) % 5 AS BIGINT) + 1] END AS city",
        "['a', 'b', 'c'][CAST(hash(i * 16 + 12) % 3 AS BIGINT) + 1] AS label",
    ]
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"COPY (SELECT {', '.join(cols)} FROM range({int(rows)}) AS r(i) ORDER BY i) TO {sql_string(str(path))} "
            "(HEADER, DELIMITER ',')"
        )
    return path


def test_memory_sizes_are_said_as_a_person_writes_them() -> None:
    from core.data.memory import memory_size

    assert [memory_size(n) for n in (224 * 2**20, 1000 * 2**20, 3 * 2**29, 2**30, 4800)] == [
        "224 MB",
        "1000 MB",
        "1.5 GB",
        "1 GB",
        "4,800 bytes",
    ]


def test_memory_sizes_are_read_and_too_small_ones_refused() -> None:
    assert memory_bytes("2GB") == 2 * 2**30
    assert memory_bytes("512 MB") == memory_bytes("512m") == memory_bytes("512MiB") == 512 * 2**20
    assert memory_bytes("1.5G") == int(1.5 * 2**30)
    assert memory_bytes(None) >= MIN_MEMORY
    with pytest.raises(InputError, match=r"^--memory: not a size: 'lots'"):
        memory_bytes("lots")
    with pytest.raises(InputError, match=rf"^--memory 10MB is below the {MEMORY_MB} MB an import needs"):
        memory_bytes("10MB")


def test_the_default_is_half_the_ram_or_of_the_containers_limit() -> None:
    import psutil

    total = psutil.virtual_memory().total
    cgroup = Path("/sys/fs/cgroup/memory.max")
    if cgroup.exists() and cgroup.read_text().strip().isdigit():
        total = min(total, int(cgroup.read_text()))
    assert memory_bytes(None) == int(total * 0.5)
    limits = memory_limits(None)  # without --memory: from 224 MB, doubling, up to that default
    assert limits[0] == 224 * 2**20 and limits[-1] == memory_bytes(None)
    assert all(b == 2 * a for a, b in zip(limits, limits[1:-1])) and limits == sorted(set(limits))
    assert memory_limits("1GB") == [2**30]


def write_wide_csv(path: Path, columns: int, rows: int = 50) -> Path:
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        values = ", ".join(f"round((hash(i * {columns} + {k}) % 1000) / 7.0, 3) AS f{k}" for k in range(columns))
        con.execute(
            f"COPY (SELECT {values}, i % 2 AS y FROM range({rows}) AS r(i)) TO {sql_string(str(path))} (HEADER)"
        )
    return path


def test_without_memory_a_file_too_wide_for_the_first_limit_imports_with_more(store: Store, tmp_path: Path) -> None:
    """6,000 columns run out of 224 MB (DuckDB's buffers per column): given as --memory that is the
    one-line error; without --memory the import starts again with more and succeeds."""
    csv = write_wide_csv(tmp_path / "wide.csv", 6000)
    with pytest.raises(InputError, match=r"needs more memory than --memory 224 MB"):
        import_dataset(store, csv, "y", memory="224MB")
    assert list_datasets(store) == []
    info = import_dataset(store, csv, "y")
    assert (info.n_rows, len(info.columns)) == (50, 6001)
    assert "the import ran out of 224 MB: imported within 448 MB" in info.notes
    narrow = import_dataset(store, write_wide_csv(tmp_path / "narrow.csv", 20), "y")
    assert not [n for n in narrow.notes if "ran out of" in n]  # 224 MB was enough


def test_memory_too_small_is_exit_2_one_line_and_the_store_unchanged(store: Store, tmp_path: Path, capsys) -> None:
    csv = write_long_csv(tmp_path / "d.csv", 500)
    assert mlloop_main(store, "import", str(csv), "--target", "label", "--memory", "20MB") == 2
    assert (
        capsys.readouterr().err
        == f"mlloop: error: --memory 20MB is below the {MEMORY_MB} MB an import needs at least; give more\n"
    )
    assert not store.path.exists() or list_datasets(store) == []


# Runs a command and prints its peak RSS in KB: the largest of its process tree's (RUSAGE_CHILDREN).
# A small process of its own, because a child's peak counts the image it was forked from (this test's).
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def test_a_csv_several_times_the_memory_limit_imports_within_it(tmp_path: Path) -> None:
    """The import's peak RSS stays within --memory + SLACK_MB while the file is 3x --memory; DuckDB did
    spill (its files appear in the folder next to the store) and the folder is gone after."""
    rows = 1_200_000
    csv = write_long_csv(tmp_path / "long.csv", rows)
    size_mb = csv.stat().st_size / 2**20
    assert size_mb >= 3 * MEMORY_MB
    store_path = tmp_path / "s.duckdb"
    cmd = [sys.executable, "-m", "mlloop_tui", "--store", str(store_path), "import", str(csv), "--target", "label"]
    cmd += ["--memory", f"{MEMORY_MB}MB", "--progress"]
    with open(tmp_path / "err", "w") as err:
        child = subprocess.Popen([sys.executable, "-c", PEAK_RSS, *cmd], stdout=subprocess.PIPE, stderr=err, cwd=REPO)
        spilled = False
        deadline = time.monotonic() + 600
        while child.poll() is None:
            spilled = spilled or any(any(f.iterdir()) for f in tmp_path.glob("s.duckdb.import-*.tmp"))
            assert time.monotonic() < deadline, "the import took more than 10 minutes"
            time.sleep(0.02)
    stderr = (tmp_path / "err").read_text()
    assert child.returncode == 0, stderr
    assert child.stdout is not None
    peak_mb = int(child.stdout.read()) / 1024  # KB on Linux
    assert peak_mb <= MEMORY_MB + SLACK_MB, f"peak RSS {peak_mb:.0f} MB for a {size_mb:.0f} MB file"
    assert spilled, "DuckDB never wrote to the temporary folder"
    assert not list(tmp_path.glob("s.duckdb.import-*.tmp"))
    info = get_dataset(Store(store_path), "long")
    assert info.n_rows == rows and info.n_dev + info.n_test == rows
    assert re.search(r"^import: reading [\d.]+ MB of [\d.]+ MB \(\d+%\)$", stderr, re.MULTILINE), stderr
    assert re.search(rf"^import: storing {rows:,} rows", stderr, re.MULTILINE), stderr

    # then a run on a sample: the dataset keeps the import's --memory as its runs' budget, so the run's
    # process tree (workers and all) stays under it too
    assert info.memory == MEMORY_MB * 2**20
    run = [sys.executable, "-m", "mlloop_tui", "--store", str(store_path), "run", "long", "--models", "dummy,linear"]
    run += ["--sample", "20000", "--cv", "3"]
    tree_mb, done = _tree_peak_mb(run)
    assert done.returncode == 0, done.stderr
    assert tree_mb <= MEMORY_MB + SLACK_MB, f"the run's process tree peaked at {tree_mb:.0f} MB"
    if (os.cpu_count() or 1) > 1:  # every core's worker would not fit: the folds run in the one process
        assert "(the import's --memory): every fold runs in this process" in done.stderr, done.stderr


def _tree_peak_mb(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``cmd``; the largest sum of its process tree's RSS, sampled every 20 ms, and how it ended."""
    import psutil

    with (
        open(os.devnull, "w") as devnull,
        subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE, text=True, cwd=REPO) as child,
    ):
        root = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
            except psutil.Error:
                pass  # a process of the tree ended between the listing and its reading
            time.sleep(0.02)
        stderr = child.stderr.read() if child.stderr else ""
    return peak / 2**20, subprocess.CompletedProcess(cmd, child.returncode, "", stderr)


def test_progress_comes_stage_by_stage_from_one_thread(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_mod, "INTERVAL_S", 0.005)  # sample often: the file is small
    csv = write_long_csv(tmp_path / "mid.csv", 60_000)
    steps: list[tuple[ImportStep, int]] = []
    info = import_dataset(store, csv, "label", progress=lambda s: steps.append((s, threading.get_ident())))
    threads = {t for _, t in steps}
    assert len(threads) == 1 and threading.get_ident() not in threads
    stages = [s.stage for s, _ in steps]
    seen = list(dict.fromkeys(stages))
    assert len(seen) >= 3 and seen == sorted(seen, key=STAGES.index), stages
    assert stages == sorted(stages, key=STAGES.index)  # never back to an earlier stage
    for step, _ in steps:
        assert step.total_bytes == csv.stat().st_size
        assert step.fraction is None or 0 <= step.fraction <= 1
        if step.stage in ("profiling", "storing"):
            assert step.rows == info.n_rows


def test_a_step_reads_as_one_line() -> None:
    assert ImportStep("reading", 0.45, 268_000_000).line() == "import: reading 120.6 MB of 268.0 MB (45%)"
    assert ImportStep("scanning", None, 2_500).line() == "import: scanning 2.5 KB"
    assert ImportStep("profiling", 0.3, 10, rows=1_000_000).line() == "import: profiling 1,000,000 rows (30%)"
    assert ImportStep("storing", None, 10, rows=12).line() == "import: storing 12 rows"


def test_the_disk_takes_the_stored_table_in_while_the_rows_are_profiled(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit's wait for the disk (DuckDB syncs the file) overlaps the profile: once the table is
    written, another thread syncs the store file, before the import commits."""
    csv = write_long_csv(tmp_path / "long.csv", 250_000)  # two row groups: written before the commit
    import_dataset(store, write_long_csv(tmp_path / "small.csv", 100), "label")  # the store file exists
    before = store.path.stat().st_size
    synced: list[tuple[Path, int, bool]] = []
    sync = os.fdatasync

    def spy(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        synced.append((path, path.stat().st_size, threading.current_thread() is threading.main_thread()))
        sync(fd)

    monkeypatch.setattr(os, "fdatasync", spy)
    info = import_dataset(store, csv, "label", name="long")
    assert [(p, on_main) for p, _, on_main in synced] == [(store.path.resolve(), False)]
    assert synced[0][1] > before + 2**20  # the rows were in the file when it was synced
    assert get_dataset(store, info.id).n_rows == 250_000


def test_a_store_file_that_cannot_be_synced_ahead_is_left_to_the_commit(tmp_path: Path) -> None:
    with flushed_meanwhile(tmp_path / "gone.duckdb"):  # no such file: nothing to sync, no error
        pass
