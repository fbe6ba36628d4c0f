"""Store growth and import time with many small datasets (issue 14, part 5).

Imports N ten-row CSV files (4 columns) into one store, one `import_dataset` call each as `mlloop import`
makes it, and at 0 datasets and at each tenth of N prints: the store's bytes per dataset imported so
far (file and WAL), the median wall and CPU seconds of the next imports, and the time to open, read
and close the store once (what every command pays). Wall time on a shared machine varies with its
load; CPU time (this process, DuckDB's threads included) varies less. The figures quoted in the
README come from this script.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from core.data.importing import import_dataset
from core.store import Store
from core.store.datasets import list_datasets

WINDOW = 10  # imports timed at each point


def store_bytes(store: Store) -> int:
    wal = Path(f"{store.path}.wal")
    return store.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def timed_import(store: Store, csv: Path, name: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    import_dataset(store, csv, "label", name=name)
    return time.perf_counter() - wall, time.process_time() - cpu


def open_read_close(store: Store) -> float:
    start = time.perf_counter()
    list_datasets(store)
    return time.perf_counter() - start


def main(n: int = 1000) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlloop-bench-"))
    csv = tmp / "small.csv"
    lines = [f"{i},{i * 0.5},x{i % 3},{'yes' if i % 2 else 'no'}" for i in range(10)]
    csv.write_text("a,b,c,label\n" + "\n".join(lines) + "\n")
    store = Store(tmp / "many.duckdb")
    store.schema_version()
    empty = store_bytes(store)
    print(f"empty store: {empty / 1024:.0f} KB; importing {n} ten-row CSV files (4 columns) one by one")
    print(f"{'datasets':>8}  {'KB/dataset':>10}  {'import wall s':>13}  {'import CPU s':>12}  {'open+list s':>11}")
    points = sorted({0, *(n * k // 10 for k in range(1, 11))})
    done = 0
    for point in points:
        while done < point:
            import_dataset(store, csv, "label", name=f"d{done}")
            done += 1
        per_dataset = (store_bytes(store) - empty) / done / 1024 if done else 0.0
        open_s = statistics.median(open_read_close(store) for _ in range(3))
        times = [timed_import(store, csv, f"t{point}-{i}") for i in range(WINDOW)]
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"{done:>8}  {per_dataset:>10.1f}  {wall:>13.3f}  {cpu:>12.3f}  {open_s:>11.3f}", flush=True)
        done += WINDOW
    total = store_bytes(store)
    print(f"{done} datasets: {total / 1e6:.1f} MB in all, {(total - empty) / done / 1024:.1f} KB per dataset")
    print(f"store kept in {tmp}" if os.environ.get("KEEP") else "")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
