"""The label-review queue on real stores and real fits: planted label noise is found, relabeled through
the queue, and the version it makes scores better in a paired comparison; decisions outlive the process."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from core.analysis.compare import compare_runs
from core.analysis.review import (
    MAX_ITEMS,
    current_review,
    decide,
    discard_review,
    finish_review,
    open_review,
    queue_to_dict,
    review_queue,
    undo,
)
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.data.versions import recipe_of
from core.errors import InputError, NotFoundError
from core.modeling.evaluation import run_specs
from core.modeling.folds import rerun_like
from core.store import Store
from core.store.datasets import get_dataset, list_datasets
from core.store.predictions import load_predictions
from core.store.runs import get_run
from tests.conftest import REPO, write_csv

N_ROWS, NOISE = 600, 0.05


def noisy_csv(path: Path) -> tuple[Path, dict[int, str], list[int]]:
    """A clean three-class problem (600 rows) with 5% of its labels flipped to another class: the file,
    every row's true label, and the flipped rows."""
    X, y = make_classification(
        n_samples=N_ROWS,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=2.0,
        flip_y=0,
        random_state=0,
    )
    names = np.array(["ant", "bee", "cat"])
    truth = names[y]
    rng = np.random.default_rng(1)
    flipped = sorted(int(r) for r in rng.choice(N_ROWS, int(NOISE * N_ROWS), replace=False))
    labels = truth.copy()
    for r in flipped:
        labels[r] = rng.choice([c for c in names if c != truth[r]])
    frame = pd.DataFrame(X.round(5), columns=[f"x{i}" for i in range(6)])
    frame["label"] = labels
    return write_csv(path, frame), {i: str(t) for i, t in enumerate(truth)}, flipped


@pytest.fixture
def noisy(store: Store, tmp_path: Path) -> tuple[Store, dict[int, str], list[int]]:
    path, truth, flipped = noisy_csv(tmp_path / "noisy.csv")
    import_dataset(store, path, "label")
    return store, truth, flipped


def rows_hash(store: Store, name: str) -> str:
    d = get_dataset(store, name)
    h = hashlib.sha256()
    for part in ("dev", "test"):
        X, y = load_split(store, d, part)
        h.update(pd.util.hash_pandas_object(X.assign(__y=y)).to_numpy().tobytes())
    return h.hexdigest()


def table_counts(store: Store) -> dict[str, int]:
    with store.read() as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_planted_label_noise_is_found_relabeled_and_the_new_version_scores_better(noisy) -> None:
    store, truth, flipped = noisy
    parent = get_dataset(store, "noisy")
    before = rows_hash(store, "noisy")
    (parent_run,) = run_specs(store, "noisy", [("linear", None)], folds=5, repeats=3, seed=0)
    recorded = get_run(store, parent_run)
    X_dev, _ = load_split(store, parent)
    dev_flipped = [r for r in flipped if r in set(X_dev.index)]
    test_rows = set(load_split(store, parent, "test")[0].index)

    queue = open_review(store, "noisy")
    assert not {i.row for i in queue.items} & test_rows  # test rows are never in the queue
    scores = [i.score for i in queue.items]
    assert scores == sorted(scores, reverse=True)
    top = [i.row for i in queue.items[: 2 * len(dev_flipped)]]
    found = [r for r in dev_flipped if r in top]
    assert len(found) >= 0.7 * len(dev_flipped)  # most flipped rows are near the top ...
    assert all(i.row in dev_flipped for i in queue.items[:10])  # ... and the top is flipped rows

    # a reviewer who knows the truth walks the top of the queue: relabels the flipped rows, keeps the rest
    choices = [(r, "relabel", truth[r]) if r in dev_flipped else (r, "keep", None) for r in top]
    decide(store, "noisy", choices)
    finished = finish_review(store, "noisy")
    version = finished.version
    assert version is not None and version.name == "noisy@2" and version.parent_id == parent.id
    assert finished.counts == {"keep": len(top) - len(found), "relabel": len(found), "drop": 0, "skip": 0}
    recipe = recipe_of(version)
    assert recipe is not None and recipe["note"] == "label review"
    assert [op["op"] for op in recipe["operations"]] == ["relabel"]
    assert [(d["row"], d["decision"]) for d in recipe["review"]["decisions"]] == [(r, c) for r, c, _ in choices]
    _, y2 = load_split(store, version)
    assert all(y2.loc[r] == truth[r] for r in found)
    assert current_review(store, "noisy") is None  # finishing closed the queue

    (new_run,) = rerun_like(store, "noisy@2", parent_run)
    (pair,) = compare_runs(store, [parent_run, new_run]).pairs  # new_run against the reference, parent_run
    assert (pair.a_id, pair.b_id) == (new_run, parent_run)
    assert pair.pairable and pair.n_folds == 15 and pair.mean_diff > 0 and pair.p < 0.05, pair
    # the parent's data and runs are as they were
    assert rows_hash(store, "noisy") == before
    after = get_run(store, parent_run)
    assert after.fold_scores == recorded.fold_scores and after.dataset_hash == recorded.dataset_hash


