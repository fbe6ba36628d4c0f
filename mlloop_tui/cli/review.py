"""``mlloop review``: a dataset's label-review queue, and a scriptable way to walk it.

With no action, prints the queue (opening it, which fits the label-issue model, when none is open):
each suspicious development row with its label, suspicion, class probabilities, reasons and the
decision made on it. ``--keep/--relabel/--drop/--skip`` record decisions (the moment the command
runs), ``--undo`` removes the last one, ``--finish`` turns them into one new version
(:mod:`core.analysis.review`) and ``--discard`` drops the open review. Bad input changes nothing.
"""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import out, print_json, print_table
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("review", help="walk a dataset's suspicious labels: keep, relabel, drop; finish as a version")
    p.add_argument("dataset", help="dataset (or version) name or id")
    p.add_argument(
        "--from", dest="from_run", metavar="RUN", help="add RUN's wrong rows; use its out-of-fold probabilities"
    )
    decisions = p.add_argument_group("decisions (saved at once; a row decided again gets the new decision)")
    for name, what in (("keep", "the label is right"), ("drop", "drop the row"), ("skip", "pass, undecided")):
        decisions.add_argument(
            f"--{name}", nargs="+", action="extend", default=[], metavar="ROW", help=f"{what} (row ids)"
        )
    decisions.add_argument(
        "--relabel", nargs="+", action="extend", default=[], metavar="ROW=LABEL", help="give rows a new label"
    )
    p.add_argument("--undo", action="store_true", help="remove the last decision")
    p.add_argument("--finish", action="store_true", help="make one new version of the relabels and drops; close")
    p.add_argument("--note", help="with --finish: the version's note (default: label review)")
    p.add_argument("--discard", action="store_true", help="delete the open review and its decisions")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the label-issue model (default 1)")
    p.add_argument("--json", action="store_true", help="print the queue (or the finished review) as JSON")
    p.set_defaults(handler=cmd_review)


def cmd_review(args: argparse.Namespace) -> int:
    from core.analysis import review
    from core.errors import InputError

    choices = [(_row(r), d, None) for d in ("keep", "drop", "skip") for r in getattr(args, d)]
    for text in args.relabel:
        row, sep, label = text.partition("=")
        if not sep:
            raise InputError(f"--relabel {text!r}: expected ROW=LABEL, e.g. 12=Adelie")
        choices.append((_row(row), "relabel", label))
    if sum([bool(choices), args.undo, args.discard]) > 1 or (args.finish and (args.undo or args.discard)):
        raise InputError("give decisions, --undo or --discard, one at a time (decisions may end with --finish)")
    if args.note is not None and not args.finish:
        raise InputError("--note goes with --finish")
    store = open_store(args)
    if args.discard:
        n = review.discard_review(store, args.dataset)
        out(f"discarded the open review of {args.dataset} and its {n} decision{'s' if n != 1 else ''}")
        return 0
    if args.undo:
        removed, queue = review.undo(store, args.dataset)
        out(f"undone: row {removed.row} {_decision_text(removed.decision, removed.label)}; {_progress(queue)}")
        return 0
    if choices:
        review.open_review(store, args.dataset, args.from_run, jobs=args.jobs)  # opened first, if none is
        queue = review.decide(store, args.dataset, choices)
        if not args.finish:
            if args.json:
                print_json(review.queue_to_dict(queue))
                return 0
            for row, decision, label in choices:
                out(f"row {row}: {_decision_text(decision, label)}")
            out(_progress(queue))
            return 0
    if args.finish:
        return _finish(store, args)
    queue = review.open_review(store, args.dataset, args.from_run, jobs=args.jobs)
    if args.json:
        print_json(review.queue_to_dict(queue))
        return 0
    _print_queue(queue)
    return 0


def _finish(store, args: argparse.Namespace) -> int:
    from core.analysis.review import finish_review
    from core.data.versions import describe_recipe

    done = finish_review(store, args.dataset, args.note)
    counts = ", ".join(f"{n} {d}" for d, n in done.counts.items() if n)
    if args.json:
        print_json({"version": None if done.version is None else done.version.name, "decisions": done.counts})
        return 0
    if done.version is None:
        out(f"review closed ({counts}): no decision relabels or drops a row, so no version was made")
        return 0
    out(done.version.name)
    out(describe_recipe(done.version))
    out(f"review closed ({counts})")
    return 0


def _print_queue(queue) -> None:
    from mlloop_tui.cli.output import fmt

    decided = queue.decided
    if not queue.items:
        out(f"no suspicious labels in {queue.dataset} (probabilities: {queue.source})")
        return
    shown = f"the {len(queue.items)} most suspicious of {queue.n_found}" if queue.n_found > len(queue.items) else ""
    out(
        f"label review of {queue.dataset}: {len(queue.items)} rows {shown}".rstrip()
        + f"; {_progress(queue)}; probabilities: {queue.source}"
    )
    headers = ["#", "row", "label", "suspicion", *(f"p({c})" for c in queue.classes), "decision", "reasons"]
    rows = [
        [
            n,
            item.row,
            item.label,
            fmt(item.score, 3),
            *(fmt(p, 3) for p in item.proba),
            _decision_text(decided[item.row].decision, decided[item.row].label) if item.row in decided else "",
            "; ".join(item.reasons),
        ]
        for n, item in enumerate(queue.items, 1)
    ]
    print_table(headers, rows)
    out(
        f"decide: mlloop review {queue.dataset} --keep ROW | --relabel ROW=LABEL | --drop ROW | --skip ROW; "
        "then --finish (or --undo)"
    )


def _row(text: str) -> int:
    from core.errors import InputError

    try:
        return int(text.strip())
    except ValueError:
        raise InputError(f"row ids are whole numbers, not {text!r}") from None


def _decision_text(decision: str, label: str | None) -> str:
    return f"relabel to {label}" if decision == "relabel" else decision


def _progress(queue) -> str:
    decided = queue.decided
    n = sum(item.row in decided for item in queue.items)
    return f"{n} of {len(queue.items)} decided"
