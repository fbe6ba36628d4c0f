"""Import of a 1,000,000-row CSV into the store vs `pandas.read_csv` of the same file."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.importing import import_dataset
from core.store import Store


def main(rows: int = 1_000_000) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlloop-bench-"))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows).round(4) for i in range(7)})
    frame["city"] = rng.choice(["paris", "lyon", "nice", "lille"], size=rows)
    frame["n"] = rng.integers(0, 1000, size=rows)
    frame["label"] = rng.choice(["a", "b"], size=rows)
    csv = tmp / "big.csv"
    frame.to_csv(csv, index=False)
    size_mb = csv.stat().st_size / 1e6

    start = time.perf_counter()
    pd.read_csv(csv)
    pandas_s = time.perf_counter() - start
    start = time.perf_counter()
    import_dataset(Store(tmp / "s.duckdb"), csv, "label")
    import_s = time.perf_counter() - start
    print(f"{rows} rows x {frame.shape[1]} cols ({size_mb:.0f} MB)")
    print(f"pandas.read_csv   {pandas_s:6.2f} s")
    print(f"mlloop import     {import_s:6.2f} s (read, copy into the store, profile, split, hash)")
    print(f"import / read_csv = {import_s / pandas_s:.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
