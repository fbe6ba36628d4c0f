"""Another process writing to a store, and a store whose diagnosis computes for seconds: for
tests that readers (a diagnosis, an export, the app) never make a writer (a run) fail."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from core.store import Store

WRITE_UNTIL_STOPPED = """
import sys, time
from pathlib import Path
from core.errors import StoreError
from core.store import Store
store, stop = Store(sys.argv[1], lock_timeout=float(sys.argv[2])), Path(sys.argv[3])
print("writing", flush=True)
writes = 0
while not stop.exists():
    try:
        with store.write() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('writer', ?)", [str(writes)])
    except StoreError as e:
        print(f"failed after {writes} writes: {e}", flush=True)
        sys.exit(1)
    writes += 1
    time.sleep(0.05)
print(writes, flush=True)
"""

# The start of a script that opens the store (sys.argv[1]) with plain DuckDB as `con`, retrying for 20 s
# without marking itself waiting (the duckdb shell, a user's script): a run holding the file lets it go
# at least once a second (core.store.held_writes).
OPEN_PLAIN_READER = """
import sys, time, duckdb
end = time.monotonic() + 20
while True:
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        break
    except duckdb.Error:
        if time.monotonic() > end:
            raise
        time.sleep(0.01)
"""


WRITER_LOCK_TIMEOUT = 1.0  # s; readers must never hold the store this long (a run's limit is 30 s)


def start_writer(store: Store, stop: Path, lock_timeout: float = WRITER_LOCK_TIMEOUT) -> subprocess.Popen:
    """A process that writes every 50 ms, giving up (exit 1) when the store stays locked for ``lock_timeout``.

    Until :func:`stop_writer`, the objects this process already has are out of the garbage collector's
    sight: late in the suite they are every earlier test's (gen-2 collections of up to 1.08 s were traced
    at 670,000 objects), and a collection stops every thread of the process, one holding a read
    connection too. The pauses measured would be the test suite's, not the reader's.
    """
    gc.collect()
    gc.freeze()
    store.schema_version()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITE_UNTIL_STOPPED, str(store.path), str(lock_timeout), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    return proc


def stop_writer(proc: subprocess.Popen, stop: Path) -> int:
    """Stop the writer; assert it never failed, and return how many writes it made."""
    stop.touch()
    out, _ = proc.communicate(timeout=60)
    gc.unfreeze()
    assert proc.returncode == 0, out
    return int(out.split()[-1])


def make_slow_diagnosis_store(path: Path) -> Path:
    """A 300,000-row binary dataset with one linear run (run 1) and no dummy run: diagnosing it fits
    the dummy on the run's five folds, which takes seconds (several lock timeouts of the writer)."""
    from core.data.importing import import_dataset
    from core.modeling.evaluation import run_baselines

    rng = np.random.default_rng(0)
    n = 300_000
    x = rng.normal(size=(n, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["y"] = np.where(x[:, 0] + rng.normal(size=n) > 0, "yes", "no")
    csv = path.with_suffix(".csv")
    frame.to_csv(csv, index=False)
    store = Store(path)
    import_dataset(store, csv, "y", name="big")
    assert run_baselines(store, "big", "linear", folds=5, jobs=1) == [1]
    return path
