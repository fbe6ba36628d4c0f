"""``mlloop run``, ``runs`` and ``show``: cross-validating baselines, listing runs, and one run in full.

``show`` prints the run summary the exports write (:func:`core.report.run_summary.run_summary`),
without the dataset's section (``mlloop datasets NAME`` has it), rendered as text.
"""

from __future__ import annotations

import argparse
import os

from mlloop_tui.cli.output import ProgressPrinter, mean_std, out, print_blocks, print_json, print_table
from mlloop_tui.cli.params import parse_params
from mlloop_tui.cli.store import open_store

CLUSTER_ENV = "MLLOOP_CLUSTER"  # a Dask scheduler's address, as --cluster takes


def add_parsers(sub) -> None:
    p = sub.add_parser("run", help="cross-validate baselines and model specs on a dataset (or several)")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument(
        "more", nargs="*", metavar="DATASET", help="more datasets: one group each, every fold in one pool of workers"
    )
    p.add_argument(
        "--models",
        help="comma-separated: dummy,glm,linear,tree,forest,boosting or all (the default without --model)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a model spec: 'svc=sklearn.svm.SVC(C=2.0)' or 'mine=path/file.py:build' (repeatable; see README)",
    )
    p.add_argument("--cv", type=int, default=5, metavar="K", help="number of folds (default 5)")
    p.add_argument("--repeats", type=int, default=1, help="repeat the K folds with new shuffles (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and the models (default 0)")
    p.add_argument(
        "--jobs", type=int, default=-1, help="parallel worker processes (default: all cores, as many as --memory holds)"
    )
    add_cluster_argument(p)
    add_queue_argument(p)
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="MODEL.NAME=VALUE",
        help="an estimator parameter, e.g. tree.max_depth=3 (repeatable)",
    )
    p.add_argument(
        "--sample",
        metavar="N",
        help="fit on N development rows drawn in DuckDB with --seed (stratified by class; whole groups for "
        "ranking); 'all': every row (default: every row, or the rows that fit the memory budget; see README)",
    )
    p.add_argument(
        "--memory",
        metavar="SIZE",
        help="memory the run may use, e.g. 2GB: without --sample, rows beyond it are sampled; no more --jobs "
        "workers than fit in it (default: the dataset's import --memory, else $MLLOOP_MEMORY_BUDGET bytes, else a "
        "quarter of the RAM; see README)",
    )
    p.add_argument(
        "--like",
        metavar="RUN",
        help="re-run RUN's model, params, folds, repeats, seed and --sample on this dataset (a version, say)",
    )
    p.add_argument("--like-group", action="store_true", help="with --like: every run of RUN's group")
    p.add_argument("--json", action="store_true", help="print the finished runs as JSON")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("runs", help="list runs with mean ± std of the key metrics")
    p.add_argument("--dataset", help="only runs on this dataset")
    p.add_argument("--json", action="store_true", help="print JSON (includes per-fold scores)")
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("show", help="one run: params, per-fold train/validation scores, GLM summary")
    p.add_argument("run", help="run id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_show)


def add_cluster_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster",
        default=os.environ.get(CLUSTER_ENV) or None,
        metavar="ADDRESS",
        help=f"fit the folds on a Dask cluster, e.g. tcp://10.0.0.5:8786 (default: ${CLUSTER_ENV}; "
        "--cluster= with no address: this machine; see README)",
    )


def add_queue_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--queue",
        action="store_true",
        help="wait (shown as queued) until the runs queued before on this store are done, as the app's runs do",
    )


def cmd_run(args: argparse.Namespace) -> int:
    from core.data.memory import parse_size
    from core.modeling.evaluation import run_baselines
    from core.modeling.specs import parse_model_option
    from core.store.runs import get_run

    specs = [parse_model_option(m) for m in args.model]
    memory = parse_size(args.memory) if args.memory is not None else None
    store = open_store(args)
    progress = ProgressPrinter()
    if args.like is not None or args.like_group:
        run_ids = _run_like(store, args, progress, memory)
    else:
        run_ids = run_baselines(
            store,
            [args.dataset, *args.more],
            args.models if args.models is not None else ("" if specs else "all"),
            model_specs=specs,
            folds=args.cv,
            repeats=args.repeats,
            seed=args.seed,
            sample=args.sample,
            jobs=args.jobs,
            cluster=args.cluster,
            queue=args.queue,
            memory=memory,
            params=parse_params(args.param),
            on_created=_announce(store, progress),
            on_progress=progress.update,
            on_note=_note,
        )
    progress.close()
    records = [get_run(store, r) for r in run_ids]
    if args.json:
        from core.report.serialize import run_to_dict

        print_json([run_to_dict(r) for r in records])
    else:
        print_runs(records)
    failed = [r for r in records if r.status != "done"]
    return 1 if failed else 0


