"""Shared fixtures: a real DuckDB store under tmp_path and small real datasets."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.store import Store

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_data"

# Each import starts a background data-quality check (mlloop_tui.background); hundreds of tests
# import, and a checker each would only compete for the CPU. tests/core/test_trust.py turns it on.
os.environ.setdefault("MLLOOP_BACKGROUND_CHECKS", "0")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.duckdb")


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def write_binary_csv(path: Path) -> Path:
    """A small binary problem with a categorical column and missing values."""
    rng = np.random.default_rng(0)
    n = 240
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    logit = 1.5 * x1 - x2 + (color == "red") * 0.8
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame = pd.DataFrame({"x1": x1.round(4), "x 2": x2.round(4), "color": color, "label": y})
    frame.loc[rng.choice(n, 15, replace=False), "x1"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "color"] = np.nan
    return write_csv(path, frame)


@pytest.fixture
def binary_csv(tmp_path: Path) -> Path:
    return write_binary_csv(tmp_path / "binary.csv")


@pytest.fixture
def regression_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 200
    a = rng.normal(size=n)
    b = rng.uniform(-2, 2, size=n)
    kind = rng.choice(["p", "q"], size=n)
    y = 3 * a - b**2 + (kind == "p") * 2 + rng.normal(scale=0.5, size=n)
    frame = pd.DataFrame({"a": a.round(4), "b": b.round(4), "kind": kind, "y": y.round(4)})
    return write_csv(tmp_path / "regression.csv", frame)


def run_mlloop(*args: str, store: Path | None = None, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """The real ``mlloop`` command in a subprocess, as a user would run it."""
    env = {**os.environ, **kwargs.pop("env", {})}
    env.pop("MLLOOP_DEBUG", None)
    cmd = [sys.executable, "-m", "mlloop_tui"] + (["--store", str(store)] if store else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=kwargs.pop("cwd", None))


def mlloop_main(store: Store, *args: str) -> int:
    """``mlloop --store STORE ARGS...`` in this process (its output for capsys); its exit code."""
    from mlloop_tui.cli import main

    try:
        return main(["--store", str(store.path), *args])
    except SystemExit as e:
        return int(e.code or 0)


def make_runs_store(path: Path, csv: Path, target: str, models: str = "dummy,linear,tree") -> Store:
    """A store with one imported dataset and one group of finished runs, with fixed timings
    so that screens showing durations are deterministic."""
    from core.data.importing import import_dataset
    from core.modeling.evaluation import run_baselines

    store = Store(path)
    import_dataset(store, csv, target)
    run_baselines(store, csv.stem, models, folds=3, jobs=1)
    with store.write() as con:
        con.execute(
            "UPDATE runs SET duration_s = 0.5 + id / 10, created_at = 1.7e9, started_at = 1.7e9, "
            "finished_at = 1.7e9 + 0.5 + id / 10"
        )
        con.execute("UPDATE fold_results SET fit_time = run_id / 100, score_time = 0.001")  # each run's cost
    return store


@pytest.fixture
def runs_store(tmp_path: Path, binary_csv: Path) -> Store:
    return make_runs_store(tmp_path / "runs.duckdb", binary_csv, "label")


@contextmanager
def local_cluster(n_workers: int, **options: Any) -> Iterator[Any]:
    """A real Dask ``LocalCluster`` on loopback with ``n_workers`` single-threaded worker processes
    (and any other ``LocalCluster`` options); skips the test when the cluster extra is not installed."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")
    with distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
        **options,
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two workers, shared by a module's tests (a test that kills one gets a new one from the nanny)."""
    with local_cluster(2) as c:
        yield c
