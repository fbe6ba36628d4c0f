"""``mlloop edit``: a new version of a dataset (``NAME@N``) with columns or rows dropped or labels changed.

The parent is never modified; the version records its recipe (:mod:`core.data.versions`).
"""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import out, print_json


def add_parsers(sub) -> None:
    p = sub.add_parser("edit", help="make a new version of a dataset: drop columns or rows, relabel rows")
    p.add_argument("dataset", help="dataset (or version) name or id")
    p.add_argument("--drop-columns", metavar="A,B", help="comma-separated columns to drop")
    p.add_argument("--keep-columns", metavar="A,B", help="comma-separated columns to keep (the target always stays)")
    p.add_argument("--drop-rows", metavar="ROWS", help="comma-separated row ids to drop (as `mlloop errors` shows)")
    p.add_argument(
        "--drop-duplicates", action="store_true", help="drop rows identical (all kept columns) to an earlier row"
    )
    p.add_argument(
        "--relabel", nargs="+", action="extend", default=[], metavar="ROW=LABEL", help="give rows a new label"
    )
    p.add_argument(
        "--include-test", action="store_true", help="allow editing locked test rows (recorded; tests then warn)"
    )
    p.add_argument("--name", help="the version's name (default: NAME@N, the next version number)")
    p.add_argument("--note", help="why: kept in the recipe")
    p.add_argument("--json", action="store_true", help="print the new version as JSON")
    p.set_defaults(handler=cmd_edit)


def cmd_edit(args: argparse.Namespace) -> int:
    from core.data.versions import Edit, create_version, describe_recipe, version_fields
    from core.report.serialize import dataset_to_dict
    from mlloop_tui.cli.store import open_store

    edit = Edit(
        drop_columns=_names(args.drop_columns),
        keep_columns=_names(args.keep_columns),
        drop_rows=tuple(_row(r) for r in _names(args.drop_rows)),
        drop_duplicates=args.drop_duplicates,
        relabel=tuple(_relabel(v) for v in args.relabel),
        include_test=args.include_test,
        name=args.name,
        note=args.note,
    )
    store = open_store(args)
    version = create_version(store, args.dataset, edit)
    if args.json:
        print_json({**dataset_to_dict(version), **version_fields(store, version)})
        return 0
    out(version.name)
    out(describe_recipe(version))
    out(f"{version.n_rows} rows ({version.n_dev} development, {version.n_test} test), {version.n_cols} columns")
    return 0


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else ()


def _row(text: str) -> int:
    from core.errors import InputError

    try:
        return int(text)
    except ValueError:
        raise InputError(f"row ids are whole numbers, not {text!r}") from None


def _relabel(text: str) -> tuple[int, str]:
    from core.errors import InputError

    row, sep, label = text.partition("=")
    if not sep:
        raise InputError(f"--relabel {text!r}: expected ROW=LABEL, e.g. 12=Adelie")
    return _row(row.strip()), label
