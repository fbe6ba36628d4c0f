"""``mlloop review``: the queue printed literally, decisions recorded from a script, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.analysis.review import current_review
from core.data.importing import import_dataset
from core.errors import NotFoundError
from core.store import Store
from core.store.datasets import get_dataset
from core.store.runs import get_run, list_runs
from tests.conftest import mlloop_main, write_csv
from tests.core.test_review import noisy_csv, table_counts


@pytest.fixture
def noisy(store: Store, tmp_path: Path):
    path, truth, flipped = noisy_csv(tmp_path / "noisy.csv")
    import_dataset(store, path, "label")
    return store, truth, flipped


def queue_json(store: Store, capsys, *args: str) -> dict:
    assert mlloop_main(store, "review", "noisy", "--json", *args) == 0
    return json.loads(capsys.readouterr().out)


def test_the_queue_is_printed_and_decisions_finish_as_a_version(noisy, capsys) -> None:
    store, truth, flipped = noisy
    assert mlloop_main(store, "review", "noisy") == 0
    text = capsys.readouterr().out
    assert text.startswith("label review of noisy: ") and "0 of " in text
    assert "p(ant)" in text and "possibly mislabeled (confident learning)" in text
    data = queue_json(store, capsys)
    assert data["classes"] == ["ant", "bee", "cat"] and data["n_decided"] == 0
    first, second, third = data["items"][:3]
    assert set(first) == {"row", "label", "suspicion", "reasons", "proba", "decision"}
    assert sum(first["proba"].values()) == pytest.approx(1.0, abs=1e-6)
    assert first["suspicion"] == pytest.approx(1 - first["proba"][first["label"]], abs=1e-5)
    new = next(c for c in data["classes"] if c != first["label"])

    assert (
        mlloop_main(store, "review", "noisy", "--relabel", f"{first['row']}={new}", "--drop", str(second["row"])) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"row {second['row']}: drop",
        f"row {first['row']}: relabel to {new}",
        f"2 of {data['n_items']} decided",
    ]
    assert mlloop_main(store, "review", "noisy", "--keep", str(third["row"])) == 0
    assert mlloop_main(store, "review", "noisy", "--undo") == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == f"undone: row {third['row']} keep; 2 of {data['n_items']} decided"
    )
    after = queue_json(store, capsys)
    decided = {i["row"]: i["decision"] for i in after["items"] if i["decision"]}
    assert decided == {
        first["row"]: {"decision": "relabel", "label": new},
        second["row"]: {"decision": "drop", "label": None},
    }

    assert mlloop_main(store, "review", "noisy", "--finish") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "noisy@2"
    dropped, relabeled = second["row"], first["row"]
    assert (
        lines[1]
        == f"noisy@2 (from noisy): dropped 1 row ({dropped}); relabeled 1 row ({relabeled}); note: label review"
    )
    assert lines[2] == "review closed (1 relabel, 1 drop)"
    assert current_review(store, "noisy") is None
    assert mlloop_main(store, "datasets", "noisy@2", "--json") == 0
    recipe = json.loads(capsys.readouterr().out)["recipe"]
    assert recipe["note"] == "label review"
    assert [(d["row"], d["decision"]) for d in recipe["review"]["decisions"]] == [
        (second["row"], "drop"),
        (first["row"], "relabel"),
    ]
    # `run --like` on the version: the parent's run, its folds and seed
    assert mlloop_main(store, "run", "noisy", "--models", "linear", "--cv", "3") == 0
    (parent_run,) = [r.id for r in list_runs(store) if r.dataset == "noisy"]
    assert mlloop_main(store, "run", "noisy@2", "--like", str(parent_run)) == 0
    capsys.readouterr()
    new_run = next(r for r in list_runs(store) if r.dataset == "noisy@2")
    assert new_run.folds_hash == get_run(store, parent_run).folds_hash


def test_keep_only_finishes_without_a_version(noisy, capsys) -> None:
    store, _, _ = noisy
    row = queue_json(store, capsys)["items"][0]["row"]
    assert mlloop_main(store, "review", "noisy", "--skip", str(row), "--finish", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "version": None,
        "decisions": {"keep": 0, "relabel": 0, "drop": 0, "skip": 1},
    }
    with pytest.raises(NotFoundError):
        get_dataset(store, "noisy@2")
    assert current_review(store, "noisy") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--keep", "99999"), "no row 99999 in 'noisy'"),
        (("--keep", "x"), "row ids are whole numbers, not 'x'"),
        (("--relabel", "{row}=dog"), "has no such class"),
        (("--relabel", "{row}"), "expected ROW=LABEL"),
        (("--finish",), "nothing decided in the review of 'noisy'"),
        (("--undo",), "no decision to undo"),
        (("--undo", "--finish"), "one at a time"),
        (("--note", "why"), "--note goes with --finish"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(noisy, capsys, args, message) -> None:
    store, _, _ = noisy
    row = queue_json(store, capsys)["items"][0]["row"]
    before = table_counts(store)
    assert mlloop_main(store, "review", "noisy", *(a.format(row=row) for a in args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert table_counts(store) == before


def test_discard_drops_the_open_review(noisy, capsys) -> None:
    store, _, _ = noisy
    row = queue_json(store, capsys)["items"][0]["row"]
    assert mlloop_main(store, "review", "noisy", "--keep", str(row)) == 0
    capsys.readouterr()
    assert mlloop_main(store, "review", "noisy", "--discard") == 0
    assert capsys.readouterr().out == "discarded the open review of noisy and its 1 decision\n"
    assert current_review(store, "noisy") is None


def test_a_missing_dataset_is_exit_2(store: Store, capsys) -> None:
    assert mlloop_main(store, "review", "nothing") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing" in err


def test_labels_are_printed_literally(store: Store, tmp_path: Path, capsys) -> None:
    import pandas as pd

    from tests.core.test_review import _write_clean

    frame = pd.read_csv(_write_clean(tmp_path))
    frame["label"] = frame["label"].map({"yes": "\x1b[31mred", "no": "[bold]no"})
    frame.loc[:5, "label"] = frame.loc[:5, "label"].map({"\x1b[31mred": "[bold]no", "[bold]no": "\x1b[31mred"})
    import_dataset(store, write_csv(tmp_path / "evil.csv", frame), "label")
    assert mlloop_main(store, "review", "evil") == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "[bold]no" in text
