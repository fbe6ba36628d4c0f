"""The ML-loop commands: ``curve``, ``diagnose``, ``tune``, ``test`` and ``target``.

``diagnose`` prints the diagnosis blocks of the run summary the exports write
(:func:`core.report.run_summary.diagnosis_summary`); the others print their own lines and tables.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlloop_tui.cli.output import (
    PointPrinter,
    ProgressPrinter,
    fmt,
    mean_std,
    out,
    print_blocks,
    print_json,
    print_table,
    write,
)
from mlloop_tui.cli.params import parse_grid, parse_values
from mlloop_tui.cli.runs import add_cluster_argument, add_queue_argument
from mlloop_tui.cli.store import open_store

if TYPE_CHECKING:
    from core.store import Store


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "curve", help="a run's learning curve (or --validation curve), on its folds, stored point by point"
    )
    p.add_argument("run", help="run id")
    p.add_argument(
        "--validation",
        action="store_true",
        help="the validation curve over a parameter (default: the model's complexity knob)",
    )
    p.add_argument("--param", metavar="NAME", help="validation curve: the parameter (default: the model's knob)")
    p.add_argument(
        "--values", metavar="V1,V2,...", help="validation curve: the values to try (default: the knob's grid)"
    )
    p.add_argument("--sizes", metavar="N1,N2,...", help="learning curve: training sizes (default: 6, log-spaced)")
    p.add_argument("--metric", help="the metric to print (default: accuracy, or rmse for regression)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    add_cluster_argument(p)
    add_machine_queue_argument(p)
    p.add_argument("--json", action="store_true", help="print the curve as JSON")
    p.set_defaults(handler=cmd_curve)

    p = sub.add_parser("diagnose", help="a run's bottleneck (training, validation, test or none) and what to try next")
    p.add_argument("run", help="run id")
    p.add_argument("--compute", action="store_true", help="compute the learning curve first if it is not stored")
    p.add_argument("--jobs", type=int, default=-1, help="worker processes for --compute (default: all cores)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_diagnose)

    p = sub.add_parser("tune", help="hyper-parameter search from a run: every candidate is a run, in one group")
    p.add_argument("run", help="the run to start from (its model, parameters and folds)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        required=True,
        metavar="NAME=V1,V2,...",
        help="a parameter and the values to try, e.g. max_depth=2,4,8,null (repeatable)",
    )
    p.add_argument("--random", type=int, metavar="N", help="try N candidates drawn at random from the grid")
    p.add_argument("--seed", type=int, default=0, help="seed of the --random draw (default 0)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    add_cluster_argument(p)
    add_queue_argument(p)
    p.add_argument("--json", action="store_true", help="print the search as JSON")
    p.set_defaults(handler=cmd_tune)

    p = sub.add_parser("test", help="evaluate a run on its dataset's locked test rows (recorded and counted)")
    p.add_argument("run", help="run id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_machine_queue_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_test)

    p = sub.add_parser("target", help="set or show a dataset's target score (human-level, an existing system's)")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("score", nargs="?", help="the score, e.g. 0.95 (accuracy) or 3.2 (rmse); omit it to show the target")
    p.add_argument("--metric", help="the score's metric (default: accuracy, or rmse for regression)")
    p.add_argument("--note", help="where the score comes from, e.g. 'two annotators agree 95%%'")
    p.add_argument("--clear", action="store_true", help="remove the dataset's target")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_target)


def add_machine_queue_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--queue",
        action="store_true",
        help="wait until the runs working or queued on this store are done, then hold the queue (as the app does)",
    )


@contextlib.contextmanager
def queued_if_asked(args: argparse.Namespace, store: Store) -> Iterator[None]:
    """With ``--queue`` (and no cluster: its fits do not use this machine), the block waits its turn
    in the store's run queue (:func:`core.store.run_queue.machine_turn`)."""
    if not args.queue or getattr(args, "cluster", None):
        yield
        return
    from core.store.run_queue import machine_turn

    with machine_turn(store, lambda: None):
        yield


