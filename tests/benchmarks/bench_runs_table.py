"""The runs table with 100,000 runs: open (read + show), poll, sort, filter and clear it, each timed.

Usage: ``python tests/benchmarks/bench_runs_table.py [n_runs] [repeats]`` (100,000 runs, 3 repeats).

Each step is timed from the call until the table is *painted* with the result: the compositor's
call of the table's ``render_lines`` is recorded, and the step's time is the first paint that
shows the new rows. The table is virtual (only the rows on screen are read and formatted), so
that paint shows every row there is to see. A headless app renders every line but does not write
to a terminal, so a real terminal adds the writing of one screen (a few ms at 120x40). Medians
over the repeats, with the spread, and the process's CPU time over the same span (on a busy
machine the wall time includes waiting for a core; the CPU time is what the step costs).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from textual.coordinate import Coordinate

from core.store import Store
from core.store.run_listing import RunListing
from mlloop_tui.app import MlloopApp
from mlloop_tui.run_filter import parse_filter
from mlloop_tui.screens.runs import FIRST_READ
from mlloop_tui.widgets.runs_table import RunsTable

METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss")
MODELS = ("dummy", "glm", "linear", "tree", "forest", "boosting")
PARAMS = (
    '{"strategy": "prior"}',
    "{}",
    '{"C": 1.0}',
    '{"max_depth": 5}',
    '{"n_estimators": 200}',
    '{"learning_rate": 0.1, "max_iter": 100}',
)
VERSIONS = {
    "python": "3.11.7",
    "mlloop-tui": "0.1.0",
    "scikit-learn": "1.5.2",
    "statsmodels": "0.14.4",
    "pandas": "2.2.3",
    "numpy": "2.1.3",
    "duckdb": "1.1.3",
    "joblib": "1.4.2",
}
FILTER = "model:tree accuracy>0.7"


def fill(store: Store, n_runs: int, folds: int = 5) -> None:
    """Synthetic but complete runs, written in bulk (the benchmark is about reading)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    with store.write() as con:
        con.execute("""INSERT INTO datasets BY NAME SELECT 1 AS id, 'bench' AS name, 'bench.csv' AS source,
                       'csv' AS format, 'utf-8' AS encoding, 'h' AS file_hash, 1000 AS n_rows, 10 AS n_cols,
                       'y' AS target, 'c9' AS target_storage, 'binary' AS task, '["a","b"]' AS classes,
                       0.2 AS test_size, 0 AS split_seed, 800 AS n_dev, 200 AS n_test, 0 AS n_unlabeled,
                       'ds_1' AS data_table, '[]' AS notes, 0 AS created_at""")
        ids = np.arange(1, n_runs + 1)
        runs = pd.DataFrame(
            {
                "id": ids,
                "group_id": (ids - 1) // 6 + 1,
                "dataset_id": 1,
                "model": [MODELS[i % 6] for i in range(n_runs)],
                "params": [PARAMS[i % 6] for i in range(n_runs)],
                "folds": folds,
                "repeats": 1,
                "seed": 0,
                "status": "done",
                "pid": None,
                "host": None,
                "created_at": 1.7e9,
                "started_at": 1.7e9,
                "finished_at": 1.7e9 + 3,
                "heartbeat_at": 1.7e9 + 3,
                "duration_s": rng.uniform(0.1, 30, n_runs),
                "versions": json.dumps(VERSIONS),
                "dataset_hash": "h",
                "folds_hash": "f",
                "error": None,
                "warnings": "[]",
            }
        )
        con.register("runs_df", runs)
        con.execute("INSERT INTO runs BY NAME SELECT * FROM runs_df")
        fr = pd.DataFrame({"run_id": np.repeat(ids, folds), "fold_index": np.tile(np.arange(folds), n_runs)})
        fr = fr.assign(repeat=0, fold=fr.fold_index, n_train=800, n_val=200, fit_time=0.1, score_time=0.01)
        con.register("fr_df", fr)
        con.execute("INSERT INTO fold_results BY NAME SELECT * FROM fr_df")
        fs = fr[["run_id", "fold_index"]].merge(pd.DataFrame({"metric": METRICS}), how="cross")
        fs = fs.assign(train=rng.uniform(0.5, 1, len(fs)), validation=rng.uniform(0.5, 1, len(fs)))
        con.register("fs_df", fs)
        con.execute("INSERT INTO fold_scores BY NAME SELECT * FROM fs_df")