def _note(note: str) -> None:
    out(f"note: {note}", err=True)


def _run_like(store, args: argparse.Namespace, progress: ProgressPrinter, memory: int | None) -> list[int]:
    from core.errors import InputError
    from core.modeling.folds import rerun_like

    if args.like is None:
        raise InputError("--like-group needs --like RUN")
    if args.more or args.queue:
        raise InputError("--like RUN runs on one dataset, now: drop the other datasets and --queue")
    if args.models is not None or args.model or args.param:
        raise InputError("--like RUN takes the models and params from RUN: drop --models, --model and --param")
    return rerun_like(
        store,
        args.dataset,
        args.like,
        whole_group=args.like_group,
        jobs=args.jobs,
        cluster=args.cluster,
        sample=args.sample,
        memory=memory,
        on_note=_note,
        on_created=_announce(store, progress),
        on_progress=progress.update,
    )


def _announce(store, progress: ProgressPrinter):
    """``on_created``: the group's runs, and the sample they fit on (with the memory cap's note) if any."""
    from core.store.runs import get_run

    def created(group_id: int, run_ids: list[int]) -> None:
        progress.created(group_id, run_ids)
        sample = get_run(store, run_ids[0]).sample
        if sample is not None:
            out(f"group {group_id}: {sample.describe()}", err=True)
            if sample.note:
                _note(sample.note)

    return created


def cmd_runs(args: argparse.Namespace) -> int:
    from core.store.datasets import get_dataset
    from core.store.runs import list_runs

    store = open_store(args)
    dataset_id = get_dataset(store, args.dataset).id if args.dataset else None
    records = list_runs(store, dataset_id, with_folds=args.json)
    if args.json:
        from core.report.serialize import run_to_dict

        print_json([run_to_dict(r) for r in records])
    elif not records:
        out("no runs yet: `mlloop run DATASET`")
    else:
        print_runs(records)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from core.store.runs import get_run

    store = open_store(args)
    if args.json:
        from core.report.serialize import run_to_dict

        print_json(run_to_dict(get_run(store, args.run)))
        return 0
    from core.report.run_summary import RunExtras, run_summary

    with store.reading():  # the run, its curves, diagnosis and test evaluations: one connection
        record = get_run(store, args.run)
        extras = RunExtras.load(store, record)
    print_blocks(run_summary(record, extras))
    return 0


def print_runs(records) -> None:
    """The runs table: one row per run, mean ± std of the validation scores of the key metrics, what
    the run cost (its folds' fit and score times) and its group's wall time; a ``!`` column marks runs
    whose dataset has problems that inflate their scores, explained below."""
    from core.modeling.metrics import key_metrics
    from core.report.formatting import seconds

    metric_names = list(dict.fromkeys(m.name for r in records for m in key_metrics(r.task)))
    warned = {r.dataset: r.data_warnings for r in records if r.data_warnings}
    rows = []
    for r in records:
        row = [r.id, r.group_id, r.dataset, r.model, r.status, f"{r.n_folds_done}/{r.n_folds_total}"]
        for m in metric_names:
            s = r.summaries.get(m)
            row.append(mean_std(s.val_mean, s.val_std) if s else "-")
        row += [seconds(r.cost_s), seconds(r.group_wall_s)]
        rows.append(["!" if r.data_warnings else "", *row] if warned else row)
    headers = ["id", "group", "dataset", "model", "status", "folds", *[f"val {m}" for m in metric_names]]
    headers += ["cost", "group wall"]
    print_table(["!", *headers] if warned else headers, rows)
    if warned:
        out()
        out("! scores not to be trusted: the data has problems that inflate them (`mlloop quality DATASET`):")
        for name, warnings in warned.items():
            out(f"  {name}: " + "; ".join(f"{w.kind}: {w.fix}" for w in warnings))