def cmd_curve(args: argparse.Namespace) -> int:
    from core.analysis.curves import learning_curve, validation_curve
    from core.errors import InputError
    from core.modeling.metrics import resolve_metric
    from core.store.runs import get_run

    store = open_store(args)
    metric = None if args.metric is None else resolve_metric(args.metric, get_run(store, args.run).task).name
    progress = PointPrinter()

    def on_point(p) -> None:
        progress.show(f"{p.kind} curve of run {p.run_id}: {p.done}/{p.total} points")

    if args.validation:
        if args.sizes:
            raise InputError("--sizes is for learning curves; a validation curve takes --param and --values")
        values = parse_values(args.values, args.param or "--values") if args.values is not None else None
        with queued_if_asked(args, store):
            curve = validation_curve(
                store, args.run, args.param, values, jobs=args.jobs, on_point=on_point, cluster=args.cluster
            )
    else:
        if args.param or args.values is not None:
            raise InputError("--param and --values are for validation curves: add --validation")
        sizes = parse_values(args.sizes, "--sizes") if args.sizes is not None else None
        with queued_if_asked(args, store):
            curve = learning_curve(store, args.run, sizes, jobs=args.jobs, on_point=on_point, cluster=args.cluster)
    progress.close()
    if args.json:
        from core.report.serialize import curve_to_dict

        print_json(curve_to_dict(curve))
        return 0
    _print_curve(curve, metric)
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from core.analysis.diagnosis import diagnose

    d = diagnose(open_store(args), args.run, compute_curve=args.compute, jobs=args.jobs)
    if args.json:
        from core.report.serialize import diagnosis_to_dict

        print_json(diagnosis_to_dict(d))
        return 0
    from core.report.run_summary import diagnosis_summary

    print_blocks(diagnosis_summary(d))
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from core.analysis.tuning import get_search, tune
    from core.store.runs import get_run

    store = open_store(args)
    grid = parse_grid(args.param)
    progress = ProgressPrinter()
    run_ids = tune(
        store,
        args.run,
        grid,
        random=args.random,
        seed=args.seed,
        jobs=args.jobs,
        on_created=progress.created,
        on_progress=progress.update,
        cluster=args.cluster,
        queue=args.queue,
    )
    progress.close()
    search = get_search(store, get_run(store, run_ids[0]).group_id)
    if args.json:
        from core.report.serialize import search_to_dict

        print_json(search_to_dict(search))
    else:
        _print_search(search)
    return 1 if any(c.status != "done" for c in search.candidates) else 0