class PaintClock:
    """When the compositor paints the table, and what the table showed at that moment."""

    def __init__(self, table: RunsTable) -> None:
        self.paints: list[tuple[float, float, int, str | None]] = []
        render_lines = table.render_lines

        def timed_render_lines(crop):
            lines = render_lines(crop)
            top = str(table.get_cell_at(Coordinate(0, 1))) if table.row_count else None
            self.paints.append((time.perf_counter(), time.process_time(), table.row_count, top))
            return lines

        table.render_lines = timed_render_lines  # the compositor calls it on the instance

    def first(self, since: tuple[float, float], condition) -> tuple[float, float]:
        """Wall and CPU time (of the whole process) from ``since`` to the first paint that meets ``condition``."""
        t, cpu = next((t, cpu) for t, cpu, *state in self.paints if t >= since[0] and condition(*state))
        return t - since[0], cpu - since[1]


def now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


async def settle(pilot) -> None:
    """Until the app has nothing left to do (a paint included)."""
    await pilot.pause()
    await pilot.pause(0.05)


async def measure(store: Store) -> dict[str, tuple[float, float] | int]:
    out = {}
    n_runs = RunListing.read(store).count
    start = now()
    app = MlloopApp(store, poll_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        clock = PaintClock(table)
        while table.run_count < n_runs:  # the screen reads the store in a worker: newest runs first
            await pilot.pause(0.01)
        await settle(pilot)
        # end to end, as a user sees it: app start, store read in the worker, table painted
        out["open, app start to first paint"] = clock.first(start, lambda rows, top: rows > 0)
        out["open, app start to every run listed"] = clock.first(start, lambda rows, top: rows == n_runs)

        start = now()
        RunListing.read(store, limit=FIRST_READ).close()
        out["open: read newest screenful (worker)"] = time.perf_counter() - start[0], time.process_time() - start[1]
        start = now()
        listing = RunListing.read(store)
        out["full read (worker)"] = time.perf_counter() - start[0], time.process_time() - start[1]
        table.set_listing(RunListing.from_records([]))
        await settle(pilot)

        start = now()
        table.set_listing(listing)
        await settle(pilot)
        out["open: show + first paint"] = clock.first(start, lambda rows, top: rows == n_runs)

        polled = RunListing.read(store)  # a poll: a new listing, nothing changed
        start = now()
        table.set_listing(polled)
        out["poll, nothing changed (set_listing)"] = time.perf_counter() - start[0], time.process_time() - start[1]
        await settle(pilot)

        acc = next(i for i, c in enumerate(table.columns_spec) if c.key == "m:accuracy")
        best = str(polled.order([], "m:accuracy", True)[0])
        start = now()
        table.sort_by(acc, descending=True)
        await settle(pilot)
        out["sort by accuracy"] = clock.first(start, lambda rows, top: top == best)

        start = now()
        table.set_filter(parse_filter(FILTER, set(table.metric_names)))
        await settle(pilot)
        n = table.row_count
        out[f"filter {FILTER}"] = clock.first(start, lambda rows, top: rows == n)
        out["rows after filter"] = n

        start = now()
        table.set_filter(None)  # the cursor's run (the first filtered one) is near the top
        await settle(pilot)
        out["clear filter"] = clock.first(start, lambda rows, top: rows == n_runs)

        table.set_filter(parse_filter(FILTER, set(table.metric_names)))
        await settle(pilot)
        table.move_cursor(row=n - 1)
        await settle(pilot)
        start = now()
        table.set_filter(None)  # the cursor's run is far down
        await settle(pilot)
        out["clear filter, cursor far down"] = clock.first(start, lambda rows, top: rows == n_runs)
    return out


def main(n_runs: int = 100_000, repeats: int = 3) -> None:
    store = Store(Path(tempfile.mkdtemp(prefix="mlloop-bench-")) / "s.duckdb")
    fill(store, n_runs)
    runs = [asyncio.run(measure(store)) for _ in range(repeats)]
    print(f"{n_runs} runs, {repeats} repeats: median (min-max) wall time; median CPU time of the process")
    for name in runs[0]:
        values = [run[name] for run in runs]
        if name == "rows after filter":
            print(f"{name:40s} {values[0]:8d}")
        else:
            wall = [v[0] * 1000 for v in values]
            cpu = statistics.median(v[1] * 1000 for v in values)
            print(f"{name:40s} {statistics.median(wall):8.0f} ms  ({min(wall):.0f}-{max(wall):.0f})  cpu {cpu:6.0f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
