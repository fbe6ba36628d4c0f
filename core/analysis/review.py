"""The label-review queue: a dataset's most suspicious development rows, to keep, relabel or drop.

:func:`review_queue` finds the rows, from three sources:

- *possibly mislabeled*: confident learning (:mod:`core.analysis.label_issues`) on out-of-fold
  class probabilities;
- *conflicting labels*: identical feature rows (development and test rows compared, as the
  quality check does) that carry more than one label;
- with ``from_run``: the rows that run predicts wrong, out of fold.

The probabilities are the run's stored out-of-fold predictions (repeat 1) when ``from_run`` is
given, else the linear baseline's, fitted out of fold on five stratified folds (so no row is
scored by a model that saw its label); confident learning runs on the same probabilities.
**Merging:** a row flagged by several sources is one item with each source's reason, in the
order above; every item's suspicion is ``1 - p(its own label)`` under those probabilities, and the
queue is ordered by it, most suspicious first (ties by row id), then cut to ``limit`` items
(``n_found`` keeps the full count). Test rows are never in the queue: only development rows are
scored, and a review never edits the locked test set.

:func:`open_review` stores the queue, so opening it again (another process, after a crash) shows
the same items and continues at the first undecided one; each decision is written the moment it is
made (:func:`decide`), :func:`undo` removes the last, and :func:`finish_review` turns the relabel
and drop decisions into one new version whose recipe lists every decision.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from core.analysis.label_issues import OOF_FOLDS, confident_learning, out_of_fold_proba, row_reason
from core.analysis.structure import compared, conflicting_groups, labeled_rows
from core.data.frames import load_split
from core.data.messages import shorten
from core.data.sampling import plan_sample, read_within_budget
from core.data.versions import Edit, write_version
from core.errors import InputError, StoreError
from core.store import Store
from core.store.datasets import data_layout, get_dataset
from core.store.predictions import load_predictions
from core.store.reviews import (
    Decision,
    StoredQueue,
    close_queue,
    decisions,
    delete_last_decision,
    delete_queue,
    insert_decision,
    insert_queue,
    open_queue,
    row_parts,
)
from core.store.runs import get_run
from core.text import first_line
from core.types import DatasetInfo, RunSample

DECISIONS = ("keep", "relabel", "drop", "skip")
CHANGES = ("relabel", "drop")  # the decisions a version applies; keep and skip are recorded as reviewed
MAX_ITEMS = 500  # a queue is for a person to walk; the rest are counted in n_found
NOTE = "label review"


@dataclass(frozen=True)
class QueueItem:
    row: int  # the row id (its 0-based place in the file)
    label: str  # its current label
    score: float  # suspicion: 1 - the probability of its own label
    reasons: tuple[str, ...]
    proba: tuple[float, ...]  # per class, in the dataset's class order


@dataclass(frozen=True)
class ReviewQueue:
    """A dataset's queue; ``queue_id`` and ``decisions`` once it is stored (:func:`open_review`)."""

    dataset: str
    dataset_id: int
    classes: tuple[str, ...]
    from_run: int | None
    items: tuple[QueueItem, ...]
    n_found: int
    queue_id: int | None = None
    decisions: tuple[Decision, ...] = ()
    sample: RunSample | None = None  # the development rows judged, when the memory budget left out some

    @property
    def decided(self) -> dict[int, Decision]:
        return {d.row: d for d in self.decisions}

    def next_position(self) -> int | None:
        """The first item without a decision (where a re-opened review continues), or None when all have one."""
        decided = self.decided
        return next((i for i, item in enumerate(self.items) if item.row not in decided), None)

    @property
    def source(self) -> str:
        """Where the probabilities come from, for people."""
        if self.from_run is not None:
            return f"run {self.from_run}'s out-of-fold predictions"
        linear = f"the linear baseline, out of fold ({OOF_FOLDS} folds)"
        return linear if self.sample is None else f"{linear}, {self.sample.describe()}"


@dataclass(frozen=True)
class Finished:
    """What finishing a review did: the version it made (None when no decision changes a row) and the
    number of each decision."""

    version: DatasetInfo | None
    counts: dict[str, int]


# --------------------------------------------------------------------------- the queue


