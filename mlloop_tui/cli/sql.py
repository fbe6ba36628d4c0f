"""``mlloop sql`` and ``mlloop export-table``: the store's public views (README: "Use the store from other
tools") queried with SQL, or written out as Parquet or CSV files."""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import out, print_blocks, print_json
from mlloop_tui.cli.store import open_store

TABLES = ("runs", "run_metrics", "folds", "fold_scores", "curves", "datasets", "test_evaluations")


def add_parsers(sub) -> None:
    p = sub.add_parser("sql", help="run one read-only SQL query on the store's views (runs_v, fold_scores_v, ...)")
    p.add_argument("query", metavar="QUERY", help='one SELECT, e.g. "select * from runs_v"')
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the rows as a JSON list of objects")
    form.add_argument("--csv", action="store_true", help="print the rows as CSV")
    p.set_defaults(handler=cmd_sql)

    p = sub.add_parser("export-table", help="write a view of the store (runs, folds, ...) as Parquet or CSV")
    p.add_argument("table", metavar="NAME", help=f"one of: {', '.join(TABLES)}")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write: .parquet or .csv")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(handler=cmd_export_table)


def cmd_sql(args: argparse.Namespace) -> int:
    from core.store.query import run_query

    result = run_query(open_store(args), args.query)  # the store is let go before anything is printed
    if args.json:
        from core.report.tables import json_records

        print_json(json_records(result))
    elif args.csv:
        from core.report.tables import csv_lines

        for line in csv_lines(result):
            out(line)
    else:
        from core.report.blocks import Table

        numeric = [isinstance(v, (int, float)) and not isinstance(v, bool) for v in (result.rows or [()])[0]]
        print_blocks([Table(list(result.columns), [[_cell(v) for v in row] for row in result.rows], numeric)])
        out(f"({len(result.rows)} row{'' if len(result.rows) == 1 else 's'})")
    return 0


def cmd_export_table(args: argparse.Namespace) -> int:
    from core.report.tables import export_table

    out(export_table(open_store(args), args.table, args.output, overwrite=args.force))
    return 0


def _cell(value: object) -> str:
    """A value as the table shows it: NULL, numbers to 6 significant digits (--json and --csv are exact)."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