def cmd_test(args: argparse.Namespace) -> int:
    from core.analysis.holdout import count_test_evaluations, evaluate_on_test
    from core.errors import InputError, RunCancelled
    from core.store.datasets import get_dataset
    from core.store.runs import get_run

    store = open_store(args)
    run = get_run(store, args.run)
    if not args.yes:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise InputError("evaluating on the locked test set needs a confirmation: confirm with --yes")
        dataset = get_dataset(store, run.dataset_id)
        used = count_test_evaluations(store, dataset.id)
        out(
            f"run {run.id} ({run.model}) will be fitted on the {run.sample.rows if run.sample else dataset.n_dev} "
            f"development rows{' of its sample' if run.sample else ''} of "
            f"{dataset.name} and scored on its {dataset.n_test} locked test rows.",
            err=True,
        )
        if used:
            out(
                f"the test set has been evaluated {used} time{'s' if used > 1 else ''} already: the score will "
                "no longer be an unbiased estimate.",
                err=True,
            )
        write("evaluate on the test set? [y/N] ", err=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise RunCancelled("not evaluated")
    with queued_if_asked(args, store):
        evaluation = evaluate_on_test(store, run.id)
    if args.json:
        from core.report.serialize import evaluation_to_dict

        print_json(evaluation_to_dict(evaluation))
        return 0
    out(
        f"run {evaluation.run_id} ({evaluation.model}) on the locked test set of {evaluation.dataset}: "
        f"fitted on {evaluation.n_train} development rows, scored on {evaluation.n_test} test rows "
        f"(evaluation {evaluation.ordinal} on this dataset)"
    )
    print_table(
        ["metric", "test", "validation"],
        [
            [m, fmt(v), fmt(run.summaries[m].val_mean) if m in run.summaries else "-"]
            for m, v in evaluation.scores.items()
        ],
    )
    if evaluation.warning:
        out(f"warning: {evaluation.warning}", err=True)
    return 0


def cmd_target(args: argparse.Namespace) -> int:
    from core.analysis.targets import clear_target, get_target, set_target
    from core.errors import InputError

    store = open_store(args)
    if args.clear:
        if args.score is not None:
            raise InputError("give either a SCORE or --clear, not both")
        had = clear_target(store, args.dataset)
        if args.json:
            print_json({"cleared": had})
        else:
            out("target removed" if had else "no target was set")
        return 0
    if args.score is None:
        if args.metric or args.note:
            raise InputError("--metric and --note need a SCORE")
        target = get_target(store, args.dataset)
    else:
        try:
            score = float(args.score)
        except ValueError:
            raise InputError(f"a target score must be a number, got {args.score!r}") from None
        target = set_target(store, args.dataset, score, args.metric, args.note)
    if args.json:
        from core.report.serialize import target_to_dict

        print_json(None if target is None else target_to_dict(target))
    elif target is None:
        out(f"no target set for {args.dataset}: `mlloop target {args.dataset} SCORE [--metric M]`")
    else:
        note = f" ({target.note})" if target.note else ""
        out(f"target for {target.dataset}: {target.metric} {target.score:g} (error {target.error:.4g}){note}")
    return 0


def _print_curve(c, metric: str | None) -> None:
    from core.analysis.curve_settings import size_unit

    name = metric or c.key_metric
    what = f"training {size_unit(c.task)}" if c.kind == "learning" else c.param
    out(
        f"{c.kind} curve of run {c.run_id}: {name} against {what}; {len(c.points)}/{c.n_expected} "
        f"points ({c.n_folds} folds){'' if c.n_computed else ', all read from the store'}"
    )
    rows = []
    for i, r in enumerate(c.rows(name)):
        mark = []
        if c.kind == "validation" and i == c.best:
            mark.append("best")
        if i == c.current:
            mark.append("this run")
        rows.append(
            [
                r.label,
                f"{r.n}/{c.n_folds}",
                mean_std(r.train_mean, r.train_std),
                mean_std(r.val_mean, r.val_std),
                ", ".join(mark),
            ]
        )
    print_table([c.param, "folds", f"train {name}", f"validation {name}", ""], rows)
    for e in c.errors:
        out(f"error: {e}", err=True)
    for n in c.notes:
        out(f"note: {n}")


def _print_search(s) -> None:
    import json

    best = s.best
    names = list(s.grid)
    out(
        f"search: group {s.group_id}, {len(s.candidates)} candidates from run {s.base_run_id} "
        f"({s.model} on {s.dataset}); best by mean validation {s.metric} "
        f"({'higher' if s.greater_is_better else 'lower'} is better)"
    )
    rows = []
    for c in s.candidates:
        rows.append(
            [
                c.run_id,
                *[json.dumps(c.params.get(n)) for n in names],
                c.status,
                fmt(c.train_mean),
                mean_std(c.val_mean, c.val_std),
                "best" if best and c.run_id == best.run_id else "",
            ]
        )
    print_table(["run", *names, "status", f"train {s.metric}", f"validation {s.metric}", ""], rows)
    if best:
        out(f"best: run {best.run_id} ({', '.join(f'{n}={json.dumps(best.params.get(n))}' for n in names)})")
