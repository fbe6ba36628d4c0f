"""``mlloop edit``, ``mlloop datasets`` lineage and ``mlloop run --like``, in process on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.data.frames import load_split
from core.data.importing import import_dataset
from core.store import Store
from core.store.datasets import get_dataset, list_datasets
from tests.conftest import mlloop_main

PENGUINS = Path(__file__).parents[1] / "sample_data" / "penguins.csv"


@pytest.fixture
def penguins(store: Store) -> Store:
    import_dataset(store, PENGUINS, "species")
    return store


def test_edit_prints_the_version_and_datasets_show_lineage(penguins: Store, capsys) -> None:
    store = penguins
    X, _ = load_split(store, get_dataset(store, "penguins"))
    rows = f"{X.index[0]},{X.index[1]}"
    assert mlloop_main(store, "edit", "penguins", "--drop-columns", "year", "--drop-rows", rows, "--note", "ids") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "penguins@2"
    assert (
        lines[1]
        == f"penguins@2 (from penguins): dropped columns year; dropped 2 rows ({X.index[0]}, {X.index[1]}); note: ids"
    )
    assert mlloop_main(store, "edit", "penguins@2", "--relabel", f"{X.index[2]}=Gentoo") == 0
    assert capsys.readouterr().out.splitlines()[0] == "penguins@3"
    assert mlloop_main(store, "datasets") == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[-1] == "from" and listing[-1].split()[-1] == "penguins@2"
    assert mlloop_main(store, "datasets", "penguins@2", "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["parent"] == "penguins" and d["versions"] == ["penguins@3"]
    assert d["recipe"]["operations"][0] == {"op": "drop_columns", "columns": ["year"]}
    assert d["recipe"]["note"] == "ids" and "year" not in d["features"] and "species" not in d["features"]
    assert d["features"] == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]


def test_bad_edits_exit_2_in_one_line_and_create_nothing(penguins: Store, capsys) -> None:
    store = penguins
    X, y = load_split(store, get_dataset(store, "penguins"))
    Xt, _ = load_split(store, get_dataset(store, "penguins"), "test")
    chinstrap = ",".join(str(r) for r in y.index[y == "Chinstrap"][:-4])
    cases = [
        (["--drop-rows", "99999"], "no row 99999 in 'penguins'"),
        (["--drop-columns", "nope"], "no column 'nope'"),
        (["--relabel", f"{X.index[0]}=Dodo"], "has no such class"),
        (["--drop-columns", "species"], "cannot drop the target column 'species'"),
        (["--keep-columns", "species"], "drops every feature"),
        (["--drop-rows", chinstrap], "fewer than the 5 folds"),
        (["--drop-rows", str(Xt.index[0])], "is a test row"),
        (["--drop-rows", "x"], "row ids are whole numbers"),
    ]
    for args, message in cases:
        assert mlloop_main(store, "edit", "penguins", *args) == 2, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert mlloop_main(store, "edit", "penguins@4", "--drop-rows", "1") == 2
    assert "no dataset 'penguins@4'" in capsys.readouterr().err
    assert [d.name for d in list_datasets(store)] == ["penguins"]


def test_regression_relabel_must_be_a_number(store: Store, regression_csv: Path, capsys) -> None:
    import_dataset(store, regression_csv, "y")
    X, _ = load_split(store, get_dataset(store, "regression"))
    assert mlloop_main(store, "edit", "regression", "--relabel", f"{X.index[0]}=big") == 2
    assert "is a number" in capsys.readouterr().err
    assert len(list_datasets(store)) == 1


def test_run_like_pairs_fold_by_fold_with_the_parent(penguins: Store, capsys) -> None:
    store = penguins
    assert (
        mlloop_main(store, "run", "penguins", "--models", "dummy,linear", "--cv", "4", "--seed", "2", "--jobs", "1")
        == 0
    )
    X, _ = load_split(store, get_dataset(store, "penguins"))
    dropped = ",".join(str(r) for r in X.index[::10])
    assert mlloop_main(store, "edit", "penguins", "--drop-rows", dropped) == 0
    assert mlloop_main(store, "run", "penguins@2", "--like", "2", "--jobs", "1", "--json") == 0
    capsys.readouterr()
    assert mlloop_main(store, "run", "penguins@2", "--like", "2", "--like-group", "--jobs", "1", "--json") == 0
    group = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in group] == ["dummy", "linear"]
    assert [r["cv"] for r in group] == [{"folds": 4, "repeats": 1, "seed": 2}] * 2
    assert mlloop_main(store, "compare", "3", "2", "--json") == 0
    c = json.loads(capsys.readouterr().out)
    (pair,) = c["pairs"]
    assert pair["pairable"] and pair["n_folds"] == 4 and 0 <= pair["p"] <= 1
    n = len(X.index[::10])
    shown = ", ".join(dropped.split(",")[:10])
    assert c["data_changes"] == [f"penguins@2 (from penguins): dropped {n} rows ({shown} and {n - 10} more)"]
    assert "the rows the edits dropped" in pair["explanation"]
    assert mlloop_main(store, "run", "penguins@2", "--like", "2", "--models", "tree") == 2
    assert "--like RUN takes the models" in capsys.readouterr().err


def test_the_readme_example(penguins: Store, capsys) -> None:
    """The worked example of README's 'Dataset versions', command by command."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    store = penguins
    assert "$ mlloop run penguins --models dummy,linear --cv 4 --seed 2" in readme
    assert (
        mlloop_main(store, "run", "penguins", "--models", "dummy,linear", "--cv", "4", "--seed", "2", "--jobs", "1")
        == 0
    )
    assert "$ mlloop edit penguins --drop-columns year --drop-rows 0,1 --note ids\n" in readme
    capsys.readouterr()
    assert mlloop_main(store, "edit", "penguins", "--drop-columns", "year", "--drop-rows", "0,1", "--note", "ids") == 0
    printed = capsys.readouterr().out
    assert "$ mlloop edit penguins --drop-columns year --drop-rows 0,1 --note ids\n" + printed in readme
    assert "$ mlloop run penguins@2 --like 2 " in readme
    assert mlloop_main(store, "run", "penguins@2", "--like", "2", "--jobs", "1", "--json") == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["id"] == 3 and run["model"] == "linear" and run["cv"] == {"folds": 4, "repeats": 1, "seed": 2}
    assert mlloop_main(store, "compare", "3", "2") == 0
    shown = capsys.readouterr().out
    assert "over 4 shared folds" in shown and "Data versions: penguins@2 (from penguins)" in shown