def review_queue(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    from_run: int | str | None = None,
    *,
    jobs: int = 1,
    limit: int = MAX_ITEMS,
) -> ReviewQueue:
    """The queue of a classification dataset's suspicious development rows (computed, not stored)."""
    import numpy as np
    import pandas as pd

    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    if not dataset.is_classification:
        raise InputError(f"label review is for classification datasets; {dataset.name!r} is {dataset.task}")
    classes = list(dataset.classes)
    run = None if from_run is None else get_run(store, from_run)
    if run is not None and run.dataset_id != dataset.id:
        raise InputError(f"run {run.id} is on {run.dataset!r}, not {dataset.name!r}")
    # a run's sample (the rows it predicted), else the rows within the memory budget
    drawn = plan_sample(store, dataset, None, OOF_FOLDS, 0) if run is None else run.sample
    X, y = load_split(store, dataset, "dev", drawn)
    run_id: int | None = None
    predicted: Any = None  # the run's predicted class positions, with from_run
    wrong_reason = ""
    if run is None:
        oof = out_of_fold_proba(X, y, dataset, jobs)
        if oof is None:
            raise InputError(
                f"{dataset.name!r} has too few development rows to judge labels out of fold "
                "(at least 30, and 5 of each class)"
            )
        found, _, found_classes = oof
        proba = np.zeros((len(X), len(classes)))
        proba[:, [classes.index(str(c)) for c in found_classes]] = found
    else:
        p = load_predictions(store, run.id, len(classes))
        if p.proba is None or p.labels is None:
            raise InputError(f"run {run.id} ({run.model}) stored no class probabilities: review without --from")
        position = pd.Index(p.rows).get_indexer(X.index)
        X, y = X[position >= 0], y[position >= 0]
        proba, predicted = p.proba[position[position >= 0]], p.labels[position[position >= 0]]
        run_id, wrong_reason = run.id, f"run {run.id} ({run.model}) predicts"
    labels = np.asarray(pd.Categorical(y, categories=classes).codes, dtype=np.int64)
    reasons: dict[int, list[str]] = {}
    cl = confident_learning(labels, proba)
    for i in cl.issues:
        reasons.setdefault(int(i), []).append(
            "possibly mislabeled (confident learning): " + row_reason(cl, proba, int(i), int(labels[i]), classes)
        )
    position_of = {int(r): i for i, r in enumerate(X.index)}
    for row, text in _conflicts(store, dataset).items():
        if row in position_of:
            reasons.setdefault(position_of[row], []).append(text)
    if predicted is not None:
        for i in np.flatnonzero(predicted != labels):
            c = int(predicted[i])
            reasons.setdefault(int(i), []).append(f"{wrong_reason} {shorten(classes[c], 24)} (p {proba[i, c]:.3f})")
    rows = X.index.to_numpy()
    score = 1.0 - proba[np.arange(len(labels)), labels]
    order = sorted(reasons, key=lambda i: (-score[i], int(rows[i])))
    items = tuple(
        QueueItem(int(rows[i]), classes[labels[i]], float(score[i]), tuple(reasons[i]), tuple(map(float, proba[i])))
        for i in order[:limit]
    )
    return ReviewQueue(
        dataset.name, dataset.id, tuple(classes), run_id, items, len(order), sample=drawn if run is None else None
    )


def _conflicts(store: Store, dataset: DatasetInfo) -> dict[int, str]:
    """Development rows whose identical feature rows (development or test) carry more than one label,
    each with its reason, e.g. ``conflicting labels: 3 identical rows labeled a ×2, b ×1``.

    Found in DuckDB as the quality check finds them (:mod:`core.analysis.structure`), within the
    dataset's memory budget: only the conflicting rows reach Python. A group's labels are counted in
    ``load_split``'s order (development rows, then test rows, by row), most frequent first."""

    def conflicting(con: duckdb.DuckDBPyConnection) -> list[list[tuple[str, int, str]]]:
        rows = labeled_rows(con, dataset)
        keys = compared(rows, ())
        return conflicting_groups(con, rows, keys) if keys else []

    try:
        groups = read_within_budget(store, dataset, conflicting)
    except duckdb.Error as e:
        raise StoreError(f"cannot compare the rows of {dataset.name!r}: {first_line(e)}") from e
    out: dict[int, str] = {}
    for group in groups:
        counts = Counter(label for _, _, label in group).most_common()  # ties in order of appearance
        text = ", ".join(f"{shorten(label, 24)} ×{n}" for label, n in counts)
        for part, row, _ in group:
            if part == "dev":
                out[row] = f"conflicting labels: {len(group)} identical rows labeled {text}"
    return out


