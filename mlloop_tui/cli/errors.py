"""``mlloop errors``: where a run is wrong, from its stored out-of-fold predictions.

Prints the error analysis blocks (:func:`core.report.errors_summary.errors_summary`): the confusion
matrix, per-class scores and most confidently wrong rows, or the residuals, largest errors and error
by decile of the target; then the weakest slices. A run stored before predictions were kept says
to re-run it (exit 2).
"""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import print_blocks, print_json
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("errors", help="where a run is wrong: confusion matrix or residuals, worst rows, weakest slices")
    p.add_argument("run", help="run id")
    p.add_argument("--repeat", type=int, default=0, help="which repeat's predictions, 0-based (default 0)")
    p.add_argument("--top", type=int, metavar="N", help="rows and slices to list (default 10)")
    p.add_argument("--min-slice", type=int, metavar="N", help="smallest slice reported, in rows (default 30)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_errors)


def cmd_errors(args: argparse.Namespace) -> int:
    from core.analysis.errors import TOP, analyse_run
    from core.analysis.slices import MIN_SLICE

    top = TOP if args.top is None else args.top
    min_slice = MIN_SLICE if args.min_slice is None else args.min_slice
    analysis = analyse_run(open_store(args), args.run, repeat=args.repeat, top=top, min_slice=min_slice)
    if args.json:
        from core.analysis.errors import errors_to_dict

        print_json(errors_to_dict(analysis))
        return 0
    from core.report.errors_summary import errors_summary

    print_blocks(errors_summary(analysis))
    return 0
