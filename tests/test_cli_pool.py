"""`mlloop run A B ...` (several datasets, one pool), a run's cost beside its group's wall time in
`runs`, `show` and their JSON, and `--queue` (one group at a time on a store)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from core.data.importing import import_dataset
from core.report.formatting import seconds
from core.store.runs import list_runs
from tests.conftest import mlloop_main


def test_run_on_two_datasets_makes_a_group_each_and_reports_cost_and_group_wall(
    store, binary_csv, regression_csv, capsys
):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    assert mlloop_main(store, "run", "binary", "regression", "--models", "dummy,tree", "--cv", "3", "--json") == 0
    runs = json.loads(capsys.readouterr().out)
    assert {(r["dataset"], r["model"], r["status"]) for r in runs} == {
        (d, m, "done") for d in ("binary", "regression") for m in ("dummy", "tree")
    }
    assert len({r["group"] for r in runs}) == 2
    for r in runs:
        assert r["cost_s"] == pytest.approx(sum(f["fit_time"] + f["score_time"] for f in r["folds"]))
        assert 0 < r["cost_s"] and 0 < r["group_wall_s"]
    assert mlloop_main(store, "show", str(runs[0]["id"]), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["cost_s"], shown["group_wall_s"]) == (runs[0]["cost_s"], runs[0]["group_wall_s"])
    assert mlloop_main(store, "runs") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[-3:] == ["cost", "group", "wall"]
    dummy = next(r for r in runs if r["model"] == "dummy")
    line = next(row for row in rows if row.split()[0] == str(dummy["id"]))
    assert line.split()[-2:] == [seconds(dummy["cost_s"]), seconds(dummy["group_wall_s"])]


def test_several_datasets_with_bad_input_exit_2_and_store_nothing(store, binary_csv, regression_csv, capsys):
    import_dataset(store, binary_csv, "label")
    import_dataset(store, regression_csv, "y")
    capsys.readouterr()
    for args, fragment in [
        (["binary", "regression", "binary"], "'binary' is given twice"),
        (["binary", "nope"], "nope"),
        (["binary", "regression", "--like", "1"], "--like RUN runs on one dataset"),
    ]:
        assert mlloop_main(store, "run", *args, "--models", "dummy") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0]
    assert list_runs(store) == []


def _child(store, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mlloop_tui", "--store", str(store.path), "run", "binary", "--queue", "--jobs", "1"]
    return subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _groups(store) -> dict[int, list]:
    out: dict[int, list] = {}
    for r in list_runs(store):
        out.setdefault(r.group_id, []).append(r)
    return out


def _wait(condition, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.1)


def test_queued_runs_wait_for_the_group_before_them_and_can_be_cancelled_while_waiting(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    first = _child(store, "--models", "forest", "--cv", "10", "--repeats", "3")
    _wait(lambda: [r.status for r in _groups(store).get(1, [])] == ["running"])
    second = _child(store, "--models", "dummy", "--cv", "3")
    third = _child(store, "--models", "tree", "--cv", "3")
    _wait(lambda: len(_groups(store)) == 3)
    groups = _groups(store)
    assert [r.status for r in groups[1]] == ["running"]  # the forest still fits: both others wait, shown queued
    assert [r.status for r in groups[2] + groups[3]] == ["queued", "queued"]
    waiting = groups[2][0] if groups[2][0].pid == third.pid else groups[3][0]
    third.send_signal(signal.SIGINT)  # cancel one while it waits
    assert third.wait(timeout=60) == 130
    assert third.stderr.read().splitlines()[-1] == "mlloop: cancelled: finished folds are kept"  # no "error"
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.wait(timeout=300) == 0, second.stderr.read()
    runs = {r.id: r for r in list_runs(store)}
    assert runs[waiting.id].status == "cancelled" and runs[waiting.id].n_folds_done == 0
    (forest,) = _groups(store)[1]
    (dummy,) = [r for r in runs.values() if r.pid == second.pid]
    assert dummy.status == "done" and dummy.started_at >= forest.finished_at  # it started once the forest was done
    assert dummy.duration_s < forest.duration_s  # its time counts from its start, not from the wait


def test_a_curve_and_a_test_evaluation_with_queue_wait_for_the_group_at_work(store, binary_csv):
    """The app's curves and test evaluations (`--queue`) fit after the group that works, not beside it."""
    from core.analysis.curves import load_curve
    from core.analysis.holdout import list_test_evaluations

    import_dataset(store, binary_csv, "label")
    assert mlloop_main(store, "run", "binary", "--models", "tree", "--cv", "3") == 0
    (tree,) = list_runs(store)
    first = _child(store, "--models", "forest", "--cv", "10", "--repeats", "3")
    _wait(lambda: [r.status for r in _groups(store).get(2, [])] == ["running"])
    base = [sys.executable, "-m", "mlloop_tui", "--store", str(store.path)]
    asked = [
        subprocess.Popen([*base, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for args in (["curve", str(tree.id), "--queue", "--jobs", "1"], ["test", str(tree.id), "--yes", "--queue"])
    ]
    time.sleep(3)  # long enough for either to fit on 240 rows, were it not waiting
    assert [p.poll() for p in asked] == [None, None] and first.poll() is None
    assert load_curve(store, tree.id, "learning") is None and list_test_evaluations(store) == []
    assert first.wait(timeout=300) == 0, first.stderr.read()
    for p in asked:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    (forest,) = _groups(store)[2]
    (evaluation,) = list_test_evaluations(store)
    assert evaluation.created_at >= forest.finished_at
    assert load_curve(store, tree.id, "learning") is not None