# --------------------------------------------------------------------------- stored reviews


def open_review(
    store: Store, dataset_ref: str | int, from_run: int | str | None = None, *, jobs: int = 1
) -> ReviewQueue:
    """The dataset's open review with its decisions; a new one (computed and stored) when none is open.

    An open review made from another run (or from none) is not replaced while it has decisions:
    finish or discard it first."""
    dataset = get_dataset(store, dataset_ref)
    run_id = None if from_run is None else get_run(store, from_run).id
    stored = _read(store, dataset.id)
    if stored is not None:
        queue, made = stored
        if from_run is None or queue.from_run == run_id:
            return _queue(dataset, queue, made)
        if made:
            was = f"run {queue.from_run}" if queue.from_run is not None else "no run"
            raise InputError(
                f"the open review of {dataset.name!r} (from {was}) has {len(made)} decisions: finish it (--finish) "
                "or discard it (--discard) before opening another"
            )
    computed = review_queue(store, dataset, run_id, jobs=jobs)
    items = [
        {"row": i.row, "label": i.label, "score": i.score, "reasons": list(i.reasons), "proba": list(i.proba)}
        for i in computed.items
    ]
    with _writing(store, dataset) as con:
        if stored is not None:
            delete_queue(con, stored[0].id)
        queue_id = insert_queue(con, dataset.id, run_id, items, computed.n_found, time.time(), computed.sample)
    return replace(computed, queue_id=queue_id)


def current_review(store: Store, dataset_ref: str | int) -> ReviewQueue | None:
    """The dataset's open review as stored, or None (nothing is computed)."""
    dataset = get_dataset(store, dataset_ref)
    stored = _read(store, dataset.id)
    return None if stored is None else _queue(dataset, *stored)


def decide(store: Store, dataset_ref: str | int, choices: Sequence[tuple[int, str, str | None]]) -> ReviewQueue:
    """Record ``(row, decision, new label)`` choices in the open review, all or none; the review after them.

    A row must be one of the queue's; a relabel needs one of the dataset's classes other than the row's
    own. A row decided before gets the new decision."""
    dataset = get_dataset(store, dataset_ref)
    with _writing(store, dataset) as con:
        queue = _must_be_open(con, dataset)
        items = {int(i["row"]): i for i in queue.items}
        for row, decision, label in choices:
            _check(con, dataset, items, row, decision, label)
        now = time.time()
        for row, decision, label in choices:
            insert_decision(con, queue.id, dataset.id, row, decision, label if decision == "relabel" else None, now)
        made = decisions(con, queue.id)
    return _queue(dataset, queue, made)


def undo(store: Store, dataset_ref: str | int) -> tuple[Decision, ReviewQueue]:
    """Remove the open review's last decision: it, and the review without it."""
    dataset = get_dataset(store, dataset_ref)
    with _writing(store, dataset) as con:
        queue = _must_be_open(con, dataset)
        removed = delete_last_decision(con, queue.id)
        if removed is None:
            raise InputError(f"no decision to undo in the review of {dataset.name!r}")
        made = decisions(con, queue.id)
    return removed, _queue(dataset, queue, made)


def discard_review(store: Store, dataset_ref: str | int) -> int:
    """Delete the open review and its decisions; how many decisions were lost."""
    dataset = get_dataset(store, dataset_ref)
    with _writing(store, dataset) as con:
        queue = _must_be_open(con, dataset)
        n = len(decisions(con, queue.id))
        delete_queue(con, queue.id)
    return n


def finish_review(store: Store, dataset_ref: str | int, note: str | None = None) -> Finished:
    """Close the open review: its relabel and drop decisions become one new version (in the same
    transaction), whose recipe holds every decision (keep and skip too) under ``review``; when no
    decision changes a row, no version is made and the review is closed all the same."""
    dataset = get_dataset(store, dataset_ref)
    with _writing(store, dataset) as con:
        queue = _must_be_open(con, dataset)
        made = decisions(con, queue.id)
        if not made:
            raise InputError(
                f"nothing decided in the review of {dataset.name!r}: decide rows (keep, relabel, drop, skip) first"
            )
        counts = {d: sum(m.decision == d for m in made) for d in DECISIONS}
        version_id = None
        if counts["relabel"] or counts["drop"]:
            edit = Edit(
                drop_rows=tuple(m.row for m in made if m.decision == "drop"),
                relabel=tuple((m.row, str(m.label)) for m in made if m.decision == "relabel"),
                note=note or NOTE,
                review={
                    "queue": queue.id,
                    "from_run": queue.from_run,
                    "decisions": [
                        {"row": m.row, "decision": m.decision, "label": m.label, "at": m.decided_at} for m in made
                    ],
                },
            )
            version_id = write_version(con, dataset, edit)
        close_queue(con, queue.id, time.time(), version_id)
    return Finished(None if version_id is None else get_dataset(store, version_id), counts)


