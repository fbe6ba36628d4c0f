"""`mlloop import` against pandas doing the same work, in wall time and peak memory; and a CSV larger
than `--memory` (issue 11 part 4, "Import" and "Larger than memory").

Same work on both sides, each in a fresh child process (so each peak RSS is its own): SHA-256 of
the file, reading every row, describe / missing / distinct counts of every column, a stratified
hold-out split, and a copy of the rows (the store's table for mlloop, a Parquet file for pandas).
Order alternated, median of 3, reported as ratios with both sides' figures; then again with the
texts and the header quoted, as R's write.csv writes them (a file DuckDB cannot cut at every LF).
Then a generated CSV 3x `--memory` is imported with that `--memory`, then run on a 100,000-row sample
(as is, the import's `--memory` its budget; then `--jobs 1`; then `--jobs 2 --memory 4GB`), and the first
run is scored on the locked test rows; the peak RSS (the largest in the process tree, RUSAGE_CHILDREN) and
the tree's summed RSS (sampled) are reported.

    .venv/bin/python tests/benchmarks/bench_import.py [ROWS] [MEMORY_MB]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil

REPO = Path(__file__).resolve().parents[2]

PANDAS_SIDE = """
import hashlib, sys
import pandas as pd
from sklearn.model_selection import train_test_split
path, copy = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    hashlib.file_digest(fh, "sha256").hexdigest()
df = pd.read_csv(path)
df.describe(include="all"); df.isna().sum(); df.nunique()
labeled = df[df["label"].notna()]
train_test_split(labeled, test_size=0.2, random_state=0, stratify=labeled["label"])
df.to_parquet(copy)
"""


def write_csv(path: Path, rows: int, quoted: bool = False) -> Path:
    """20 columns: 10 numbers (full precision), 4 integers, 4 texts (one with 5% missing), an id, a 3-class
    label; 5% of x0 missing. Written by DuckDB from hashes of the row number (pandas takes minutes).
    ``quoted``: every text and the header quoted, as R's write.csv writes them (NA left bare)."""

    def h(k: int) -> str:
        return f"hash(i * 32 + {k})"

    cols = [f"({h(k)} % 1000000007) / 500000003.5 - 1 AS x{k}" for k in range(10)]
    cols[0] = f"CASE WHEN {h(30)} % 20 = 0 THEN NULL ELSE {cols[0].removesuffix(' AS x0')} END AS x0"
    cols += [f"{h(10 + k)} % 10000 AS n{k}" for k in range(4)]
    cities = "['paris', 'lyon', 'nice', 'lille', 'brest']"
    cols += [f"{cities}[CAST({h(14 + k)} % 5 AS BIGINT) + 1] AS t{k}" for k in range(4)]
    cols[14] = f"CASE WHEN {h(31)} % 20 = 0 THEN NULL ELSE {cols[14].removesuffix(' AS t0')} END AS t0"
    cols += ["i AS id", f"['a', 'b', 'c'][CAST({h(20)} % 3 AS BIGINT) + 1] AS label"]
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        quoting = ", FORCE_QUOTE (t0, t1, t2, t3, label)" if quoted else ""
        con.execute(
            f"COPY (SELECT {', '.join(cols)} FROM range({int(rows)}) AS r(i) ORDER BY i) TO '{path}' (HEADER{quoting})"
        )
    return path


# Runs a command and prints its process tree's largest peak RSS in KB (RUSAGE_CHILDREN): a small process,
# because a child's peak counts the image it was forked from (this script's, after DuckDB wrote the CSV).
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def measure(cmd: list[str], check: bool = True) -> tuple[float, float, float]:
    """Wall seconds, the largest peak RSS in the process tree (MB) and the tree's summed RSS at its peak
    (MB, sampled every 20 ms); a failed command ends the benchmark, or with ``check=False`` gives NaN s."""
    env = {**os.environ, "MLLOOP_BACKGROUND_CHECKS": "0"}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", PEAK_RSS, *cmd], cwd=REPO, env=env, stdout=subprocess.PIPE)
    wrapper = psutil.Process(child.pid)
    tree_peak = 0
    while child.poll() is None:
        try:
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in wrapper.children(recursive=True)))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    assert child.stdout is not None
    peak_kb = int(child.stdout.read() or 0)
    if child.returncode != 0:
        if check:
            raise SystemExit(f"failed: {' '.join(cmd)}")
        wall = float("nan")
    return wall, peak_kb / 1024, tree_peak / 2**20


