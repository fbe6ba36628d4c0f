"""Start-up: `mlloop --help`, and the app's first frame, both cold processes (median of N)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_FRAME = """
import sys, time
from core.store import Store
from mlloop_tui.app import MlloopApp

async def stop(pilot):
    await pilot.pause()
    print(time.time())
    pilot.app.exit()

MlloopApp(Store(sys.argv[1])).run(headless=True, size=(80, 24), auto_pilot=stop)
"""


def median_wall(cmd: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_frame(store: Path, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_FRAME, str(store)], check=True, capture_output=True, text=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]) - start)
    return statistics.median(times)


def main(n: int = 10) -> None:
    help_s = median_wall([sys.executable, "-m", "mlloop_tui", "--help"], n)
    bare_s = median_wall([sys.executable, "-c", "pass"], n)
    print(f"mlloop --help      {help_s * 1000:6.0f} ms (python -c pass: {bare_s * 1000:.0f} ms)")
    store = Path(tempfile.mkdtemp(prefix="mlloop-bench-")) / "s.duckdb"
    from core.store import Store

    Store(store).change_stamp()
    print(f"first app frame    {first_frame(store, n) * 1000:6.0f} ms (cold process, empty store)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
