"""Error analysis and out-of-fold predictions: how fast `mlloop errors` answers, what predictions cost.

1. `mlloop errors RUN` (text and --json) on a run over ROWS development-set rows: whole processes
   (imports included), median of 3 after one warm-up, beside a process that only imports what it
   needs (the floor on this machine); the text output of a regression run on as many rows (its
   slices are Welch tests); `analyse_run` in-process, median of 3; and the app's error-analysis
   screen, from being pushed to showing the analysis, median of 3.
2. Store growth: the store file before and after `mlloop run --models all --cv 5` on a 10,000-row
   dataset (binary and regression), and the size of the fold_predictions table alone (copied into
   a fresh DuckDB file, minus an empty one's size).
3. CV overhead: one fold of each model (fit_fold: fit, train and validation scores) against what
   keeping predictions adds to it: predict_fold on the fitted pipeline and insert_fold; medians of 3.

Usage: bench_errors.py [ROWS] (50000)
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def dataset(path: Path, rows: int, task: str, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 8))
    color = rng.choice(["red", "green", "blue", "grey"], size=rows)
    score = X[:, :3].sum(axis=1) + (color == "red") + rng.normal(size=rows)
    y = np.where(score > 0, "pos", "neg") if task == "binary" else score.round(4)
    frame = pd.DataFrame(X.round(4), columns=[f"x{i}" for i in range(8)]).assign(color=color, target=y)
    frame.to_csv(path, index=False)
    return path


def mlloop(store: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlloop_tui", "--store", str(store), *args], check=True, capture_output=True, cwd=ROOT
    )
    return time.perf_counter() - start


def _process(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - start


def median_of_3(fn) -> float:
    return statistics.median(fn() for _ in range(3))


def bench_errors(tmp: Path, rows: int) -> None:
    from core.analysis.errors import analyse_run
    from core.store import Store

    store = tmp / "errors.duckdb"
    csv = dataset(tmp / "big.csv", int(rows / 0.8) + 1, "binary")  # 20% go to the locked test rows
    mlloop(store, "import", str(csv), "--target", "target")
    mlloop(store, "run", "big", "--models", "linear", "--cv", "5", "--jobs", "2")
    mlloop(store, "errors", "1")  # warm the file cache
    text = median_of_3(lambda: mlloop(store, "errors", "1"))
    as_json = median_of_3(lambda: mlloop(store, "errors", "1", "--json"))
    # the floor: a process that imports only what the command needs (no pandas: core.data.frames.load_arrays)
    imports = median_of_3(lambda: _process("import core.analysis.errors, core.report.errors_summary, numpy"))
    reg = dataset(tmp / "reg.csv", int(rows / 0.8) + 1, "regression")
    mlloop(store, "import", str(reg), "--target", "target")
    mlloop(store, "run", "reg", "--models", "linear", "--cv", "5", "--jobs", "2")  # run 2
    mlloop(store, "errors", "2")
    regression = median_of_3(lambda: mlloop(store, "errors", "2"))
    s = Store(store)
    analyse_run(s, 1)

    def inproc() -> float:
        start = time.perf_counter()
        analyse_run(s, 1)
        return time.perf_counter() - start

    n = analyse_run(s, 1).n_rows
    print(
        f"mlloop errors on {n:,} rows: {text:.2f} s (text), {as_json:.2f} s (--json), whole process; "
        f"a process that only imports what it needs (NumPy, DuckDB, the analysis): {imports:.2f} s; "
        f"a regression run (Welch tests): {regression:.2f} s (text)"
    )
    print(f"analyse_run in-process: {inproc() * 1000:.0f} ms (median of 3: {median_of_3(inproc) * 1000:.0f} ms)")
    screen = [asyncio.run(_open_screen(s, 1)) for _ in range(3)]
    print(
        f"error-analysis screen, pushed to filled in (its thread worker reads and analyses): median "
        f"{statistics.median(screen) * 1000:.0f} ms ({', '.join(f'{t * 1000:.0f}' for t in screen)})"
    )


async def _open_screen(store, run_id: int) -> float:
    """The app on the runs screen; time from pushing the error-analysis screen to its tables filled."""
    from mlloop_tui.app import MlloopApp
    from mlloop_tui.screens.errors import ErrorsScreen

    app = MlloopApp(store, poll_interval=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        screen = ErrorsScreen(run_id)
        start = time.perf_counter()
        app.push_screen(screen)
        while screen.analysis is None:
            await pilot.pause(0.005)
        await pilot.pause()  # the filled tables painted
        return time.perf_counter() - start


def bench_growth(tmp: Path) -> None:
    for task in ("binary", "regression"):
        store = tmp / f"growth-{task}.duckdb"
        csv = dataset(tmp / f"{task}.csv", 12_500, task, seed=1)  # 10,000 development rows
        mlloop(store, "import", str(csv), "--target", "target")
        before = store.stat().st_size
        mlloop(store, "run", task, "--models", "all", "--cv", "5", "--jobs", "2")
        after = store.stat().st_size
        only = tmp / f"only-{task}.duckdb"
        empty = tmp / f"empty-{task}.duckdb"
        duckdb.connect(str(empty)).close()
        con = duckdb.connect(str(only))
        con.execute(f"ATTACH '{store}' AS s (READ_ONLY)")
        n = con.execute("SELECT count(*) FROM s.fold_predictions").fetchone()[0]
        con.execute("CREATE TABLE p AS SELECT * FROM s.fold_predictions")
        con.execute("DETACH s")
        con.close()
        table = only.stat().st_size - empty.stat().st_size
        print(
            f"{task}: 10,000 rows x 6 models: store +{(after - before) / 1e6:.2f} MB for the run "
            f"(fold_predictions alone {table / 1e6:.2f} MB, {n:,} rows)"
        )


def bench_overhead(tmp: Path) -> None:
    """What keeping predictions adds to a fold: predict_fold on the fitted pipeline, and the insert."""
    from sklearn.base import clone

    from core.data.frames import load_split
    from core.modeling.evaluation import build_pipeline, fit_fold, fold_splits, make_splitter, scoring
    from core.modeling.fold_predictions import predict_fold
    from core.modeling.models import BASELINES
    from core.store import Store
    from core.store.datasets import get_dataset
    from core.store.predictions import insert_fold

    s = Store(tmp / "growth-binary.duckdb")
    info = get_dataset(s, "binary")
    X, y = load_split(s, info, "dev")
    train, val = fold_splits(make_splitter(info.task, 5), X, y, info)[0]
    scorers = scoring(info.task)
    for name, b in BASELINES.items():
        pipe = build_pipeline(b, info, X)
        fold = _median_time(fit_fold, 0, 0, pipe, X, y, train, val, scorers, 5)
        est = clone(pipe).fit(X.iloc[train], y.iloc[train])
        predict = _median_time(predict_fold, est, X.iloc[val], info.classes, 0, 0)
        preds = predict_fold(est, X.iloc[val], info.classes, 0, 0)
        con = duckdb.connect()
        con.execute("CREATE TABLE fold_predictions (run_id INTEGER, repeat SMALLINT, row_id BIGINT, fold SMALLINT, "
                    "label SMALLINT, value DOUBLE, proba DOUBLE[])")  # fmt: skip
        write = _median_time(insert_fold, con, 1, preds)
        con.close()
        print(
            f"{name:9s} fold (fit + train/validation scores) {fold * 1000:6.0f} ms; predictions of its {len(val):,} "
            f"validation rows +{predict * 1000:.0f} ms, their insert +{write * 1000:.0f} ms "
            f"({(predict + write) / fold:.1%})"
        )


def _median_time(fn, *args, **kwargs) -> float:
    """The median of 3 timed calls of ``fn(*args, **kwargs)``."""

    def once() -> float:
        start = time.perf_counter()
        fn(*args, **kwargs)
        return time.perf_counter() - start

    return median_of_3(once)


def main(rows: int = 50_000) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlloop-bench-errors-"))
    bench_errors(tmp, rows)
    bench_growth(tmp)
    bench_overhead(tmp)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
