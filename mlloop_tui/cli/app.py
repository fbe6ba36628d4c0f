"""``mlloop tui`` (the default with no command) and ``mlloop demo``: the terminal app, and the bundled
samples imported with every baseline run on them (in the app, or in the foreground without a terminal)."""

from __future__ import annotations

import argparse
import sys

from mlloop_tui.cli.output import ProgressPrinter, out
from mlloop_tui.cli.runs import print_runs
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("demo", help="import the bundled sample data, run every baseline, open the app on it")
    p.add_argument("--no-tui", action="store_true", help="run in the foreground and print the results table")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("tui", help="open the terminal app (the default with no command)")
    p.set_defaults(handler=cmd_tui)


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.no_tui and sys.stdin.isatty() and sys.stdout.isatty():
        from mlloop_tui.app import MlloopApp

        MlloopApp(open_store(args), load_samples=True).run()
        return 0
    from core.data.demo import load_samples
    from core.modeling.evaluation import run_baselines
    from core.modeling.executors import start_workers
    from core.store.runs import list_runs
    from mlloop_tui.background import start_checker

    store = open_store(args)
    start_workers(-1)  # they start while the samples are imported
    out(f"store: {store.path}")
    samples = load_samples(store)
    start_checker(store.path)
    for info in samples:
        out(f"dataset {info.name}: {info.n_rows} rows, {info.n_cols} columns, {info.task} on {info.target!r}")
    progress = ProgressPrinter()  # every sample's runs in one pool of workers, as the app's demo
    run_baselines(
        store,
        [info.id for info in samples],
        "all",
        folds=5,
        seed=0,
        jobs=-1,
        on_created=progress.created,
        on_progress=progress.update,
        on_note=lambda note: out(f"note: {note}", err=True),
    )
    progress.close()
    print_runs(list_runs(store))
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from core.errors import InputError

        raise InputError("the app needs a terminal; for scripts use the commands in `mlloop --help`")
    from mlloop_tui.app import MlloopApp

    MlloopApp(open_store(args)).run()
    return 0
