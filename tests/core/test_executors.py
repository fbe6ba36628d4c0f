"""The local executor: slowest tasks first, each dataset's data loaded once per worker, native threads capped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cloudpickle
import numpy as np
import pandas as pd

from core.modeling.executors import FitTask, LocalExecutor, by_cost, cost_of
from tests.conftest import REPO

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # loky's workers need not import the tests


def _name(X, y, name):
    return name


def test_a_dummy_starts_first_then_the_slowest_model_and_a_spec_before_the_others():
    names = ["dummy", "linear", "tree", "forest", "boosting", "glm", ""]  # "": a model spec
    tasks = [FitTask(_name, {"name": n}, cost_of(n, 100), str) for n in names]
    assert [t.kwargs["name"] for t in by_cost(tasks)] == ["dummy", "", "forest", "boosting", "glm", "linear", "tree"]
    assert cost_of("forest", 1000) > cost_of("forest", 100)  # and the same model on more rows first
    with LocalExecutor(1) as executor:  # in this process, in the order they start
        ran = list(executor.results(tasks, {0: (None, None)}))
    assert ran == ["dummy", "", "forest", "boosting", "glm", "linear", "tree"]


def _inside_a_worker(X, y, index):
    from threadpoolctl import threadpool_info

    threads = {info["internal_api"]: info["num_threads"] for info in threadpool_info()}
    return os.getpid(), id(X), id(y), float(X["a"].sum()), list(X["b"][:2]), threads, index


def test_workers_load_the_data_once_and_cap_native_threads():
    X = pd.DataFrame({"a": np.arange(200_000, dtype=float), "b": ["x", "y"] * 100_000})
    y = pd.Series(np.arange(200_000) % 2)
    tasks = [FitTask(_inside_a_worker, {"index": i}, 1.0, str) for i in range(12)]
    with LocalExecutor(2) as executor:
        seen = list(executor.results(tasks, {0: (X, y)}))
    assert sorted(s[-1] for s in seen) == list(range(12))
    assert {(s[3], tuple(s[4])) for s in seen} == {(float(X["a"].sum()), ("x", "y"))}
    by_worker: dict[int, set[tuple[int, int]]] = {}
    for pid, x_id, y_id, *_ in seen:
        by_worker.setdefault(pid, set()).add((x_id, y_id))
    assert os.getpid() not in by_worker
    assert all(len(objects) == 1 for objects in by_worker.values())  # every task in a worker saw the same X, y
    share = max(1, (os.cpu_count() or 1) // 2)
    assert all(n <= share for s in seen for n in s[5].values())
    assert any(s[5] for s in seen)  # numpy's BLAS at least was there to cap


def _which_data(X, y, index):
    return os.getpid(), id(X), str(X["name"].iloc[0]), int(y.sum()), index


def test_a_batch_of_two_datasets_gives_each_task_its_own_rows_loaded_once_per_worker():
    data = {
        "a": (pd.DataFrame({"name": ["a"] * 50}), pd.Series(np.ones(50, dtype=int))),
        "b": (pd.DataFrame({"name": ["b"] * 80}), pd.Series(np.ones(80, dtype=int))),
    }
    tasks = [FitTask(_which_data, {"index": i}, 1.0, str, "ab"[i % 2]) for i in range(16)]
    with LocalExecutor(2) as executor:
        seen = list(executor.results(tasks, data))
    assert sorted((s[-1], s[2], s[3]) for s in seen) == [(i, "ab"[i % 2], (50, 80)[i % 2]) for i in range(16)]
    objects: dict[tuple[int, str], set[int]] = {}
    for pid, x_id, name, *_ in seen:
        objects.setdefault((pid, name), set()).add(x_id)
    assert all(len(ids) == 1 for ids in objects.values())  # a worker loaded each dataset once


GROWING = r"""
import builtins, json, os, sys, time
from core.modeling.executors import FitTask, LocalExecutor

def grow(X, y):
    # 160 MiB kept per task, as a worker keeps a batch's rows; 1.1 s so loky's check (each second) runs
    builtins.__dict__.setdefault("_kept", []).append(bytearray(160 * 2**20))
    time.sleep(1.1)
    return os.getpid()

with LocalExecutor(2) as executor:
    print(json.dumps(list(executor.results([FitTask(grow, {}, 1.0, str) for _ in range(8)], {0: (None, None)}))))
"""


def test_a_worker_that_keeps_its_rows_is_not_stopped_as_a_leak():
    """loky would stop a worker grown by 300 MB since its first task (and print a warning): ours keep
    a batch's rows by design, and a stopped one would import and load them again."""
    done = subprocess.run([sys.executable, "-c", GROWING], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(set(json.loads(done.stdout))) == 2  # the same two workers ran all eight tasks
    assert "A worker stopped" not in done.stderr
