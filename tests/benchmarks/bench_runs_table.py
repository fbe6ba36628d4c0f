"""The runs table with 10,000 runs: open (read + fill), sort, and filter, each timed."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.runs import list_runs
from core.store import Store
from mlloop_tui.app import MlloopApp
from mlloop_tui.run_filter import parse_filter
from mlloop_tui.widgets.runs_table import RunsTable

METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss")
MODELS = ("dummy", "glm", "linear", "tree", "forest", "boosting")


def fill(store: Store, n_runs: int, folds: int = 5) -> None:
    """Synthetic but complete runs, written in bulk (the benchmark is about reading)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    with store.write() as con:
        con.execute("""INSERT INTO datasets VALUES (1, 'bench', 'bench.csv', 'csv', 'utf-8', 'h', 1000, 10, 'y',
                       'c9', 'binary', '["a","b"]', 0.2, 0, 800, 200, 0, 'ds_1', '[]', 0)""")
        ids = np.arange(1, n_runs + 1)
        runs = pd.DataFrame({
            "id": ids, "group_id": (ids - 1) // 6 + 1, "dataset_id": 1,
            "model": [MODELS[i % 6] for i in range(n_runs)], "params": "{}", "folds": folds, "repeats": 1,
            "seed": 0, "status": "done", "pid": None, "host": None, "created_at": 1.7e9, "started_at": 1.7e9,
            "finished_at": 1.7e9 + 3, "heartbeat_at": 1.7e9 + 3, "duration_s": rng.uniform(0.1, 30, n_runs),
            "versions": json.dumps({"python": "3.11"}), "dataset_hash": "h", "folds_hash": "f", "error": None,
            "warnings": "[]",
        })
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


async def measure(store: Store) -> dict[str, float]:
    out = {}
    app = MlloopApp(store, poll_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(RunsTable)
        start = time.perf_counter()
        records = list_runs(store)
        read = time.perf_counter() - start
        table.set_records([])
        await pilot.pause()
        start = time.perf_counter()
        table.set_records(records)
        await pilot.pause()
        out["open (read store)"] = read
        out["open (fill table + paint)"] = time.perf_counter() - start
        acc = next(i for i, c in enumerate(table.columns_spec) if c.key == "m:accuracy")
        start = time.perf_counter()
        table.sort_by(acc, descending=True)
        await pilot.pause()
        out["sort by accuracy"] = time.perf_counter() - start
        start = time.perf_counter()
        table.set_filter(parse_filter("model:tree accuracy>0.7", set(table.metric_names)))
        await pilot.pause()
        out["filter model:tree accuracy>0.7"] = time.perf_counter() - start
        out["rows after filter"] = len(table.shown_ids)
    return out


def main(n_runs: int = 10_000) -> None:
    store = Store(Path(tempfile.mkdtemp(prefix="mlloop-bench-")) / "s.duckdb")
    fill(store, n_runs)
    for name, value in asyncio.run(measure(store)).items():
        print(f"{name:32s} {value * 1000:8.0f} ms" if name != "rows after filter" else f"{name:32s} {value:8d}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
