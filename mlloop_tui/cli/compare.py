"""``mlloop compare``: runs side by side, and each run against the reference with a significance test.

Prints the comparison summary the exports write (:func:`core.report.run_summary.comparison_summary`):
the side-by-side table and every pair's test with its p-value and one-line explanation.
"""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import print_blocks, print_json
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("compare", help="runs side by side, with a significance test where they share folds")
    p.add_argument("runs", nargs="+", metavar="RUN", help="two or more run ids")
    p.add_argument("--reference", metavar="RUN", help="the run the others are measured against (default: the first)")
    p.add_argument("--metric", help="the metric to test (default: accuracy for classification, rmse for regression)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from core.analysis.compare import compare_runs

    comparison = compare_runs(open_store(args), args.runs, reference=args.reference, metric=args.metric)
    if args.json:
        from core.report.serialize import comparison_to_dict

        print_json(comparison_to_dict(comparison))
        return 0
    from core.report.run_summary import comparison_summary

    print_blocks(comparison_summary(comparison))
    return 0
