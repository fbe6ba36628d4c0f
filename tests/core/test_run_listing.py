"""The runs table's listing: the same runs as list_runs, sorted and filtered in DuckDB as the table
sorted and filtered Python records (ties newest first, missing and NaN scores after every score)."""

from __future__ import annotations

import math
import socket

import pytest

from core.store.run_listing import MetricTerm, RunListing, TextTerm
from core.store.runs import list_runs
from core.types import MetricSummary
from tests.tui.test_runs_table import run


def test_a_listing_reads_every_run_as_list_runs_does(runs_store):
    listing = RunListing.read(runs_store)
    expected = list_runs(runs_store)
    assert listing.count == len(expected) == 3 and listing.tasks == ("binary",) and not listing.active
    assert listing.order([], "id", True) == [r.id for r in expected]
    records = listing.records([r.id for r in expected])
    assert [repr(records[r.id]) for r in expected] == [repr(r) for r in expected]  # repr: NaN equals NaN
    newest = RunListing.read(runs_store, limit=2)
    assert newest.count == 2 and newest.order([], "id", True) == [r.id for r in expected[:2]]
    assert newest.records([expected[0].id])[expected[0].id].summaries == expected[0].summaries


def test_a_run_whose_process_is_gone_is_listed_sorted_and_filtered_as_interrupted(runs_store):
    gone = list_runs(runs_store)[1].id
    with runs_store.write() as con:  # "running" on this host, by a pid that does not exist
        con.execute(
            "UPDATE runs SET status = 'running', pid = 2147483646, host = ? WHERE id = ?", [socket.gethostname(), gone]
        )
    listing = RunListing.read(runs_store)
    assert listing.order([TextTerm(("status",), "interrupted")], "id", True) == [gone]
    assert listing.order([TextTerm(("status",), "running")], "id", True) == []
    assert listing.records([gone])[gone].status == "interrupted" and not listing.active


def _summaries(acc: float | None, auc: float | None) -> dict[str, MetricSummary]:
    out = {}
    if acc is not None:
        out["accuracy"] = MetricSummary("accuracy", 1.0, 0.0, acc, 0.01, 5)
    if auc is not None:
        out["roc_auc"] = MetricSummary("roc_auc", 1.0, 0.0, auc, math.nan, 1)
    return out


RECORDS = [
    run(1, dataset="Beta", summaries=_summaries(0.8, 0.7)),
    run(2, dataset="alpha", status="failed", duration_s=None, cost_s=None, summaries={}),
    run(3, dataset="beta", summaries=_summaries(math.nan, 0.9)),
    run(
        4,
        dataset="Alpha",
        status="running",
        n_folds_done=2,
        duration_s=None,
        group_wall_s=None,
        summaries=_summaries(0.8, None),
    ),
    run(5, dataset="gamma", summaries=_summaries(0.6, 0.7)),
    run(6, dataset="beta", group_id=1, summaries=_summaries(0.9, math.nan)),
    run(7, dataset="alpha", status="running", n_folds_done=4, summaries=_summaries(0.8, 0.7)),
]
MARKED = {3, 6}


def _metric_key(metric: str):
    def key(r):
        s = r.summaries.get(metric)
        return (s is None or math.isnan(s.val_mean), s.val_mean if s else 0.0)

    return key


# the runs table's sort keys before they became SQL: a stable sort of the newest-first list
PYTHON_KEYS = {
    "mark": lambda r: r.id in MARKED,
    "id": lambda r: r.id,
    "group": lambda r: (r.group_id, r.id),
    "dataset": lambda r: r.dataset.lower(),
    "model": lambda r: r.model,
    "status": lambda r: (r.status, r.n_folds_done),
    "time": lambda r: r.cost_s if r.cost_s is not None else -1.0,
    "wall": lambda r: r.group_wall_s if r.group_wall_s is not None else -1.0,
    "m:accuracy": _metric_key("accuracy"),
    "m:roc_auc": _metric_key("roc_auc"),
    "m:rmse": _metric_key("rmse"),  # no run has it: the newest-first order
}


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", list(PYTHON_KEYS))
def test_order_is_a_stable_sort_of_the_newest_first_runs(sort, descending):
    newest_first = sorted(RECORDS, key=lambda r: r.id, reverse=True)
    expected = sorted(newest_first, key=PYTHON_KEYS[sort], reverse=descending)
    listing = RunListing.from_records(RECORDS)
    assert listing.order([], sort, descending, MARKED) == [r.id for r in expected]


def test_an_order_asked_again_is_the_same_whatever_was_asked_between():
    """Orders are remembered per listing (clearing a filter repaints without a query): asked again in any
    sequence, each must equal a fresh listing's, and the mark column's must follow the marks of the call."""
    remembered = RunListing.from_records(RECORDS)
    asks = [
        ([], "id", True, ()),
        ([TextTerm(("dataset",), "alpha")], "id", True, ()),
        ([], "m:accuracy", False, ()),
        ([], "mark", True, (3,)),
        ([], "mark", True, (6,)),
        ([MetricTerm("accuracy", ">=", 0.8)], "dataset", False, ()),
    ]
    for terms, sort, descending, marked in [*asks, *reversed(asks), *asks]:
        marks = list(marked)
        fresh = RunListing.from_records(RECORDS).order(terms, sort, descending, marks)
        assert remembered.order(terms, sort, descending, iter(marks)) == fresh, (terms, sort, marks)
    shown = remembered.order([], "id", True)
    shown.append(99)  # the caller's list is its own
    assert remembered.order([], "id", True) == [7, 6, 5, 4, 3, 2, 1]
    assert remembered.order([], "mark", True, [3])[0] == 3 and remembered.order([], "mark", True, [6])[0] == 6


def test_terms_combine_and_the_listing_keeps_records_as_they_were():
    listing = RunListing.from_records(RECORDS)
    assert listing.order([TextTerm(("dataset",), "alpha"), MetricTerm("accuracy", ">=", 0.8)], "id", True) == [7, 4]
    assert listing.order([MetricTerm("roc_auc", "<", 1.0)], "id", False) == [1, 3, 5, 7]  # NaN and missing: never
    assert listing.order([MetricTerm("rmse", ">", 0.0)], "id", False) == []
    assert listing.order([TextTerm(("dataset", "model", "status"), "runn")], "id", False) == [4, 7]
    assert listing.present({3, 99}) == {3}
    records = listing.records([4, 6])
    assert repr(records[4]) == repr(RECORDS[3])
    assert (
        records[6].group_id == 1
        and records[6].summaries["roc_auc"].val_mean != records[6].summaries["roc_auc"].val_mean
    )
