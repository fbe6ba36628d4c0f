"""The runs table with 10,000 runs: open (read + fill), sort, and filter, each timed.

Usage: ``python tests/benchmarks/bench_runs_table.py [n_runs] [repeats]`` (10,000 runs, 5 repeats).

Each step is timed from the call until the table is *painted* with the result: the compositor's
call of the table's ``render_lines`` is recorded, and the step's time is the first paint that
shows the new rows. The table adds the rows beyond the first screenful in batches after that
paint, so the time until every row is in the table (and painted) is reported too ("all rows").
A headless app renders every line but does not write to a terminal, so a real terminal adds the
writing of one screen (a few ms at 120x40). Medians over the repeats, with the spread.
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
from core.store.runs import list_runs
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
        con.execute("""INSERT INTO datasets VALUES (1, 'bench', 'bench.csv', 'csv', 'utf-8', 'h', 1000, 10, 'y',
                       'c9', 'binary', '["a","b"]', 0.2, 0, 800, 200, 0, 'ds_1', '[]', 0)""")
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
        con.execute("INSERT INTO runs SELECT * FROM runs_df")
        fr = pd.DataFrame({"run_id": np.repeat(ids, folds), "fold_index": np.tile(np.arange(folds), n_runs)})
        fr = fr.assign(repeat=0, fold=fr.fold_index, n_train=800, n_val=200, fit_time=0.1, score_time=0.01)
        con.register("fr_df", fr)
        con.execute("INSERT INTO fold_results SELECT * FROM fr_df")
        fs = fr[["run_id", "fold_index"]].merge(pd.DataFrame({"metric": METRICS}), how="cross")
        fs = fs.assign(train=rng.uniform(0.5, 1, len(fs)), validation=rng.uniform(0.5, 1, len(fs)))
        con.register("fs_df", fs)
        con.execute("INSERT INTO fold_scores SELECT * FROM fs_df")


class PaintClock:
    """When the compositor paints the table, and what the table held at that moment."""

    def __init__(self, table: RunsTable) -> None:
        self.paints: list[tuple[float, int, int, str | None]] = []
        render_lines = table.render_lines

        def timed_render_lines(crop):
            lines = render_lines(crop)
            top = str(table.get_cell_at(Coordinate(0, 1))) if table.row_count else None
            self.paints.append((time.perf_counter(), table.row_count, table.rows_pending, top))
            return lines

        table.render_lines = timed_render_lines  # the compositor calls it on the instance

    def first(self, since: float, condition) -> float:
        return next(t for t, *state in self.paints if t >= since and condition(*state)) - since


async def settle(pilot, table: RunsTable) -> None:
    """Until every shown row is in the table and the app has nothing left to do."""
    while table.rows_pending:
        await pilot.pause(0.01)
    await pilot.pause()


async def measure(store: Store) -> dict[str, float]:
    out = {}
    n_runs = len(list_runs(store))
    start = time.perf_counter()
    app = MlloopApp(store, poll_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        clock = PaintClock(table)
        while len(table.records) < n_runs:  # the screen reads the store in a worker: newest runs first
            await pilot.pause(0.01)
        await settle(pilot, table)
        # end to end, as a user sees it: app start, store read in the worker, table filled and painted
        out["open, app start to first paint"] = clock.first(start, lambda rows, pending, top: rows > 0)
        out["open, app start to every run painted"] = clock.first(
            start, lambda rows, pending, top: rows == n_runs and not pending
        )

        start = time.perf_counter()
        list_runs(store, limit=FIRST_READ)
        out["open: read newest screenful (worker)"] = time.perf_counter() - start
        start = time.perf_counter()
        records = list_runs(store)
        out["open: read store (worker)"] = time.perf_counter() - start
        table.set_records([])
        await settle(pilot, table)

        start = time.perf_counter()
        table.set_records(records)
        await settle(pilot, table)
        out["open: fill + first paint"] = clock.first(start, lambda rows, pending, top: rows > 0)
        out["open: fill, all rows painted"] = clock.first(start, lambda rows, pending, top: rows and not pending)

        polled = list_runs(store)  # a poll: new record objects, nothing changed
        start = time.perf_counter()
        table.set_records(polled)
        out["poll, nothing changed (set_records)"] = time.perf_counter() - start
        await settle(pilot, table)

        acc = next(i for i, c in enumerate(table.columns_spec) if c.key == "m:accuracy")
        best = str(max(records, key=lambda r: r.summaries["accuracy"].val_mean).id)
        start = time.perf_counter()
        table.sort_by(acc, descending=True)
        await settle(pilot, table)
        out["sort by accuracy"] = clock.first(start, lambda rows, pending, top: top == best)
        out["sort, all rows painted"] = clock.first(start, lambda rows, pending, top: top == best and not pending)

        start = time.perf_counter()
        table.set_filter(parse_filter(FILTER, set(table.metric_names)))
        await settle(pilot, table)
        n = len(table.shown_ids)
        out[f"filter {FILTER}"] = clock.first(start, lambda rows, pending, top: rows and rows + pending == n)
        out["filter, all rows painted"] = clock.first(start, lambda rows, pending, top: rows == n and not pending)
        out["rows after filter"] = n

        start = time.perf_counter()
        table.set_filter(None)  # the cursor's run (the first filtered one) is near the top
        await settle(pilot, table)
        out["clear filter"] = clock.first(start, lambda rows, pending, top: rows and rows + pending == n_runs)
        out["clear filter, all rows painted"] = clock.first(start, lambda rows, pending, top: rows == n_runs)

        table.set_filter(parse_filter(FILTER, set(table.metric_names)))
        await settle(pilot, table)
        table.move_cursor(row=n - 1)
        await settle(pilot, table)
        start = time.perf_counter()
        table.set_filter(None)  # the cursor's run is far down: every row above it is added at once
        await settle(pilot, table)
        out["clear filter, cursor far down"] = clock.first(
            start, lambda rows, pending, top: rows and rows + pending == n_runs
        )
    return out


def main(n_runs: int = 10_000, repeats: int = 5) -> None:
    store = Store(Path(tempfile.mkdtemp(prefix="mlloop-bench-")) / "s.duckdb")
    fill(store, n_runs)
    runs = [asyncio.run(measure(store)) for _ in range(repeats)]
    print(f"{n_runs} runs, {repeats} repeats: median (min-max)")
    for name in runs[0]:
        values = [run[name] for run in runs]
        if name == "rows after filter":
            print(f"{name:36s} {values[0]:8d}")
        else:
            ms = [v * 1000 for v in values]
            print(f"{name:36s} {statistics.median(ms):8.0f} ms  ({min(ms):.0f}-{max(ms):.0f})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
