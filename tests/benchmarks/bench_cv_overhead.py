"""The CV suite: `mlloop run` vs the same CV written in plain scikit-learn, and under contention.

Both sides are whole processes (imports included) on the same development rows, pipelines, folds,
metrics and n_jobs; the plain side calls `cross_validate` once per model, as one would by hand.
Each side runs once untimed (warm caches), then REPEATS times in alternating order; the figure is
the ratio of the medians. The contended variant runs the mlloop side again while two other
CPU-bound processes spin, as a ratio to its uncontended median. The load average is printed
beside the figures: on a shared machine they are only as good as the quiet they ran in.
Usage: bench_cv_overhead.py [ROWS] [COLS] [JOBS] [REPEATS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
MODELS = "dummy,linear,tree,forest,boosting"
SPIN = "while True: pass"


def main(rows: int = 20_000, cols: int = 50, jobs: int = 2, repeats: int = 3) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlloop-bench-"))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, cols))
    y = np.where(X[:, :5].sum(axis=1) + rng.normal(size=rows) > 0, "pos", "neg")
    frame = pd.DataFrame(X.round(5), columns=[f"f{i}" for i in range(cols)]).assign(target=y)
    csv = tmp / "bench.csv"
    frame.to_csv(csv, index=False)
    store = tmp / "bench.duckdb"
    mlloop = [sys.executable, "-m", "mlloop_tui", "--store", str(store)]
    subprocess.run([*mlloop, "import", str(csv), "--target", "target"], check=True, capture_output=True)

    plain = tmp / "plain.py"
    plain.write_text(
        textwrap.dedent(f"""
        from sklearn.model_selection import cross_validate
        from core.store import Store
        from core.data.frames import load_split
        from core.store.datasets import get_dataset
        from core.modeling.evaluation import build_pipeline, make_splitter, scoring
        from core.modeling.models import BASELINES
        store = Store({str(store)!r})
        info = get_dataset(store, "bench")
        X, y = load_split(store, info, "dev")
        cv = make_splitter(info.task, 5, 1, 0)
        for name in {MODELS.split(",")!r}:
            cross_validate(build_pipeline(BASELINES[name], info, X), X, y, cv=cv, scoring=scoring(info.task),
                           return_train_score=True, n_jobs={jobs})
    """)
    )
    sides = {
        "plain scikit-learn": [sys.executable, str(plain)],
        "mlloop run": [*mlloop, "run", "bench", "--models", MODELS, "--cv", "5", "--jobs", str(jobs)],
    }
    print(f"{rows} x {cols}, models {MODELS}, 5 folds, n_jobs={jobs}; load average before: {_load()}")
    for cmd in sides.values():  # warm: imports, page cache
        _timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(repeats):
        for name in list(sides) if i % 2 == 0 else list(reversed(sides)):
            times[name].append(_timed(sides[name]))
    plain_s, mlloop_s = (statistics.median(times[name]) for name in sides)
    for name, ts in times.items():
        print(f"{name:20s} median {statistics.median(ts):7.2f} s  ({', '.join(f'{t:.2f}' for t in ts)})")
    print(f"CV suite: mlloop / plain = {mlloop_s / plain_s:.3f} ({mlloop_s:.2f} s / {plain_s:.2f} s)")

    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(2)]
    try:
        contended = [_timed(sides["mlloop run"]) for _ in range(repeats)]
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    busy_s = statistics.median(contended)
    print(f"mlloop run with 2 CPU-bound processes: median {busy_s:.2f} s  ({', '.join(f'{t:.2f}' for t in contended)})")
    print(f"under contention: contended / uncontended = {busy_s / mlloop_s:.2f} ({busy_s:.2f} s / {mlloop_s:.2f} s)")
    print(f"load average after: {_load()}")


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
