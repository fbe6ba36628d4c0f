"""``mlloop run --sample N``: recorded and shown (show, --json, export), carried by --like, the memory cap's
note, and bad input (exit 2, one line, nothing stored)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.data.importing import import_dataset
from core.store import Store
from mlloop_tui.cli import main
from tests.conftest import run_mlloop
from tests.core.test_ranking import ranking_frame
from tests.test_cli import _snapshot


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """The binary dataset (192 development rows), a ranking one and a regression one, no runs."""
    from tests.conftest import write_binary_csv

    folder = tmp_path_factory.mktemp("sample")
    store = Store(folder / "s.duckdb")
    import_dataset(store, write_binary_csv(folder / "binary.csv"), "label")
    ranking_frame().to_csv(folder / "queries.csv", index=False)
    import_dataset(store, folder / "queries.csv", "relevance", task="ranking", group="qid")
    pd.DataFrame({"x": range(40), "y": [i * 0.5 + i % 3 for i in range(40)]}).to_csv(folder / "reg.csv", index=False)
    import_dataset(store, folder / "reg.csv", "y", task="regression")
    return store.path


def test_a_sampled_run_is_recorded_shown_exported_and_carried_by_like(tmp_path, binary_csv):
    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    n_dev = json.loads(run_mlloop("datasets", "binary", "--json", store=db).stdout)["dev_rows"]
    line = f"fitted on a sample of 100 of {n_dev} development rows (seed 3, stratified)"

    r = run_mlloop("run", "binary", "--models", "dummy", "--cv", "4", "--seed", "3", "--sample", "100", store=db)
    assert r.returncode == 0, r.stderr
    assert f"group 1: {line}" in r.stderr
    assert line in run_mlloop("show", "1", store=db).stdout
    shown = json.loads(run_mlloop("show", "1", "--json", store=db).stdout)["sample"]
    assert [shown[k] for k in ("size", "rows", "of", "seed", "how")] == [100, 100, n_dev, 3, "stratified"]
    assert sum(shown["strata"].values()) == 100 and shown["note"] is None and shown["text"] == line
    assert run_mlloop("export", "1", "-o", str(tmp_path / "run.md"), store=db).returncode == 0
    assert line in (tmp_path / "run.md").read_text()

    like = run_mlloop("run", "binary", "--like", "1", "--json", store=db)
    assert like.returncode == 0, like.stderr
    assert json.loads(like.stdout)[0]["sample"] == shown
    whole = run_mlloop("run", "binary", "--like", "1", "--sample", "all", "--json", store=db)
    assert json.loads(whole.stdout)[0]["sample"] is None


def test_the_memory_cap_prints_its_note(tmp_path, binary_csv):
    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    r = run_mlloop("run", "binary", "--models", "dummy", "--cv", "3", store=db, env={"MLLOOP_MEMORY_BUDGET": "4800"})
    assert r.returncode == 0, r.stderr
    assert "note: the " in r.stderr and "over the memory budget of 4,800 bytes ($MLLOOP_MEMORY_BUDGET)" in r.stderr
    assert "fitted on a sample of 50 rows (--sample all fits every row)" in r.stderr
    note = json.loads(run_mlloop("show", "1", "--json", store=db).stdout)["sample"]["note"]
    assert note is not None and "memory budget" in note


def test_run_memory_sets_the_budget_of_the_sample_and_of_the_workers(tmp_path, binary_csv):
    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    r = run_mlloop("run", "binary", "--models", "dummy", "--cv", "3", "--jobs", "2", "--memory", "4800", store=db)
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2, r.stderr
    assert notes[0].startswith("note: 2 worker processes need about") and notes[0].endswith(
        "over the memory budget of 4,800 bytes (--memory): every fold runs in this process"
    )
    assert "over the memory budget of 4,800 bytes (--memory): fitted on a sample of 50 rows" in notes[1]
    roomy = run_mlloop("run", "binary", "--models", "dummy", "--cv", "3", "--jobs", "2", "--memory", "2GB", store=db)
    assert roomy.returncode == 0 and "note:" not in roomy.stderr, roomy.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["binary", "--sample", "0"], "positive number of rows"),
        (["binary", "--sample", "-5"], "positive number of rows"),
        (["binary", "--sample", "lots"], "--sample must be a number of rows or 'all'"),
        (["binary", "--sample", "100000"], "is more than the"),
        (["binary", "--sample", "9"], "below 5 folds × 2 classes"),
        (["binary", "--sample", "3", "--cv", "2"], "below 2 folds × 2 classes"),
        (["queries", "--sample", "7"], "takes 2 groups"),
        (["reg", "--sample", "3"], "--sample 3 is below the 5 folds"),
        (["binary", "--memory", "lots"], "--memory: not a size: 'lots'"),
        (["binary", "--memory", "0"], "--memory must be more than nothing"),
    ],
)
def test_bad_samples_exit_2_with_one_line_and_store_nothing(sample_store, capsys, args, fragment):
    before = _snapshot(sample_store)
    with pytest.raises(SystemExit) as exit_info:
        main(["--store", str(sample_store), "run", *args, "--models", "dummy"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlloop: error:") and "Traceback" not in err, err
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert _snapshot(sample_store) == before
