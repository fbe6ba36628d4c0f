"""Trust warnings: a dataset whose data inflates every score (a leaking column, an identifier, shared
duplicates) marks each of its runs wherever a score is shown, and the diagnosis says to fix the data
first; the check behind them runs in the background after an import and is cached in the store."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.diagnosis import diagnose
from core.analysis.trust import CHECKS_VERSION, check_and_record, check_unchecked, dataset_warnings, needs_checks
from core.data.importing import import_dataset
from core.errors import RunCancelled
from core.modeling.evaluation import run_baselines
from core.report.export import export_runs
from core.report.serialize import run_to_dict
from core.stopping import StopToken
from core.store import Store, quality_checks
from core.store.runs import get_run, list_runs
from tests.conftest import REPO, run_mlloop


def write_birthwt_like(path: Path, n: int = 200) -> Path:
    """Like MASS::birthwt written by R's write.csv: a quoted row-name column first, the rows sorted by
    the target, and the weight the target was derived from (``low = bwt < 2500``) still in the file."""
    rng = np.random.default_rng(3)
    bwt = rng.normal(2900, 700, n).round()
    frame = pd.DataFrame(
        {"age": rng.integers(15, 45, n), "lwt": rng.normal(130, 30, n).round(), "smoke": rng.integers(0, 2, n)}
    )
    frame["bwt"] = bwt
    frame.insert(0, "low", (bwt < 2500).astype(int))
    frame = frame.sort_values("low", kind="stable").reset_index(drop=True)
    frame.index = [str(i + 1) for i in range(n)]
    frame.to_csv(path, index=True, index_label="")
    return path


@pytest.fixture
def leaky(store: Store, tmp_path: Path):
    # --use: the row names are an identifier, which an import leaves out of the features by default
    info = import_dataset(store, write_birthwt_like(tmp_path / "birthwt.csv"), "low", use="column_1")
    run_baselines(store, info.id, "dummy,forest", folds=3, jobs=1)
    return info


def test_runs_carry_no_warning_until_their_dataset_is_checked(store, leaky):
    assert needs_checks(store)
    assert dataset_warnings(store, leaky.id) is None
    assert all(r.data_warnings == () for r in list_runs(store))


def test_a_leaking_column_and_an_identifier_warn_on_every_run_of_the_dataset(store, leaky):
    check_and_record(store, leaky)
    assert not needs_checks(store)
    runs = list_runs(store)
    assert len(runs) == 2
    for r in runs:
        by_column = {w.fix: w.kind for w in r.data_warnings}
        assert by_column["mlloop edit birthwt --drop-columns bwt"] == "leakage"
        # The row names predict the target (the file is sorted by it) and are an identifier.
        assert "mlloop edit birthwt --drop-columns column_1" in by_column
    forest = next(r for r in runs if r.model == "forest")
    d = run_to_dict(get_run(store, forest.id))
    kinds = [w["kind"] for w in d["warnings"]]
    assert "leakage" in kinds
    assert all({"kind", "message"} <= set(w) for w in d["warnings"])


def test_clean_data_gives_no_warning(store, binary_csv):
    info = import_dataset(store, binary_csv, "label")
    run_baselines(store, info.id, "dummy", folds=3, jobs=1)
    check_and_record(store, info)
    assert dataset_warnings(store, info.id) == ()
    assert list_runs(store)[0].data_warnings == ()


def test_the_diagnosis_says_fix_the_data_first_and_names_the_column(store, leaky):
    check_and_record(store, leaky)
    forest = next(r for r in list_runs(store) if r.model == "forest")
    d = diagnose(store, forest.id)
    first = d.advice[0]
    assert first.kind == "fix_data"
    assert "mlloop edit birthwt --drop-columns bwt" in first.text
    assert first.command == "mlloop edit birthwt --drop-columns bwt"
    assert not any(a.kind in ("evaluate_on_test", "done") for a in d.advice)
    assert d.reason.startswith("the data makes every score optimistic")


def test_exports_and_show_say_the_scores_are_not_to_be_trusted(store, leaky, tmp_path):
    check_and_record(store, leaky)
    forest = next(r for r in list_runs(store) if r.model == "forest")
    md = export_runs(store, [forest.id], "md")
    assert "Scores not to be trusted" in md and "mlloop edit birthwt --drop-columns bwt" in md
    shown = run_mlloop("show", str(forest.id), store=store.path)
    assert shown.returncode == 0 and "Scores not to be trusted" in shown.stdout
    listed = run_mlloop("runs", store=store.path)
    assert listed.returncode == 0
    rows = [line for line in listed.stdout.splitlines() if " forest " in line or " dummy " in line]
    assert rows and all(line.startswith("!") for line in rows)
    as_json = json.loads(run_mlloop("runs", "--json", store=store.path).stdout)
    assert all(any(w["kind"] == "leakage" for w in r["warnings"]) for r in as_json)


def test_compare_names_the_problem(store, leaky):
    check_and_record(store, leaky)
    ids = [str(r.id) for r in list_runs(store)]
    out = run_mlloop("compare", *ids, store=store.path)
    assert out.returncode == 0, out.stderr
    assert "Scores not to be trusted" in out.stdout and "leakage" in out.stdout


def test_the_import_command_checks_in_the_background(tmp_path):
    store_path = tmp_path / "s.duckdb"
    csv = write_birthwt_like(tmp_path / "birthwt.csv")
    done = run_mlloop("import", str(csv), "--target", "low", store=store_path, env={"MLLOOP_BACKGROUND_CHECKS": "1"})
    assert done.returncode == 0, done.stderr
    store = Store(store_path)
    end = time.monotonic() + 240
    while (state := quality_checks.state(store, 1)) is None or state.status == "running":
        assert time.monotonic() < end, "the background check did not finish"
        time.sleep(0.5)
    assert state.status == "done" and state.checks_version == CHECKS_VERSION
    warnings = dataset_warnings(store, 1)
    assert warnings is not None and any(w.fix == "mlloop edit birthwt --drop-columns bwt" for w in warnings)


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="Linux autogroups only")
def test_the_background_checker_lowers_its_session_as_well_as_itself():
    """With autogroup scheduling the CPU is shared between sessions first; the checker, a session of its
    own, must lower its autogroup for the user's runs to get the cores first."""
    code = (
        "import os; from mlloop_tui.background import lower_priority; lower_priority(); "
        "print(os.nice(0)); print(open('/proc/self/autogroup').read().strip())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, start_new_session=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    niceness, group = done.stdout.splitlines()
    assert int(niceness) >= 10 and group.endswith("nice 10"), done.stdout


def test_a_cancelled_check_is_claimed_again_and_a_failed_one_is_not(store, binary_csv, tmp_path):
    import_dataset(store, binary_csv, "label")
    stop = StopToken()
    stop.stop()
    with pytest.raises(RunCancelled):
        check_unchecked(store, stop)
    state = quality_checks.state(store, 1)
    assert state is not None and state.status == "cancelled"
    assert needs_checks(store)
    assert check_unchecked(store) == [1]
    assert not needs_checks(store)
    # A check that fails is recorded with its error and not tried again by the next checker.
    with store.write() as con:
        con.execute("UPDATE quality_checks SET status = 'failed', error = 'boom'")
    assert not needs_checks(store)
    assert check_unchecked(store) == []


def test_a_claim_by_a_dead_process_lapses(store, binary_csv):
    import_dataset(store, binary_csv, "label")
    assert quality_checks.claim(store, [1], CHECKS_VERSION) == 1
    assert quality_checks.claim(store, [1], CHECKS_VERSION) is None  # claimed by this live process
    with store.write() as con:
        con.execute("UPDATE quality_checks SET pid = 2147480000")  # no such process
    assert quality_checks.claim(store, [1], CHECKS_VERSION) == 1


def test_asking_for_the_findings_stops_the_background_check_of_that_dataset(store, tmp_path, monkeypatch):
    from mlloop_tui.background import cancel_check, start_checker

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(4000, 30)).round(4), columns=[f"x{i}" for i in range(30)])
    frame["y"] = np.where(frame["x0"] + rng.normal(size=4000) > 0, "a", "b")
    frame.to_csv(tmp_path / "big.csv", index=False)
    import_dataset(store, tmp_path / "big.csv", "y")
    monkeypatch.setenv("MLLOOP_BACKGROUND_CHECKS", "1")
    checker = start_checker(store.path)
    assert checker is not None
    try:
        end = time.monotonic() + 120
        while (state := quality_checks.state(store, 1)) is None or not state.running():
            assert time.monotonic() < end and checker.poll() is None, "the checker never claimed the dataset"
            time.sleep(0.1)
        assert cancel_check(store, 1)
        assert checker.wait(timeout=120) == 130
        state = quality_checks.state(store, 1)
        assert state is not None and state.status == "cancelled"
        assert needs_checks(store)  # the next checker does it again
    finally:
        if checker.poll() is None:
            checker.kill()
