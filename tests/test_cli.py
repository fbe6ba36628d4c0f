"""The real ``mlloop`` command: the README's flow, --json contracts, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.badfiles import make_bad_inputs
from tests.conftest import REPO, run_mlloop


def _snapshot(db):
    """Everything stored, table by table, to prove a failed command changed nothing."""
    import duckdb

    if not db.exists():
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t[0] for t in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()


def test_help_is_fast_to_import_and_lists_commands():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlloop_tui", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("import", "run", "runs", "show", "datasets"):
        assert command in out.stdout
    heavy = {"sklearn", "statsmodels", "pandas", "duckdb", "textual", "numpy"}
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not heavy & imported


def test_readme_flow_import_run_runs_show(tmp_path, binary_csv):
    db = tmp_path / "s.duckdb"
    r = run_mlloop("import", str(binary_csv), "--target", "label", store=db)
    assert r.returncode == 0, r.stderr
    assert "binary" in r.stdout and "label" in r.stdout
    r = run_mlloop("run", "binary", "--models", "all", "--cv", "3", "--jobs", "2", store=db)
    assert r.returncode == 0, r.stderr
    for model in ("dummy", "glm", "linear", "tree", "forest", "boosting"):
        assert model in r.stdout
    r = run_mlloop("runs", "--json", store=db)
    runs = json.loads(r.stdout)
    assert len(runs) == 6 and {x["status"] for x in runs} == {"done"}
    for x in runs:
        assert {"id", "dataset", "model", "status", "folds", "metrics"} <= set(x)
        assert len(x["folds"]) == 3 and set(x["folds"][0]["validation"]) >= {"accuracy", "roc_auc"}
    glm = next(x for x in runs if x["model"] == "glm")
    r = run_mlloop("show", str(glm["id"]), store=db)
    assert r.returncode == 0 and "Intercept" in r.stdout
    fold0 = glm["folds"][0]
    train0, val0 = f"{fold0['train']['accuracy']:.4f}", f"{fold0['validation']['accuracy']:.4f}"
    (per_fold,) = [line for line in r.stdout.splitlines() if line.split()[:1] == ["fold"]]
    assert "accuracy train" in per_fold and "accuracy validation" in per_fold
    (row0,) = [line for line in r.stdout.splitlines() if line.split()[:2] == ["0", "0"]]  # fold 0, repeat 0
    assert train0 in row0 and val0 in row0
    narrow = run_mlloop("show", str(glm["id"]), store=db, env={"COLUMNS": "80"})  # as on an 80-column terminal
    assert narrow.returncode == 0 and max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert "Intercept" in narrow.stdout and "accuracy validation" in narrow.stdout and val0 in narrow.stdout
    shown = json.loads(run_mlloop("show", str(glm["id"]), "--json", store=db).stdout)
    assert shown["glm"]["coefficients"][0]["term"] == "Intercept"
    assert shown["folds"] == glm["folds"]


def test_store_from_environment(tmp_path, regression_csv):
    db = tmp_path / "env.duckdb"
    r = run_mlloop("import", str(regression_csv), "--target", "y", env={"MLLOOP_STORE": str(db)})
    assert r.returncode == 0, r.stderr
    assert db.exists()
    listed = json.loads(run_mlloop("datasets", "--json", env={"MLLOOP_STORE": str(db)}).stdout)
    assert [d["name"] for d in listed] == ["regression"] and listed[0]["task"] == "regression"


def _assert_clean_failure(r, fragment: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlloop: error:"), r.stderr
    assert fragment.lower() in lines[0].lower(), lines[0]


def test_every_bad_import_exits_2_with_one_line_and_changes_nothing(tmp_path, binary_csv):
    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    before = _snapshot(db)
    cases = make_bad_inputs(tmp_path / "bad")
    assert len(cases) >= 10
    for case in cases:
        options = [a for k, v in case.options.items() for a in (f"--{k.replace('_', '-')}", str(v))]
        r = run_mlloop("import", str(case.path), "--target", case.target, *options, store=db)
        _assert_clean_failure(r, case.message_fragment)
    assert _snapshot(db) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "binary", "--models", "svm"], "unknown model"),
        (["run", "nosuch"], "nosuch"),
        (["show", "999"], "no run"),
        (["show", "abc"], "run id"),
        (["run", "binary", "--cv", "1"], "2 folds"),
        (["run", "binary", "--param", "tree.max_depth=-3", "--models", "tree"], "max_depth"),
        (["run", "binary", "--param", "oops"], "MODEL.NAME=VALUE"),
        (["import", "x.csv"], "--target"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_commands_exit_2_with_one_line(tmp_path, binary_csv, args, fragment):
    db = tmp_path / "s.duckdb"
    assert run_mlloop("import", str(binary_csv), "--target", "label", store=db).returncode == 0
    before = _snapshot(db)
    _assert_clean_failure(run_mlloop(*args, store=db), fragment)
    assert _snapshot(db) == before


def test_store_that_is_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("hello")
    r = run_mlloop("runs", store=bogus)
    assert r.returncode == 3 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert bogus.read_text() == "hello"


def test_terminal_escapes_in_data_are_printed_inert(tmp_path):
    csv = tmp_path / "evil.csv"
    csv.write_text(
        '"\x1b[31mred\x1b[0m","[bold]b[/bold]",label\n' + "".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(40))
    )
    db = tmp_path / "s.duckdb"
    r = run_mlloop("import", str(csv), "--target", "label", store=db)
    assert r.returncode == 0, r.stderr
    r = run_mlloop("datasets", "evil", store=db)
    assert "\x1b" not in r.stdout and "\\x1b[31mred\\x1b[0m" in r.stdout and "[bold]b[/bold]" in r.stdout


def test_demo_imports_the_samples_and_runs_every_baseline(tmp_path):
    db = tmp_path / "demo.duckdb"
    r = run_mlloop("demo", store=db, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr
    datasets = json.loads(run_mlloop("datasets", "--json", store=db).stdout)
    runs = json.loads(run_mlloop("runs", "--json", store=db).stdout)
    assert len(runs) == 6 * len(datasets) and {x["status"] for x in runs} == {"done"}
