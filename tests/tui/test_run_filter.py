"""The runs table's filter language on its own: fields, metric conditions, several terms, errors;
and the runs table's listing (SQL) matching the same runs as the filter says of each record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.store.run_listing import RunListing
from core.types import MetricSummary
from mlloop_tui.run_filter import FilterError, parse_filter
from tests.tui.test_runs_table import run

METRICS = {"accuracy", "roc_auc", "rmse"}


def summary(metric: str, val_mean: float) -> MetricSummary:
    return MetricSummary(metric, val_mean, 0.0, val_mean, 0.01, 5)


RUNS = [
    replace(run(1), model="tree", dataset="penguins", status="done", summaries={"accuracy": summary("accuracy", 0.9)}),
    replace(
        run(2),
        model="linear",
        dataset="penguins",
        status="running",
        n_folds_done=2,
        summaries={"accuracy": summary("accuracy", 0.8)},
    ),
    replace(run(3), model="tree", dataset="Titanic", status="failed", summaries={}),
    replace(
        run(4),
        model="forest",
        dataset="houses",
        task="regression",
        status="done",
        summaries={"rmse": summary("rmse", 3.0)},
    ),
    replace(
        run(5),
        model="linear",
        dataset="houses",
        task="regression",
        status="done",
        summaries={"rmse": summary("rmse", 3.5)},
    ),
    replace(
        run(6),
        model="dummy",
        dataset="penguins",
        status="done",
        summaries={"accuracy": summary("accuracy", float("nan"))},
    ),
]


def matching(text: str) -> list[int]:
    f = parse_filter(text, METRICS)
    return [r.id for r in RUNS if f.matches(r)]


def test_an_empty_filter_matches_every_run():
    assert matching("") == matching("   ") == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("status:done", [1, 4, 5, 6]),
        ("status:running", [2]),
        ("STATUS:Failed", [3]),  # field names and values ignore case
        ("model:tree", [1, 3]),
        ("model:lin", [2, 5]),  # a part of the value is enough
        ("dataset:titanic", [3]),
    ],
)
def test_a_field_term_looks_in_that_field_only(text, ids):
    assert matching(text) == ids


def test_a_plain_word_looks_in_the_dataset_model_and_status():
    assert matching("done") == [1, 4, 5, 6]
    assert matching("houses") == [4, 5]
    assert matching("Tree") == [1, 3]
    assert matching("params:x") == []  # not a field: the whole term is a word, found nowhere


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("rmse<=3", [4]),  # the bound itself is kept by <= and >=, dropped by < and >
        ("rmse<3", []),
        ("rmse>=3.5", [5]),
        ("rmse>3", [5]),
        ("rmse=3", [4]),
        ("accuracy>=0.8", [1, 2]),
        ("accuracy>0.8", [1]),
        ("accuracy<1e9", [1, 2]),  # runs without the metric, or with a NaN mean, never match a condition
    ],
)
def test_a_metric_condition_compares_the_mean_validation_score(text, ids):
    assert matching(text) == ids


def test_every_term_of_a_filter_must_match():
    assert matching("status:done model:tree") == [1]
    assert matching("penguins accuracy>=0.8") == [1, 2]
    assert matching("penguins accuracy>=0.8 status:done") == [1]
    assert matching("houses rmse<=3.5 linear") == [5]
    assert matching("model:tree rmse<=3") == []  # each term matches some run, none matches both
    assert parse_filter("status:done  model:tree", METRICS).text == "status:done  model:tree"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acc>0.8", "unknown metric 'acc' (metrics: accuracy, rmse, roc_auc)"),
        ("status:done Accuracy>=0.8", "unknown metric 'Accuracy'"),  # metric names are exact
        ("accuracy>=high", "'accuracy>=high': 'high' is not a number"),
        ("accuracy==0.8", "'accuracy==0.8': '=0.8' is not a number"),
    ],
)
def test_a_bad_term_is_an_error_that_names_it(text, message):
    with pytest.raises(FilterError) as raised:
        parse_filter(text, METRICS)
    assert message in str(raised.value)


def test_a_metric_condition_before_any_run_says_there_are_no_metrics_yet():
    with pytest.raises(FilterError, match=r"unknown metric 'accuracy' \(metrics: none yet\)"):
        parse_filter("accuracy>0.5", set())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "status:done",
        "STATUS:Failed",
        "model:lin",
        "dataset:titanic",
        "Tree",
        "params:x",
        "houses",
        "rmse<=3",
        "rmse<3",
        "rmse>=3.5",
        "rmse=3",
        "accuracy>0.8",
        "accuracy<1e9",
        "penguins accuracy>=0.8 status:done",
        "houses rmse<=3.5 linear",
        "model:tree rmse<=3",
    ],
)
def test_the_runs_tables_listing_runs_a_filter_as_the_filter_matches_records(text):
    listing = RunListing.from_records(RUNS)
    assert listing.order(parse_filter(text, METRICS).terms, "id", False) == matching(text)
