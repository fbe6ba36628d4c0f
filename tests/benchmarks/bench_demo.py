"""The demo: time to the first fold in the store and to all of its runs done, in the app and with --no-tui.

Each measurement starts from an empty store (the samples' import included) in a process of its own:
`mlloop demo --no-tui`, and the app (MlloopApp(load_samples=True), headless under App.run_test())
until every run has ended. A watcher reads the store every 0.5 s (the app reads it every second).
With a second checkout (OTHER, e.g. the code before a change: `git archive BASE | tar -x -C DIR`)
both checkouts are measured side by side, order alternated, median of REPEATS. Besides the times it
prints what the runs cost: the sum of every fold's fit and score times, over the cores, is the floor
for the whole demo; and the most any dummy run's time reads (its duration_s, from its group's start
to its end) beside the most any dummy cost (its folds' fit and score times). The data-quality
checker is off (MLLOOP_BACKGROUND_CHECKS=0) on both sides.
Usage: bench_demo.py [REPEATS] [OTHER]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTIVE = ("queued", "running")
POLL_S = 0.5


def main(repeats: int = 3, other: str | None = None) -> None:
    checkouts = {"this": ROOT} | ({"other": Path(other).resolve()} if other else {})
    sides = [(name, how) for name in checkouts for how in ("no-tui", "app")]
    print(f"{os.cpu_count()} cores; load average before: {_load()}")
    results: dict[tuple[str, str], list[dict]] = {side: [] for side in sides}
    for i in range(repeats):
        for name, how in sides if i % 2 == 0 else list(reversed(sides)):
            results[name, how].append(_measure(checkouts[name], how))
    for (name, how), runs in results.items():
        first = statistics.median(r["first"] for r in runs)
        done = statistics.median(r["done"] for r in runs)
        floor = statistics.median(r["fold_s"] for r in runs) / (os.cpu_count() or 1)
        each = ", ".join("{first:.1f}/{done:.1f}".format(**r) for r in runs)
        print(
            f"{name:5s} {how:6s}: first fold {first:5.1f} s, all {runs[0]['runs']} runs done {done:5.1f} s "
            f"(each: {each}); folds' fit+score / cores "
            f"{floor:.1f} s; a dummy: duration up to {max(r['dummy_duration'] for r in runs):.1f} s, "
            f"cost up to {max(r['dummy_cost'] for r in runs):.2f} s"
        )
    if other:
        for how in ("no-tui", "app"):
            mine, theirs = (statistics.median(r["done"] for r in results[n, how]) for n in ("this", "other"))
            print(f"{how}: this / other = {mine / theirs:.2f} ({mine:.1f} s / {theirs:.1f} s)")
    print(f"load average after: {_load()}")


def _measure(checkout: Path, how: str) -> dict:
    """One demo from an empty store: seconds to the first fold and to all runs ended, and what they cost."""
    store = Path(tempfile.mkdtemp(prefix="mlloop-bench-demo-")) / "demo.duckdb"
    env = {**os.environ, "MLLOOP_BACKGROUND_CHECKS": "0", "PYTHONPATH": str(checkout)}
    if how == "no-tui":
        cmd = [sys.executable, "-m", "mlloop_tui", "--store", str(store), "demo", "--no-tui"]
    else:
        cmd = [sys.executable, __file__, "--app", str(checkout), str(store)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    while True:
        ended = proc.poll() is not None
        state = _state(store)
        if first is None and state and state["folds"] > 0:
            first = time.monotonic() - start
        if ended:
            break
        time.sleep(POLL_S)
    done = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{how} in {checkout} failed: {proc.stderr.read().decode()[-2000:]}")
    state = _state(store)
    assert state and state["active"] == 0 and first is not None, state
    return {"first": first, "done": done, **state}


def _state(store: Path) -> dict | None:
    """The store's runs and folds, read as another process would (raw SQL: both checkouts' tables)."""
    import duckdb

    if not store.exists():
        return None
    mark = store.with_name(store.name + ".reader-waiting")  # a run holding the file lets it go (held_writes)
    con = None
    for _ in range(10):
        try:
            con = duckdb.connect(str(store), read_only=True)
            break
        except duckdb.Error:
            mark.touch()
            time.sleep(0.02)
    mark.unlink(missing_ok=True)
    if con is None:
        return None  # the demo is writing: the next look will tell
    try:
        runs, active = con.execute(f"SELECT count(*), count(*) FILTER (WHERE status IN {ACTIVE}) FROM runs").fetchone()
        folds, fold_s = con.execute(
            "SELECT count(*), coalesce(sum(fit_time + score_time), 0) FROM fold_results"
        ).fetchone()
        dummy_duration, dummy_cost = con.execute(
            """SELECT max(r.duration_s), max(c.cost) FROM runs r JOIN (SELECT run_id, sum(fit_time + score_time)
               AS cost FROM fold_results GROUP BY run_id) c ON c.run_id = r.id WHERE r.model = 'dummy'"""
        ).fetchone()
    except duckdb.Error:
        return None  # not created yet
    finally:
        con.close()
    return {
        "runs": runs,
        "active": active,
        "folds": folds,
        "fold_s": fold_s,
        "dummy_duration": dummy_duration or 0.0,
        "dummy_cost": dummy_cost or 0.0,
    }


async def _app_demo(store_path: str) -> None:
    """The app's demo, headless, until every run it started has ended."""
    from core.store import Store
    from core.store.runs import list_runs
    from mlloop_tui.app import MlloopApp

    store = Store(store_path)
    app = MlloopApp(store, load_samples=True)
    async with app.run_test(size=(120, 40)) as pilot:
        while True:
            await pilot.pause(0.5)
            runs = list_runs(store)
            if len(runs) >= 24 and not app.launcher.active() and all(r.status not in ACTIVE for r in runs):
                break


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--app"]:
        import asyncio

        sys.path.insert(0, sys.argv[2])
        asyncio.run(_app_demo(sys.argv[3]))
    else:
        main(*(int(a) if i == 0 else a for i, a in enumerate(sys.argv[1:])))