def test_decisions_survive_another_process_and_undo_removes_the_last(noisy) -> None:
    store, _, _ = noisy
    queue = open_review(store, "noisy")
    first, second, third = (i.row for i in queue.items[:3])
    # another process decides two rows and dies at once, closing nothing
    code = (
        "import os\nfrom core.store import Store\nfrom core.analysis.review import decide\n"
        f"s = Store({str(store.path)!r})\n"
        f"decide(s, 'noisy', [({first}, 'keep', None)])\n"
        f"decide(s, 'noisy', [({second}, 'drop', None)])\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)
    again = open_review(Store(store.path), "noisy")  # a new handle: the queue is read, not recomputed
    assert again.queue_id == queue.queue_id and again.items == queue.items
    assert [(d.row, d.decision) for d in again.decisions] == [(first, "keep"), (second, "drop")]
    assert again.next_position() == 2 and again.items[2].row == third
    removed, after = undo(store, "noisy")
    assert (removed.row, removed.decision) == (second, "drop")
    assert after.next_position() == 1
    decided = decide(store, "noisy", [(first, "skip", None)])  # a row decided again gets the new decision
    assert [(d.row, d.decision) for d in decided.decisions] == [(first, "skip")]


def test_keep_and_skip_only_close_the_review_without_a_version(noisy) -> None:
    store, _, _ = noisy
    queue = open_review(store, "noisy")
    decide(store, "noisy", [(queue.items[0].row, "keep", None), (queue.items[1].row, "skip", None)])
    n_datasets = len(list_datasets(store))
    finished = finish_review(store, "noisy")
    assert finished.version is None and finished.counts["keep"] == 1 and finished.counts["skip"] == 1
    assert len(list_datasets(store)) == n_datasets and current_review(store, "noisy") is None
    with pytest.raises(InputError, match="no open label review"):
        finish_review(store, "noisy")


def test_bad_decisions_change_nothing(noisy) -> None:
    store, _, _ = noisy
    queue = open_review(store, "noisy")
    row, label = queue.items[0].row, queue.items[0].label
    other = next(c for c in queue.classes if c != label)
    parent = get_dataset(store, "noisy")
    test_row = int(load_split(store, parent, "test")[0].index[0])
    outside = next(r for r in load_split(store, parent)[0].index if int(r) not in {i.row for i in queue.items})
    decide(store, "noisy", [(row, "keep", None)])
    before = table_counts(store)
    bad = [
        ([(row, "relabel", "dog")], "has no such class"),
        ([(row, "relabel", label)], "keep it instead"),
        ([(99_999, "drop", None)], "no row 99999"),
        ([(test_row, "drop", None)], "locked test row"),
        ([(int(outside), "drop", None)], "not in the review queue"),
        ([(row, "relabel", other), (99_999, "keep", None)], "no row 99999"),  # all or none
    ]
    for choices, message in bad:
        with pytest.raises(InputError, match=message):
            decide(store, "noisy", choices)
    with pytest.raises(NotFoundError):
        decide(store, "nothing", [(row, "keep", None)])
    assert table_counts(store) == before
    assert [(d.row, d.decision) for d in current_review(store, "noisy").decisions] == [(row, "keep")]
    undo(store, "noisy")
    with pytest.raises(InputError, match="nothing decided"):
        finish_review(store, "noisy")
    with pytest.raises(InputError, match="no decision to undo"):
        undo(store, "noisy")


def test_from_a_sampled_run_the_queue_is_of_its_sample(noisy) -> None:
    """A sampled run predicted its sample's rows: only they are read and queued, each with the run's
    probabilities (a dataset larger than memory is reviewed from a run on a sample of it)."""
    store, _, _ = noisy
    (run_id,) = run_specs(store, "noisy", [("tree", {"max_depth": 3})], folds=5, seed=0, sample=200)
    stored = load_predictions(store, run_id, 3)
    assert len(stored.rows) == 200
    queue = review_queue(store, "noisy", run_id)
    assert queue.items and {i.row for i in queue.items} <= set(stored.rows.tolist())
    position = {int(r): i for i, r in enumerate(stored.rows)}
    for item in queue.items:
        assert item.proba == pytest.approx(tuple(stored.proba[position[item.row]]))


def test_from_a_run_adds_its_wrong_rows_with_its_own_probabilities(noisy) -> None:
    store, _, _ = noisy
    (run_id,) = run_specs(store, "noisy", [("tree", {"max_depth": 3})], folds=5, seed=0)
    stored = load_predictions(store, run_id, 3)
    queue = review_queue(store, "noisy", run_id)
    assert queue.from_run == run_id and "run" in queue.source
    position = {int(r): i for i, r in enumerate(stored.rows)}
    wrong = {int(r) for r, p, y in zip(stored.rows, stored.labels, _labels(store, stored.rows)) if p != y}
    assert wrong and wrong <= {i.row for i in queue.items}
    for item in queue.items:
        assert item.proba == pytest.approx(tuple(stored.proba[position[item.row]]))
        if item.row in wrong:
            assert any(r.startswith(f"run {run_id} (tree) predicts") for r in item.reasons)
    # an open review made without --from, with decisions, is not replaced by one from the run
    first = open_review(store, "noisy")
    decide(store, "noisy", [(first.items[0].row, "keep", None)])
    with pytest.raises(InputError, match="finish it"):
        open_review(store, "noisy", run_id)
    assert discard_review(store, "noisy") == 1
    assert open_review(store, "noisy", run_id).from_run == run_id
    other = import_dataset(store, _write_clean(store.path.parent), "label")
    with pytest.raises(InputError, match="not 'clean'"):
        review_queue(store, other.name, run_id)


def _labels(store: Store, rows) -> list[int]:
    info = get_dataset(store, "noisy")
    _, y = load_split(store, info)
    return [info.classes.index(y.loc[int(r)]) for r in rows]


def _write_clean(folder: Path) -> Path:
    X, y = make_classification(n_samples=120, n_features=4, random_state=3)
    frame = pd.DataFrame(X.round(4), columns=list("abcd"))
    frame["label"] = np.where(y == 1, "yes", "no")
    return write_csv(folder / "clean.csv", frame)


def test_conflicting_labels_are_in_the_queue_with_their_reason(store: Store, tmp_path: Path) -> None:
    frame = pd.read_csv(_write_clean(tmp_path))
    twins = frame.iloc[:20].assign(label=lambda f: np.where(f["label"] == "yes", "no", "yes"))
    import_dataset(store, write_csv(tmp_path / "twins.csv", pd.concat([frame, twins], ignore_index=True)), "label")
    queue = review_queue(store, "twins")
    dev = set(load_split(store, get_dataset(store, "twins"))[0].index)
    pairs = [(r, 120 + r) for r in range(20)]
    assert any((a in dev) != (b in dev) for a, b in pairs)  # some pairs are split between dev and test
    conflicted = {r for pair in pairs for r in pair if r in dev}  # test twins count: their dev rows are listed
    listed = {
        i.row for i in queue.items if any(r.startswith("conflicting labels: 2 identical rows") for r in i.reasons)
    }
    assert listed == conflicted


def test_over_the_memory_budget_the_queue_judges_a_sample_and_says_so(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probabilities need the rows in memory: over the budget a sample of the development rows is
    judged, recorded with the queue (reopened, it still says so); identical rows are still compared
    over every row, so a sampled row's twin outside the sample counts."""
    frame = pd.read_csv(_write_clean(tmp_path))
    twins = frame.iloc[:20].assign(label=lambda f: np.where(f["label"] == "yes", "no", "yes"))
    import_dataset(store, write_csv(tmp_path / "twins.csv", pd.concat([frame, twins], ignore_index=True)), "label")
    info = get_dataset(store, "twins")
    monkeypatch.setenv("MLLOOP_MEMORY_BUDGET", str(60 * 4 * 8 * 4))  # 4 features: 60 rows fit
    queue = open_review(store, "twins")
    assert queue.sample is not None and queue.sample.rows == 60 < info.n_dev and "memory budget" in queue.sample.note
    assert queue.source.endswith(f"fitted on a sample of 60 of {info.n_dev} development rows (seed 0, stratified)")
    X, _ = load_split(store, info, "dev", queue.sample)
    assert queue.items and {i.row for i in queue.items} <= set(X.index)
    twin_of = {**{r: 120 + r for r in range(20)}, **{120 + r: r for r in range(20)}}
    conflicted = {i.row for i in queue.items if any(r.startswith("conflicting labels: 2") for r in i.reasons)}
    assert conflicted == {r for r in X.index if r in twin_of}
    assert any(twin_of[r] not in X.index for r in conflicted)  # its twin is outside the sample, or a test row
    reopened = current_review(store, "twins")
    assert reopened is not None and reopened.sample == queue.sample and reopened.source == queue.source
    shown = queue_to_dict(reopened)
    assert shown["sample"] == {"rows": 60, "of": info.n_dev, "note": queue.sample.note}
    monkeypatch.delenv("MLLOOP_MEMORY_BUDGET")
    discard_review(store, "twins")  # no decision made: nothing else lost
    assert open_review(store, "twins").sample is None  # within the default budget: every row


def test_the_queue_is_cut_to_the_most_suspicious_rows(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=1500).round(5), "label": rng.choice(["p", "q", "r"], size=1500)})
    import_dataset(store, write_csv(tmp_path / "random.csv", frame), "label")
    (run_id,) = run_specs(store, "random", [("dummy", None)], folds=5, seed=0)  # wrong on every minority row
    queue = review_queue(store, "random", run_id)
    assert len(queue.items) == MAX_ITEMS == 500 and queue.n_found > MAX_ITEMS
    everything = review_queue(store, "random", run_id, limit=10_000)
    assert len(everything.items) == queue.n_found and everything.items[:MAX_ITEMS] == queue.items


def test_a_regression_dataset_has_no_label_review(store: Store, regression_csv: Path) -> None:
    import_dataset(store, regression_csv, "y")
    with pytest.raises(InputError, match="classification"):
        review_queue(store, "regression")
