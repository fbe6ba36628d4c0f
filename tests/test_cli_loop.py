"""The ML-loop commands: curve, diagnose, tune, test and target — happy paths, --json, and bad input."""

from __future__ import annotations

import json

import pytest

from core.data.importing import import_dataset
from core.modeling.evaluation import run_baselines
from core.store import Store
from mlloop_tui.cli import main
from tests.conftest import run_mlloop
from tests.core import loop_data
from tests.test_cli import _assert_clean_failure, _snapshot


@pytest.fixture(scope="module")
def loop_store(tmp_path_factory):
    """A store with the depth-2 dataset and a dummy and an unpruned tree run (ids 1 and 2)."""
    folder = tmp_path_factory.mktemp("loop")
    store = Store(folder / "loop.duckdb")
    import_dataset(store, loop_data.depth2(folder), "y")
    assert run_baselines(store, "depth2", "dummy,tree", folds=3) == [1, 2]
    return store.path


def _json(r):
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_loop_from_the_command_line(tmp_path):
    db = tmp_path / "s.duckdb"
    store = Store(db)
    import_dataset(store, loop_data.depth2(tmp_path), "y")
    dummy, tree = run_baselines(store, "depth2", "dummy,tree", folds=3)

    curve = _json(run_mlloop("curve", str(tree), "--json", "--jobs", "2", store=db))
    assert curve["kind"] == "learning" and curve["complete"] and curve["computed"] == curve["points_total"]
    assert 5 <= len(curve["settings"]) <= 8 and {"accuracy", "roc_auc"} <= set(curve["settings"][0]["metrics"])
    again = run_mlloop("curve", str(tree), store=db)
    assert again.returncode == 0 and "all read from the store" in again.stdout and "train_size" in again.stdout

    vcurve = _json(run_mlloop("curve", str(tree), "--validation", "--json", "--jobs", "2", store=db))
    assert vcurve["param"] == "max_depth" and vcurve["best"]["value"] == 2 and vcurve["current"]["label"] == "None"
    text = run_mlloop("curve", str(tree), "--validation", "--param", "max_depth", "--values", "1,2,null", store=db)
    assert text.returncode == 0 and "best" in text.stdout and "this run" in text.stdout

    d = _json(run_mlloop("diagnose", str(tree), "--json", store=db))
    assert d["bottleneck"] in {"training", "validation", "test", "none"}
    assert {
        "train_error",
        "validation_error",
        "avoidable_bias",
        "variance",
        "threshold",
        "reference",
        "dummy",
        "more_data_helps",
        "advice",
    } <= set(d)
    assert d["dummy"]["run"] == dummy and d["learning_curve"]["size"] == curve["settings"][-1]["x"]
    assert d["advice"] and all(a["text"] for a in d["advice"])
    assert d["bottleneck"] == "validation"  # an unpruned tree on labels with 10% flipped
    regularise = next(a for a in d["advice"] if a["kind"] == "regularise")
    assert (
        regularise["numbers"]["max_depth"] == 2 and regularise["command"] == f"mlloop tune {tree} --param max_depth=2"
    )
    shown = run_mlloop("diagnose", str(tree), store=db)
    assert shown.returncode == 0 and f"bottleneck {d['bottleneck']}" in shown.stdout
    assert "Next steps" in shown.stdout and f"$ {regularise['command']}" in shown.stdout  # numbered, to be copied

    search = _json(run_mlloop("tune", str(tree), "--param", "max_depth=1,2,null", "--json", "--jobs", "2", store=db))
    assert [c["params"]["max_depth"] for c in search["candidates"]] == [1, 2, None]
    assert len({c["run"] for c in search["candidates"]}) == 3 and search["base_run"] == tree
    best = next(c for c in search["candidates"] if c["run"] == search["best_run"])
    assert best["params"]["max_depth"] == 2
    runs = _json(run_mlloop("runs", "--json", store=db))
    assert len({r["group"] for r in runs if r["id"] in {c["run"] for c in search["candidates"]}}) == 1

    first = _json(run_mlloop("test", str(search["best_run"]), "--yes", "--json", store=db))
    assert first["evaluation_number"] == 1 and first["warning"] is None and 0.5 < first["scores"]["accuracy"] <= 1
    second = run_mlloop("test", str(tree), "--yes", store=db)
    assert second.returncode == 0 and "evaluation 2" in second.stdout
    assert "no longer an unbiased estimate" in second.stderr

    target = _json(run_mlloop("target", "depth2", "0.92", "--note", "the rule is known", "--json", store=db))
    assert target["metric"] == "accuracy" and target["error"] == pytest.approx(0.08)
    assert "accuracy 0.92" in run_mlloop("target", "depth2", store=db).stdout
    d = _json(run_mlloop("diagnose", str(tree), "--json", store=db))
    assert d["reference"]["source"] == "target" and d["test"]["evaluation"] is not None
    assert _json(run_mlloop("target", "depth2", "--clear", "--json", store=db)) == {"cleared": True}


def test_test_needs_a_confirmation_without_a_terminal(loop_store):
    before = _snapshot(loop_store)
    _assert_clean_failure(run_mlloop("test", "2", store=loop_store), "confirm with --yes")
    assert _snapshot(loop_store) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["diagnose", "999"], "no run"),
        (["curve", "999"], "no run"),
        (["curve", "abc"], "run id"),
        (["tune", "2", "--param", "max_depth"], "NAME=V1,V2"),
        (["tune", "2", "--param", "max_depth="], "NAME=V1,V2"),
        (["tune", "2", "--param", "depth=1,2"], "unknown parameter 'depth'"),
        (["tune", "2", "--param", "max_depth=deep,3"], "max_depth"),
        (["tune", "2", "--param", "max_depth=[1,2]"], "max_depth"),
        (["tune", "2", "--param", "max_depth=1", "--param", "max_depth=2"], "twice"),
        (["tune", "2", "--param", "max_depth=1,,2"], "empty value"),
        (["tune", "2", "--param", "max_depth=1,2", "--random", "0"], "positive"),
        (["tune", "1", "--param", "strategy=uniform,bogus"], "strategy"),
        (["curve", "2", "--validation", "--values", "1,x"], "max_depth"),
        (["curve", "1", "--validation"], "no complexity knob"),
        (["curve", "2", "--sizes", "ten"], "whole number"),
        (["curve", "2", "--sizes", "100000"], "outside"),
        (["curve", "2", "--param", "max_depth"], "--validation"),
        (["curve", "2", "--metric", "rmse"], "unknown metric"),
        (["test", "999", "--yes"], "no run"),
        (["target", "nosuch", "0.9"], "no dataset"),
        (["target", "depth2", "abc"], "must be a number"),
        (["target", "depth2", "1.5"], "at most 1"),
        (["target", "depth2", "0.9", "--metric", "rmse"], "unknown metric"),
        (["target", "depth2", "0.9", "--clear"], "not both"),
    ],
)
def test_bad_loop_commands_exit_2_with_one_line_and_change_nothing(loop_store, capsys, args, fragment):
    """In-process (the same ``main`` as the console script) to keep the many cases fast."""
    before = _snapshot(loop_store)
    with pytest.raises(SystemExit) as exit_info:
        main(["--store", str(loop_store), *args])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlloop: error:") and "Traceback" not in err, err
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert _snapshot(loop_store) == before


def test_tune_without_param_is_a_usage_error(loop_store):
    _assert_clean_failure(run_mlloop("tune", "2", store=loop_store), "--param")
