"""`mlloop run --sample N` against the same run on every development row, in peak memory and wall time
(issue 11 part 2 and part 4's "Larger than memory").

A generated CSV (20 columns: floats, integers, texts with missing values, an id, a 3-class label) is
imported once; then the same run (`--models dummy,linear --cv 3 --jobs 2`, or MODELS) with
`--sample N` and without it, each in a fresh child process, order alternated, median of REPEATS.
Peak RSS is the run's own (``os.wait4``) and its process tree's (the run and its worker processes,
summed, sampled every 20 ms).

    .venv/bin/python tests/benchmarks/bench_sample.py [ROWS] [SAMPLE] [REPEATS] [MODELS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[2]


def write_csv(path: Path, rows: int, chunk: int = 500_000) -> Path:
    rng = np.random.default_rng(0)
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        cols = {f"x{i}": rng.normal(size=n).round(4) for i in range(10)}
        cols |= {f"n{i}": rng.integers(0, 10_000, size=n) for i in range(4)}
        cols |= {f"t{i}": rng.choice(["paris", "lyon", "nice", "lille", "brest"], size=n) for i in range(4)}
        cols["id"] = np.arange(start, start + n)
        cols["label"] = np.where(cols["x0"] + rng.normal(size=n) > 0, "a", rng.choice(["b", "c"], size=n))
        frame = pd.DataFrame(cols)
        frame.loc[rng.random(n) < 0.05, "t0"] = None
        frame.to_csv(path, mode="a" if start else "w", header=not start, index=False)
    return path


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, the child's peak RSS (MB, os.wait4) and its process tree's peak RSS sum (MB, sampled)."""
    env = {**os.environ, "MLLOOP_BACKGROUND_CHECKS": "0"}
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    proc = psutil.Process(child.pid)
    tree_peak = 0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        try:
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.02)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, tree_peak / 2**20


def main(rows: int = 2_000_000, sample: int = 100_000, repeats: int = 3, models: str = "dummy,linear") -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlloop-bench-sample-"))
    csv = write_csv(tmp / "big.csv", rows)
    mlloop = [sys.executable, "-m", "mlloop_tui", "--store", str(tmp / "s.duckdb")]
    wall, _, _ = measure([*mlloop, "import", str(csv), "--target", "label"])
    print(f"{rows:,} rows x 20 columns ({csv.stat().st_size / 1e6:.0f} MB CSV), imported in {wall:.1f} s")
    run = [*mlloop, "run", "big", "--models", models, "--cv", "3", "--jobs", "2"]
    sides = {f"--sample {sample}": [*run, "--sample", str(sample)], "every row": run}
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}
    for i in range(repeats):
        for name in sorted(sides, reverse=bool(i % 2)):  # order alternated
            results[name].append(measure(sides[name]))
    med = {name: [statistics.median(r[k] for r in runs) for k in range(3)] for name, runs in results.items()}
    for name, (wall, peak, tree) in med.items():
        print(f"{name:16s} {wall:7.1f} s  peak RSS {peak:6.0f} MB, process tree {tree:6.0f} MB  (median of {repeats})")
    (s_wall, s_peak, s_tree), (a_wall, a_peak, a_tree) = med[f"--sample {sample}"], med["every row"]
    print(
        f"sample / every row: wall {s_wall / a_wall:.2f}x, peak RSS {s_peak / a_peak:.2f}x, "
        f"process tree {s_tree / a_tree:.2f}x"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]), *sys.argv[4:5])
