"""The tracker's overhead: `mlloop run --models all` vs the same CV written in plain scikit-learn.

Both sides are whole processes (imports included) on the same development rows, the same
pipelines, folds and n_jobs; the plain side calls `cross_validate` once per model.
Usage: bench_cv_overhead.py [ROWS] [COLS] [JOBS]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def main(rows: int = 20_000, cols: int = 50, jobs: int = 2) -> None:
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
        for b in BASELINES.values():
            cross_validate(build_pipeline(b, info, X), X, y, cv=cv, scoring=scoring(info.task),
                           return_train_score=True, n_jobs={jobs})
    """)
    )
    timings = {}
    for name, cmd in [
        ("plain scikit-learn", [sys.executable, str(plain)]),
        ("mlloop run", [*mlloop, "run", "bench", "--models", "all", "--cv", "5", "--jobs", str(jobs)]),
    ]:
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        timings[name] = time.perf_counter() - start
        print(f"{name:20s} {timings[name]:8.2f} s")
    ratio = timings["mlloop run"] / timings["plain scikit-learn"]
    print(f"{rows} x {cols}, n_jobs={jobs}: mlloop / plain = {ratio:.3f} (overhead {100 * (ratio - 1):+.1f}%)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
