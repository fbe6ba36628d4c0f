"""Creating a version of a 1,000,000-row dataset: dropping columns, then a few hundred rows.

The issue's target: under 2 s each, and the store does not double (a version copies no data: it is
SQL over its parent's rows, core.data.versions). Prints each creation's wall time (median of 3) and
the store size before and after the versions, each after a CHECKPOINT.
Usage: bench_versions.py [ROWS] [COLS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.data.importing import import_dataset  # noqa: E402
from core.data.versions import Edit, create_version  # noqa: E402
from core.store import Store  # noqa: E402


def size_after_checkpoint(store: Store) -> int:
    with store.write() as con:
        con.execute("CHECKPOINT")
    return store.path.stat().st_size


def main(rows: int = 1_000_000, cols: int = 10) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        frame = pd.DataFrame(rng.normal(size=(rows, cols)).round(4), columns=[f"x{i}" for i in range(cols)])
        frame["y"] = rng.choice(["a", "b", "c"], size=rows)
        csv = Path(tmp) / "big.csv"
        frame.to_csv(csv, index=False)
        store = Store(Path(tmp) / "s.duckdb")
        start = time.perf_counter()
        import_dataset(store, csv, "y")
        print(f"import of {rows:,} rows x {cols + 1} columns: {time.perf_counter() - start:.1f} s")
        before = size_after_checkpoint(store)
        with store.read() as con:  # development rows: test rows are edited only with --include-test
            dev = [r[0] for r in con.execute("SELECT __row FROM rows_1_v WHERE __part = 'dev' LIMIT 900").fetchall()]
        edits = {
            "drop 2 columns": lambda k: Edit(drop_columns=(f"x{k}", f"x{k + 3}")),
            "drop 300 rows": lambda k: Edit(drop_rows=tuple(dev[k * 300 : (k + 1) * 300])),
        }
        for label, make in edits.items():
            times = []
            for k in range(3):
                start = time.perf_counter()
                create_version(store, "big", make(k))
                times.append(time.perf_counter() - start)
            print(f"{label}: median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})")
        after = size_after_checkpoint(store)
        print(f"store: {before / 1e6:.1f} MB before, {after / 1e6:.1f} MB after 6 versions ({after / before:.2f}x)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
