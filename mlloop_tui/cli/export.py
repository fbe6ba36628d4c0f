"""``mlloop export``: a run, a comparison of runs or a dataset summary written as Markdown, HTML or JSON;
or runs published to an MLflow tracking server (``--mlflow URI``)."""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import out
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="write a run, a comparison of runs or a --dataset as Markdown, HTML or JSON")
    p.add_argument("runs", nargs="*", metavar="RUN", help="one run id for a run summary, several for a comparison")
    p.add_argument("--dataset", metavar="NAME", help="a dataset summary instead: data quality and dimensionality")
    p.add_argument(
        "--features", action="store_true", help="with --dataset: compute and include feature-selection curves"
    )
    p.add_argument("--model", help="with --features: the model scored on the selected features (default linear)")
    p.add_argument("-o", "--output", metavar="FILE", help="the file to write: .md, .html or .json")
    p.add_argument("--format", help="md, html or json (default: from the file's extension)")
    p.add_argument("--reference", metavar="RUN", help="for a comparison: the reference run (default: the first)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument(
        "--mlflow",
        metavar="TRACKING_URI",
        help="instead of -o: one MLflow run per run at this tracking URI (http://host:5000, sqlite:///mlflow.db)",
    )
    p.add_argument("--experiment", metavar="NAME", help="with --mlflow: the MLflow experiment (default mlloop)")
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.report.export import check_export_path, write_dataset_export, write_export

    if args.mlflow is not None:
        return _export_mlflow(args)
    if args.experiment is not None:
        raise InputError("--experiment is for --mlflow exports")
    if args.output is None:
        raise InputError("give the file to write with -o FILE (or an MLflow tracking URI with --mlflow)")
    if args.dataset is None:
        if not args.runs:
            raise InputError("nothing to export: give run ids, or --dataset NAME")
        if args.features or args.model:
            raise InputError("--features and --model are for dataset summaries: add --dataset NAME")
        path = write_export(
            open_store(args), args.runs, args.output, fmt=args.format, overwrite=args.force, reference=args.reference
        )
    else:
        if args.runs:
            raise InputError("give either run ids or --dataset, not both")
        if args.reference:
            raise InputError("--reference is for comparisons of runs, not for --dataset")
        if args.model and not args.features:
            raise InputError("--model is the model of the feature curves: add --features")
        store = open_store(args)
        curves = None
        if args.features:
            from core.analysis.feature_selection import feature_curve

            check_export_path(args.output, args.format, args.force)  # before minutes of fitting, not after
            curves = feature_curve(store, args.dataset, args.model or "linear", jobs=-1)  # univariate, l1, importance
        path = write_dataset_export(
            store, args.dataset, args.output, fmt=args.format, overwrite=args.force, feature_curves=curves
        )
    out(path)
    return 0


def _export_mlflow(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.report.mlflow_export import export_to_mlflow

    if args.output is not None or args.dataset is not None:
        raise InputError("--mlflow exports runs to a tracking server: give run ids, without -o or --dataset")
    if args.format or args.force or args.reference or args.features or args.model:
        raise InputError("--format, --force, --reference, --features and --model are for -o exports, not --mlflow")
    for done in export_to_mlflow(open_store(args), args.runs, args.mlflow, args.experiment):
        out(f"run {done.run_id}: MLflow run {done.mlflow_run_id} ({'created' if done.created else 'updated'})")
    return 0
