"""The runs table on ranking runs: NDCG@10 (the key metric) and MRR are its metric columns."""

from __future__ import annotations

from dataclasses import replace

from core.store.run_listing import RunListing
from core.types import MetricSummary
from mlloop_tui.widgets.runs_table import RunsTable, mean_std
from tests.tui.test_runs_table import TableApp, column_index, run


async def test_ranking_runs_show_ndcg_at_10_and_mrr():
    summaries = {
        "ndcg_10": MetricSummary("ndcg_10", 0.99, 0.01, 0.9703, 0.0084, 5),
        "mrr": MetricSummary("mrr", 1.0, 0.0, 0.8559, 0.0118, 5),
        "ndcg_5": MetricSummary("ndcg_5", 0.99, 0.01, 0.95, 0.01, 5),
    }
    record = replace(run(1), task="ranking", dataset="queries", summaries=summaries)
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(RunsTable)
        table.set_listing(RunListing.from_records([record]))
        await pilot.pause()
        assert table.metric_names == ["ndcg_10", "mrr"]
        labels = [c.label for c in table.columns_spec]
        assert any("NDCG@10" in label for label in labels) and any("MRR" in label for label in labels)
        cell = str(table.get_row_at(0)[column_index(table, "m:ndcg_10")])
        assert cell == mean_std(record, "ndcg_10") != "-"
