"""``mlloop import`` and ``mlloop datasets``: bringing a file in as a dataset, and listing or profiling datasets."""

from __future__ import annotations

import argparse
import sys

from mlloop_tui.cli.output import fmt, out, print_json, print_table, status
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("import", help="import a CSV or Parquet file (or a directory or glob of them) as a dataset")
    p.add_argument(
        "file",
        help="a .csv/.tsv/.txt (optionally .gz) or .parquet file, a directory of them, or a quoted glob such as "
        "'logs/2026-*.csv': files with the same columns, read as one table in sorted order",
    )
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument(
        "--name",
        help="dataset name (default: the file name without extension; for a directory or a glob, its folder's name)",
    )
    p.add_argument("--task", help="override the inferred task: binary, multiclass or regression; or ranking")
    p.add_argument(
        "--group", help="ranking: the column whose rows form one query (kept together in splits, never a feature)"
    )
    p.add_argument(
        "--test-size", type=float, default=0.2, help="fraction held out as the locked test set (default 0.2)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the hold-out split (default 0)")
    p.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    p.add_argument("--encoding", help="text encoding: utf-8, utf-16, latin-1 (default: detected)")
    p.add_argument(
        "--na",
        metavar="VALUES",
        help="comma-separated unquoted values read as missing, replacing the default list "
        '(NA, N/A, NaN, NULL, None ...); an empty field is always missing, a quoted value never (--na "": only empty)',
    )
    p.add_argument(
        "--ignore", metavar="COLS", help="comma-separated columns that are not features (kept, shown, never modelled)"
    )
    p.add_argument(
        "--use", metavar="COLS", help="comma-separated columns used as features even if they look like identifiers"
    )
    p.add_argument(
        "--memory",
        metavar="SIZE",
        help="memory DuckDB may use for the import, e.g. 2GB (default: 256MB, doubled while it runs out, up to half "
        "the RAM); beyond it, it spills to a temporary folder next to the store",
    )
    p.add_argument(
        "--progress", action="store_true", help="print progress lines to stderr even when it is not a terminal"
    )
    p.add_argument("--json", action="store_true", help="print the dataset as JSON")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("datasets", help="list datasets, or show one dataset's column profile")
    p.add_argument("dataset", nargs="?", help="a dataset name or id: show its profile")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_datasets)


def cmd_import(args: argparse.Namespace) -> int:
    from core.data.importing import import_dataset
    from mlloop_tui.background import start_checker

    store = open_store(args)
    tty = sys.stderr.isatty()
    try:
        info = import_dataset(
            store,
            args.file,
            args.target,
            name=args.name,
            task=args.task,
            test_size=args.test_size,
            seed=args.seed,
            encoding=args.encoding,
            delimiter=args.delimiter,
            group=args.group,
            na=args.na,
            ignore=args.ignore,
            use=args.use,
            memory=args.memory,
            progress=import_progress(tty) if tty or args.progress else None,
        )
    finally:
        if tty:
            status("")
    start_checker(store.path)  # the data-quality check behind the scores' warnings, in the background
    if args.json:
        from core.report.serialize import dataset_to_dict

        print_json(dataset_to_dict(info))
    else:
        print_dataset(info)
    return 0


def import_progress(tty: bool):
    """The import's progress: a status line redrawn on a terminal, else a line per stage and per tenth."""
    printed: list[tuple[str, int]] = []

    def report(step) -> None:
        if tty:
            status(step.line())
            return
        key = (step.stage, int((step.fraction or 0) * 10))
        if not printed or printed[-1] != key:
            printed.append(key)
            out(step.line(), err=True)

    return report


def cmd_datasets(args: argparse.Namespace) -> int:
    from core.report.serialize import dataset_to_dict
    from core.store.datasets import get_dataset, list_datasets

    store = open_store(args)
    if args.dataset:
        from core.data.versions import describe_recipe, version_fields

        info = get_dataset(store, args.dataset)
        if args.json:
            print_json({**dataset_to_dict(info), **version_fields(store, info)})
        else:
            print_dataset(info)
            if info.parent_id is not None:
                out(f"version: {describe_recipe(info)}")
        return 0
    infos = list_datasets(store)
    names = {d.id: d.name for d in infos}
    if args.json:
        print_json([{**dataset_to_dict(d, columns=False), "parent": names.get(d.parent_id or -1)} for d in infos])
        return 0
    if not infos:
        out("no datasets yet: `mlloop import FILE --target COLUMN`, or `mlloop demo`")
        return 0
    print_table(
        ["id", "name", "rows", "cols", "task", "target", "dev", "test", "from"],
        [
            [d.id, d.name, d.n_rows, d.n_cols, d.task, d.target, d.n_dev, d.n_test, names.get(d.parent_id or -1, "")]
            for d in infos
        ],
    )
    return 0


def print_dataset(d) -> None:
    out(f"dataset {d.id} {d.name!s}: {d.n_rows} rows × {d.n_cols} columns from {d.source}")
    out(f"target {d.target!s} ({d.task}{': ' + ', '.join(d.classes) if d.classes else ''})")
    if d.group is not None:
        out(f"group {d.group!s}: a query's rows stay together in every split and it is not a feature")
    out(
        f"split: {d.n_dev} development rows, {d.n_test} locked test rows (test size {d.test_size}, "
        f"seed {d.split_seed}), {d.n_unlabeled} unlabeled"
    )
    for note in d.notes:
        out(f"note: {note}")
    if d.columns:
        out()
        print_table(
            ["#", "column", "role", "type", "kind", "missing", "distinct", "min", "max", "mean", "top values"],
            [
                [
                    c.position,
                    c.name,
                    c.role,
                    c.sql_type,
                    c.kind,
                    c.n_missing,
                    c.n_distinct,
                    c.min,
                    c.max,
                    fmt(c.mean, 3),
                    ", ".join(f"{v} ({n})" for v, n in c.top_values[:3]),
                ]
                for c in d.columns
            ],
        )
