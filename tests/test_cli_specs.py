"""``mlloop run --model NAME=SPEC`` and ``mlloop models`` as a user runs them (issue 10)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_mlloop
from tests.test_cli import _assert_clean_failure, _snapshot


@pytest.fixture(scope="module")
def spec_db(tmp_path_factory: pytest.TempPathFactory):
    from core.data.importing import import_dataset
    from core.store import Store
    from tests.conftest import write_binary_csv

    folder = tmp_path_factory.mktemp("specs")
    import_dataset(Store(folder / "s.duckdb"), write_binary_csv(folder / "binary.csv"), "label")
    return folder / "s.duckdb"


def test_bad_specs_are_one_line_exit_2_store_unchanged_and_run_nothing(spec_db, tmp_path):
    marker = tmp_path / "MARKER"
    (tmp_path / "notest.py").write_text("def build():\n    return 42\n")
    cases = [
        (f"x=os.system('touch {marker}')", "positional argument"),
        (f"x=os.system(command='touch {marker}')", "os.system is not a class"),
        (f"x=sklearn.svm.SVC(C=__import__('os').system('touch {marker}'))", "is not a literal"),
        ("x=sklearn.svm.SVC(C=2.0", "syntax error"),
        ("x=nosuchpackage_xyz.Model()", "no module named 'nosuchpackage_xyz'"),
        (f"x={tmp_path}/missing.py:build", "does not exist"),
        ("x=notest.py:build", "is not an estimator"),  # a relative path is from the current directory
        ("x=sklearn.linear_model.Ridge()", "is a regressor"),
        ("x=sklearn.svm.SVC()", "the log_loss metric needs predict_proba"),
    ]
    before = _snapshot(spec_db)
    for spec, fragment in cases:
        _assert_clean_failure(run_mlloop("run", "binary", "--model", spec, store=spec_db, cwd=tmp_path), fragment)
    assert _snapshot(spec_db) == before
    assert not marker.exists()


def test_run_a_spec_then_models_lists_it(spec_db):
    r = run_mlloop("models", store=spec_db)
    assert r.returncode == 0, r.stderr
    for name in ("dummy", "glm", "linear", "tree", "forest", "boosting"):
        assert name in r.stdout
    assert "no model specs used yet" in r.stdout

    spec = "sklearn.linear_model.LogisticRegression(C=0.5)"
    r = run_mlloop("run", "binary", "--model", f"lr={spec}", "--models", "dummy", "--cv", "3", "--json", store=spec_db)
    assert r.returncode == 0, r.stderr
    runs = {x["model"]: x for x in json.loads(r.stdout)}
    assert set(runs) == {"dummy", "lr"}  # --models and --model together
    assert runs["lr"]["status"] == "done" and runs["dummy"]["spec"] is None
    assert runs["lr"]["spec"]["text"] == spec
    assert runs["lr"]["spec"]["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert runs["lr"]["spec"]["params"]["C"] == 0.5

    r = run_mlloop("models", store=spec_db)
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("lr ")]
    assert spec in line and "LogisticRegression" in line
    listed = json.loads(run_mlloop("models", "--json", store=spec_db).stdout)
    assert [b["name"] for b in listed["builtin"]] == ["dummy", "glm", "linear", "tree", "forest", "boosting"]
    assert listed["specs"] == [
        {
            "name": "lr",
            "text": spec,
            "estimator_class": "sklearn.linear_model._logistic.LogisticRegression",
            "n_runs": 1,
            "last_run_id": runs["lr"]["id"],
        }
    ]


def test_only_model_specs_run_when_models_is_not_given(spec_db):
    r = run_mlloop(
        "run",
        "binary",
        "--model",
        "t=sklearn.tree.DecisionTreeClassifier(max_depth=2)",
        "--cv",
        "2",
        "--json",
        store=spec_db,
    )
    assert r.returncode == 0, r.stderr
    assert [x["model"] for x in json.loads(r.stdout)] == ["t"]


def test_tune_and_curves_of_a_spec_run_from_the_command_line(spec_db):
    r = run_mlloop(
        "run",
        "binary",
        "--model",
        "lr2=sklearn.linear_model.LogisticRegression()",
        "--cv",
        "2",
        "--json",
        store=spec_db,
    )
    (run,) = json.loads(r.stdout)
    r = run_mlloop("tune", str(run["id"]), "--param", "C=0.1,10", "--json", store=spec_db)
    assert r.returncode == 0, r.stderr
    r = run_mlloop("curve", str(run["id"]), "--validation", store=spec_db)
    _assert_clean_failure(r, "lr2 has no complexity knob built in; give one and its values: --param NAME --values")
    r = run_mlloop("curve", str(run["id"]), "--validation", "--param", "C", "--values", "0.1,10", store=spec_db)
    assert r.returncode == 0, r.stderr


def test_the_readme_xgboost_and_lightgbm_example_from_the_command_line(tmp_path):
    """README's boosting example as a user types it: worker processes (the default --jobs) fit both."""
    for module in ("xgboost", "lightgbm"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[boosting]')")
    from tests.conftest import REPO

    xgb = "xgb=xgboost.XGBClassifier(n_estimators=50, max_depth=3)"
    lgbm = "lgbm=lightgbm.LGBMClassifier(n_estimators=50, verbose=-1)"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"$ mlloop run penguins --model '{xgb}' --model '{lgbm}'\n$ mlloop compare 1 2\n" in readme
    db = tmp_path / "s.duckdb"
    r = run_mlloop("import", str(REPO / "sample_data" / "penguins.csv"), "--target", "species", store=db)
    assert r.returncode == 0, r.stderr
    r = run_mlloop("run", "penguins", "--model", xgb, "--model", lgbm, "--json", store=db)
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)  # stdout is the JSON alone: verbose=-1 keeps LightGBM's log off it
    assert [(x["id"], x["model"], x["status"]) for x in runs] == [(1, "xgb", "done"), (2, "lgbm", "done")]
    assert runs[0]["spec"]["class"] == "xgboost.sklearn.XGBClassifier"
    assert runs[0]["spec"]["params"]["n_estimators"] == 50 and runs[0]["spec"]["params"]["max_depth"] == 3
    assert all(x["metrics"]["accuracy"]["validation_mean"] > 0.9 for x in runs), runs
    assert "xgboost-cpu" in runs[0]["versions"] or "xgboost" in runs[0]["versions"]
    r = run_mlloop("compare", "1", "2", store=db)
    assert r.returncode == 0, r.stderr
    r = run_mlloop("errors", "1", store=db)  # the confusion matrix is in the dataset's labels
    assert r.returncode == 0 and all(label in r.stdout for label in ("Adelie", "Chinstrap", "Gentoo")), r.stdout


NOISY_SPEC = """
import os

from sklearn.linear_model import LogisticRegression


class Noisy(LogisticRegression):
    def fit(self, X, y, **kwargs):
        print("noise from print")
        os.write(1, b"noise from fd 1\\n")
        return super().fit(X, y, **kwargs)


def build():
    return Noisy()
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_model_that_prints_while_fitting_never_corrupts_json_output(spec_db, tmp_path, jobs):
    """A library's log (LightGBM without verbose=-1) or a print in a spec's fit goes to stderr,
    whether the fits run in this process or in workers, from Python or from native code."""
    (tmp_path / "noisy.py").write_text(NOISY_SPEC)
    r = run_mlloop(
        "run",
        "binary",
        "--model",
        "noisy=noisy.py:build",
        "--cv",
        "3",
        "--jobs",
        jobs,
        "--json",
        store=spec_db,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    (run,) = json.loads(r.stdout)
    assert run["model"] == "noisy" and run["status"] == "done"
    assert r.stderr.count("noise from print") >= 3 and r.stderr.count("noise from fd 1") >= 3
