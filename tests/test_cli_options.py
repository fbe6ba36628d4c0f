"""Options are checked before anything is stored: a bad --jobs or an estimator parameter that does not
exist is one line, exit 2, and the store is exactly as it was (it used to store failed runs, exit 1)."""

from __future__ import annotations

import pytest

from tests.conftest import make_runs_store, run_mlloop
from tests.test_cli import _assert_clean_failure, _snapshot

BAD = [
    (["run", "binary", "--models", "tree", "--jobs", "0"], "--jobs"),
    (["run", "binary", "--models", "tree", "--param", "tree.nonexistent=1"], "unknown parameter nonexistent for tree"),
    (["tune", "3", "--param", "max_depth=2,3", "--jobs", "0"], "--jobs"),
    (["tune", "3", "--param", "nonexistent=2,3"], "nonexistent"),
    (["curve", "3", "--jobs", "0"], "--jobs"),
    (["curve", "3", "--validation", "--jobs", "0"], "--jobs"),
    (["diagnose", "3", "--compute", "--jobs", "0"], "--jobs"),
    (["quality", "binary", "--jobs", "0"], "--jobs"),
    (["features", "binary", "--jobs", "0"], "--jobs"),
]


@pytest.fixture(scope="module")
def runs_db(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import write_binary_csv

    folder = tmp_path_factory.mktemp("options")
    make_runs_store(
        folder / "s.duckdb", write_binary_csv(folder / "binary.csv"), "label"
    )  # runs 1-3: dummy, linear, tree
    return folder / "s.duckdb"


@pytest.mark.parametrize(("args", "fragment"), BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_bad_option_is_one_line_exit_2_and_stores_nothing(runs_db, args, fragment):
    before = _snapshot(runs_db)
    _assert_clean_failure(run_mlloop(*args, store=runs_db), fragment)
    assert _snapshot(runs_db) == before