def queue_to_dict(q: ReviewQueue) -> dict[str, Any]:
    """The JSON shape of ``mlloop review --json``: the queue, each item's probabilities by class and its
    decision (null while undecided)."""
    decided = q.decided
    return {
        "dataset": q.dataset,
        "queue": q.queue_id,
        "from_run": q.from_run,
        "probabilities": q.source,
        "sample": None if q.sample is None else {"rows": q.sample.rows, "of": q.sample.of, "note": q.sample.note},
        "classes": list(q.classes),
        "n_found": q.n_found,
        "n_items": len(q.items),
        "n_decided": sum(i.row in decided for i in q.items),
        "items": [
            {
                "row": i.row,
                "label": i.label,
                "suspicion": round(i.score, 6),
                "reasons": list(i.reasons),
                "proba": {c: round(p, 6) for c, p in zip(q.classes, i.proba)},
                "decision": None
                if i.row not in decided
                else {"decision": decided[i.row].decision, "label": decided[i.row].label},
            }
            for i in q.items
        ],
    }


def _check(
    con: duckdb.DuckDBPyConnection,
    dataset: DatasetInfo,
    items: dict[int, dict[str, Any]],
    row: int,
    decision: str,
    label: str | None,
) -> None:
    if decision not in DECISIONS:
        raise InputError(f"unknown decision {decision!r} (use {', '.join(DECISIONS)})")
    if row not in items:
        part = row_parts(con, data_layout(con, dataset).relation, [row]).get(row)
        if part is None:
            raise InputError(f"no row {row} in {dataset.name!r}")
        if part == "test":
            raise InputError(f"row {row} is a locked test row: a label review never edits the test set")
        raise InputError(f"row {row} is not in the review queue of {dataset.name!r}")
    if decision == "relabel":
        if label not in dataset.classes:
            raise InputError(
                f"cannot relabel row {row} to {label!r}: {dataset.name!r} has no such class "
                f"(classes: {', '.join(dataset.classes)})"
            )
        if label == items[row]["label"]:
            raise InputError(f"row {row} is labeled {label!r} already: keep it instead")


def _read(store: Store, dataset_id: int) -> tuple[StoredQueue, list[Decision]] | None:
    try:
        with store.read() as con:
            queue = open_queue(con, dataset_id)
            return None if queue is None else (queue, decisions(con, queue.id))
    except duckdb.Error as e:
        raise StoreError(f"cannot read the label review: {first_line(e)}") from e


def _must_be_open(con: duckdb.DuckDBPyConnection, dataset: DatasetInfo) -> StoredQueue:
    queue = open_queue(con, dataset.id)
    if queue is None:
        raise InputError(f"no open label review of {dataset.name!r}: `mlloop review {dataset.name}` opens one")
    return queue


def _queue(dataset: DatasetInfo, queue: StoredQueue, made: Sequence[Decision]) -> ReviewQueue:
    items = tuple(
        QueueItem(int(i["row"]), str(i["label"]), float(i["score"]), tuple(i["reasons"]), tuple(i["proba"]))
        for i in queue.items
    )
    return ReviewQueue(
        dataset.name,
        dataset.id,
        dataset.classes,
        queue.from_run,
        items,
        queue.n_found,
        queue.id,
        tuple(made),
        queue.sample,
    )


@contextmanager
def _writing(store: Store, dataset: DatasetInfo) -> Iterator[duckdb.DuckDBPyConnection]:
    """``store.write()``, with DuckDB's errors as one-line store errors."""
    try:
        with store.write() as con:
            yield con
    except duckdb.Error as e:
        raise StoreError(f"cannot save the label review of {dataset.name!r}: {first_line(e)}") from e