def mlloop_import(csv: Path, store: Path, *extra: str) -> list[str]:
    store.unlink(missing_ok=True)
    return [sys.executable, "-m", "mlloop_tui", "--store", str(store), "import", str(csv), "--target", "label", *extra]


def side_by_side(csv: Path, tmp: Path) -> None:
    """mlloop's import of ``csv`` against pandas doing the same work: median of 3, order alternated."""
    sides = {
        "mlloop": lambda: measure(mlloop_import(csv, tmp / "s.duckdb")),
        "pandas": lambda: measure([sys.executable, "-c", PANDAS_SIDE, str(csv), str(tmp / "copy.parquet")]),
    }
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}
    for i in range(3):
        for name in sorted(sides, reverse=bool(i % 2)):  # order alternated
            results[name].append(sides[name]())
    med = {name: [statistics.median(r[k] for r in runs) for k in range(3)] for name, runs in results.items()}
    for name, (wall, peak, _) in med.items():
        print(f"{name:7s} {wall:6.2f} s  peak RSS {peak:6.0f} MB   (median of 3)")
    (m_wall, m_peak, _), (p_wall, p_peak, _) = med["mlloop"], med["pandas"]
    print(f"mlloop / pandas: wall {m_wall / p_wall:.2f}x, peak RSS {m_peak / p_peak:.2f}x")


def main(rows: int = 1_000_000, memory_mb: int = 300) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlloop-bench-"))
    csv = write_csv(tmp / "big.csv", rows)
    print(f"{rows:,} rows x 20 columns, {csv.stat().st_size / 1e6:.0f} MB CSV")
    side_by_side(csv, tmp)
    quoted = write_csv(tmp / "quoted.csv", rows, quoted=True)
    print(f"the same rows with their texts quoted, as R writes them: {quoted.stat().st_size / 1e6:.0f} MB CSV")
    side_by_side(quoted, tmp)
    quoted.unlink()

    big_rows = int(rows * 3 * memory_mb * 2**20 / csv.stat().st_size) + 1
    big = write_csv(tmp / "larger.csv", big_rows)
    wall, peak, tree = measure(mlloop_import(big, tmp / "l.duckdb", "--memory", f"{memory_mb}MB"))
    size_mb = big.stat().st_size / 2**20
    print(
        f"larger than memory: {big_rows:,} rows, {size_mb:.0f} MB CSV ({size_mb / memory_mb:.1f}x "
        f"--memory {memory_mb}MB): {wall:.1f} s, peak RSS {peak:.0f} MB (process tree {tree:.0f} MB) "
        f"= --memory + {max(peak, tree) - memory_mb:.0f} MB"
    )
    run = [sys.executable, "-m", "mlloop_tui", "--store", str(tmp / "l.duckdb"), "run", "larger"]
    # as a user runs it (every core; the dataset keeps the import's --memory as its runs' budget, which
    # decides how many workers fit); in this process alone; and two worker processes given room for them
    for extra in ([], ["--jobs", "1"], ["--jobs", "2", "--memory", "4GB"]):
        wall, peak, tree = measure([*run, "--models", "dummy,linear", "--sample", "100000", *extra], check=False)
        print(
            f"then mlloop run larger --models dummy,linear --sample 100000 {' '.join(extra)}: {wall:.1f} s, "
            f"peak RSS {peak:.0f} MB (process tree {tree:.0f} MB) = --memory + {max(peak, tree) - memory_mb:.0f} MB"
            + (" FAILED (is --sample there?)" if wall != wall else "")
        )
    # the locked test rows (a fifth of the file, over the budget) are read and predicted in batches
    wall, peak, tree = measure([*run[:-2], "test", "1", "--yes"], check=False)
    print(
        f"then mlloop test 1 --yes (the first run's pipeline on its sample, scored on every test row): {wall:.1f} s, "
        f"peak RSS {peak:.0f} MB (process tree {tree:.0f} MB) = --memory + {max(peak, tree) - memory_mb:.0f} MB"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
