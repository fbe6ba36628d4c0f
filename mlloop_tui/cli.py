"""The ``mlloop`` command line: every scriptable action, and the one place that opens the store.

Start-up must stay fast (``mlloop --help`` in well under 0.3 s), so this module imports only
the standard library at the top; the engine (DuckDB, pandas, scikit-learn) is imported by the
command that needs it. Errors the user can fix print one line and exit non-zero (2 for bad
input); tracebacks are shown only with ``MLLOOP_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

DEBUG_ENV = "MLLOOP_DEBUG"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other bad input."""

    def error(self, message: str) -> NoReturn:
        from core.text import printable

        self.exit(2, printable(f"mlloop: error: {message} (see `{self.prog} --help`)") + "\n")


def build_parser() -> argparse.ArgumentParser:
    from mlloop_tui import __version__

    parser = _Parser(
        prog="mlloop",
        description="A terminal experiment tracker for the everyday machine-learning loop.",
        epilog="With no command, opens the terminal app. Store: --store PATH, else $MLLOOP_STORE, "
        "else ./mlloop.duckdb.",
    )
    parser.add_argument("--version", action="version", version=f"mlloop {__version__}")
    parser.add_argument("--store", metavar="PATH", help="the DuckDB store file (default: $MLLOOP_STORE or ./mlloop.duckdb)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("import", help="import a CSV or Parquet file as a dataset")
    p.add_argument("file", help="a .csv/.tsv/.txt (optionally .gz) or .parquet file")
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument("--name", help="dataset name (default: the file name without extension)")
    p.add_argument("--task", help="override the inferred task: binary, multiclass or regression")
    p.add_argument("--test-size", type=float, default=0.2, help="fraction held out as the locked test set (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the hold-out split (default 0)")
    p.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    p.add_argument("--encoding", help="text encoding: utf-8, utf-16, latin-1 (default: detected)")
    p.add_argument("--json", action="store_true", help="print the dataset as JSON")

    p = sub.add_parser("datasets", help="list datasets, or show one dataset's column profile")
    p.add_argument("dataset", nargs="?", help="a dataset name or id: show its profile")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("run", help="cross-validate baselines on a dataset")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("--models", default="all", help="comma-separated: dummy,glm,linear,tree,forest,boosting or all (default)")
    p.add_argument("--cv", type=int, default=5, metavar="K", help="number of folds (default 5)")
    p.add_argument("--repeats", type=int, default=1, help="repeat the K folds with new shuffles (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and the models (default 0)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    p.add_argument("--param", action="append", default=[], metavar="MODEL.NAME=VALUE",
                   help="an estimator parameter, e.g. tree.max_depth=3 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the finished runs as JSON")

    p = sub.add_parser("runs", help="list runs with mean ± std of the key metrics")
    p.add_argument("--dataset", help="only runs on this dataset")
    p.add_argument("--json", action="store_true", help="print JSON (includes per-fold scores)")

    p = sub.add_parser("show", help="one run: params, per-fold train/validation scores, GLM summary")
    p.add_argument("run", help="run id")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("compare", help="runs side by side, with a significance test where they share folds")
    p.add_argument("runs", nargs="+", metavar="RUN", help="two or more run ids")
    p.add_argument("--reference", metavar="RUN", help="the run the others are measured against (default: the first)")
    p.add_argument("--metric", help="the metric to test (default: accuracy for classification, rmse for regression)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("export", help="write a run, a comparison of runs or a --dataset as Markdown, HTML or JSON")
    p.add_argument("runs", nargs="*", metavar="RUN", help="one run id for a run summary, several for a comparison")
    p.add_argument("--dataset", metavar="NAME", help="a dataset summary instead: data quality and dimensionality")
    p.add_argument("--features", action="store_true",
                   help="with --dataset: compute and include feature-selection curves")
    p.add_argument("--model", help="with --features: the model scored on the selected features (default linear)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write: .md, .html or .json")
    p.add_argument("--format", help="md, html or json (default: from the file's extension)")
    p.add_argument("--reference", metavar="RUN", help="for a comparison: the reference run (default: the first)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    p = sub.add_parser("curve", help="a run's learning curve (or --validation curve), on its folds, stored point by point")
    p.add_argument("run", help="run id")
    p.add_argument("--validation", action="store_true",
                   help="the validation curve over a parameter (default: the model's complexity knob)")
    p.add_argument("--param", metavar="NAME", help="validation curve: the parameter (default: the model's knob)")
    p.add_argument("--values", metavar="V1,V2,...", help="validation curve: the values to try (default: the knob's grid)")
    p.add_argument("--sizes", metavar="N1,N2,...", help="learning curve: training sizes (default: 6, log-spaced)")
    p.add_argument("--metric", help="the metric to print (default: accuracy, or rmse for regression)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the curve as JSON")

    p = sub.add_parser("diagnose", help="a run's bottleneck (training, validation, test or none) and what to try next")
    p.add_argument("run", help="run id")
    p.add_argument("--compute", action="store_true", help="compute the learning curve first if it is not stored")
    p.add_argument("--jobs", type=int, default=-1, help="worker processes for --compute (default: all cores)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("tune", help="hyper-parameter search from a run: every candidate is a run, in one group")
    p.add_argument("run", help="the run to start from (its model, parameters and folds)")
    p.add_argument("--param", action="append", default=[], required=True, metavar="NAME=V1,V2,...",
                   help="a parameter and the values to try, e.g. max_depth=2,4,8,null (repeatable)")
    p.add_argument("--random", type=int, metavar="N", help="try N candidates drawn at random from the grid")
    p.add_argument("--seed", type=int, default=0, help="seed of the --random draw (default 0)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the search as JSON")

    p = sub.add_parser("test", help="evaluate a run on its dataset's locked test rows (recorded and counted)")
    p.add_argument("run", help="run id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("target", help="set or show a dataset's target score (human-level, an existing system's)")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("score", nargs="?", help="the score, e.g. 0.95 (accuracy) or 3.2 (rmse); omit it to show the target")
    p.add_argument("--metric", help="the score's metric (default: accuracy, or rmse for regression)")
    p.add_argument("--note", help="where the score comes from, e.g. 'two annotators agree 95%%'")
    p.add_argument("--clear", action="store_true", help="remove the dataset's target")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("quality", help="data-quality findings: missing values, duplicates, leakage, shift, labels ...")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("--no-mislabeled", action="store_true", help="skip the (slower) search for mislabeled rows")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")

    p = sub.add_parser("features", help="CV score against the number of features, chosen features, curse-of-dimensionality stats")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("--model", default="linear", help="the model scored on the selected features (default linear)")
    p.add_argument("--methods", default="univariate,l1,importance",
                   help="comma-separated: univariate, l1, importance, rfe (default: univariate,l1,importance)")
    p.add_argument("--cv", type=int, default=5, metavar="K", help="number of folds (default 5)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    p.add_argument("--json", action="store_true", help="print JSON: best_k, one_se_k and points per method, curse stats")

    p = sub.add_parser("demo", help="import the bundled sample data, run every baseline, open the app on it")
    p.add_argument("--no-tui", action="store_true", help="run in the foreground and print the results table")
    sub.add_parser("tui", help="open the terminal app (the default with no command)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command = args.command or "tui"
    from core.errors import MlloopError

    try:
        return COMMANDS[args.command](args)
    except MlloopError as e:
        _fail(e, f"mlloop: error: {e}", e.exit_code)
    except KeyboardInterrupt as e:
        _fail(e, "mlloop: cancelled", 130)
    except BrokenPipeError:  # `mlloop runs | head`
        sys.stderr.close()
        return 0
    except Exception as e:
        _fail(e, f"mlloop: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                 f"(set {DEBUG_ENV}=1 for the traceback)", 1)
    return 0


def _fail(exc: BaseException, line: str, code: int) -> NoReturn:
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)

    _out(line, err=True)
    raise SystemExit(code)


def _store(args: argparse.Namespace):
    from core.store import Store, default_store_path

    return Store(args.store or default_store_path())


def cmd_import(args: argparse.Namespace) -> int:
    from core.data.importing import import_dataset

    info = import_dataset(
        _store(args), args.file, args.target, name=args.name, task=args.task, test_size=args.test_size,
        seed=args.seed, encoding=args.encoding, delimiter=args.delimiter,
    )
    if args.json:
        from core.report.serialize import dataset_to_dict

        _print_json(dataset_to_dict(info))
    else:
        _print_dataset(info)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from core.store.datasets import get_dataset, list_datasets
    from core.report.serialize import dataset_to_dict

    store = _store(args)
    if args.dataset:
        info = get_dataset(store, args.dataset)
        if args.json:
            _print_json(dataset_to_dict(info))
        else:
            _print_dataset(info)
        return 0
    infos = list_datasets(store)
    if args.json:
        _print_json([dataset_to_dict(d, columns=False) for d in infos])
        return 0
    if not infos:
        _out("no datasets yet: `mlloop import FILE --target COLUMN`, or `mlloop demo`")
        return 0
    _print_table(
        ["id", "name", "rows", "cols", "task", "target", "dev", "test"],
        [[d.id, d.name, d.n_rows, d.n_cols, d.task, d.target, d.n_dev, d.n_test] for d in infos],
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from core.modeling.evaluation import run_baselines
    from core.store.runs import get_run

    store = _store(args)
    progress = _ProgressPrinter()
    run_ids = run_baselines(
        store, args.dataset, args.models, folds=args.cv, repeats=args.repeats, seed=args.seed,
        jobs=args.jobs, params=_parse_params(args.param), on_created=progress.created,
        on_progress=progress.update,
    )
    progress.close()
    records = [get_run(store, r) for r in run_ids]
    if args.json:
        from core.report.serialize import run_to_dict

        _print_json([run_to_dict(r) for r in records])
    else:
        _print_runs(records)
    failed = [r for r in records if r.status != "done"]
    return 1 if failed else 0


def cmd_runs(args: argparse.Namespace) -> int:
    from core.store.datasets import get_dataset
    from core.store.runs import list_runs

    store = _store(args)
    dataset_id = get_dataset(store, args.dataset).id if args.dataset else None
    records = list_runs(store, dataset_id, with_folds=args.json)
    if args.json:
        from core.report.serialize import run_to_dict

        _print_json([run_to_dict(r) for r in records])
    elif not records:
        _out("no runs yet: `mlloop run DATASET`")
    else:
        _print_runs(records)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from core.store.runs import get_run

    record = get_run(_store(args), args.run)
    if args.json:
        from core.report.serialize import run_to_dict

        _print_json(run_to_dict(record))
    else:
        _print_run(record)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from core.analysis.compare import TEST_NAME, compare_runs, comparison_table

    comparison = compare_runs(_store(args), args.runs, reference=args.reference, metric=args.metric)
    if args.json:
        from core.report.serialize import comparison_to_dict

        _print_json(comparison_to_dict(comparison))
        return 0

    ids = ", ".join(str(r.id) for r in comparison.runs)
    _out(f"runs {ids}; reference: run {comparison.reference_id}; Δ = run − reference (mean validation score)")
    _out()
    _print_table(*comparison_table(comparison))
    _out()
    _out(f"{comparison.metric}: {TEST_NAME} on shared validation folds (Nadeau & Bengio 2003)")
    for p in comparison.pairs:
        _out(f"  run {p.a_id} vs run {p.b_id}: {p.explanation}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.report.export import check_export_path, write_dataset_export, write_export

    if args.dataset is None:
        if not args.runs:
            raise InputError("nothing to export: give run ids, or --dataset NAME")
        if args.features or args.model:
            raise InputError("--features and --model are for dataset summaries: add --dataset NAME")
        path = write_export(_store(args), args.runs, args.output, fmt=args.format, overwrite=args.force,
                            reference=args.reference)
    else:
        if args.runs:
            raise InputError("give either run ids or --dataset, not both")
        if args.reference:
            raise InputError("--reference is for comparisons of runs, not for --dataset")
        if args.model and not args.features:
            raise InputError("--model is the model of the feature curves: add --features")
        store = _store(args)
        curves = None
        if args.features:
            from core.analysis.dimensionality import feature_curve

            check_export_path(args.output, args.format, args.force)  # before minutes of fitting, not after
            curves = feature_curve(store, args.dataset, args.model or "linear", jobs=-1)  # univariate, l1, importance
        path = write_dataset_export(store, args.dataset, args.output, fmt=args.format, overwrite=args.force,
                                    feature_curves=curves)
    _out(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.no_tui and sys.stdin.isatty() and sys.stdout.isatty():
        from mlloop_tui.app import MlloopApp

        MlloopApp(_store(args), load_samples=True).run()
        return 0
    from core.data.demo import load_samples
    from core.modeling.evaluation import run_baselines
    from core.store.runs import list_runs

    store = _store(args)
    _out(f"store: {store.path}")
    for info in load_samples(store):
        _out(f"dataset {info.name}: {info.n_rows} rows, {info.n_cols} columns, {info.task} on {info.target!r}")
        progress = _ProgressPrinter()
        run_baselines(store, info.id, "all", folds=5, seed=0, jobs=-1, on_created=progress.created,
                      on_progress=progress.update)
        progress.close()
    _print_runs(list_runs(store))
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from core.errors import InputError

        raise InputError("the app needs a terminal; for scripts use the commands in `mlloop --help`")
    from mlloop_tui.app import MlloopApp

    MlloopApp(_store(args)).run()
    return 0


def cmd_curve(args: argparse.Namespace) -> int:
    from core.analysis.curves import learning_curve, validation_curve
    from core.errors import InputError

    from core.store.runs import get_run

    store = _store(args)
    metric = _curve_metric(args.metric, get_run(store, args.run).task)
    progress = _CurvePrinter()
    if args.validation:
        if args.sizes:
            raise InputError("--sizes is for learning curves; a validation curve takes --param and --values")
        values = _parse_values(args.values, args.param or "--values") if args.values is not None else None
        curve = validation_curve(store, args.run, args.param, values, jobs=args.jobs, on_point=progress.update)
    else:
        if args.param or args.values is not None:
            raise InputError("--param and --values are for validation curves: add --validation")
        sizes = _parse_values(args.sizes, "--sizes") if args.sizes is not None else None
        curve = learning_curve(store, args.run, sizes, jobs=args.jobs, on_point=progress.update)
    progress.close()
    if args.json:
        from core.report.serialize import curve_to_dict

        _print_json(curve_to_dict(curve))
        return 0
    _print_curve(curve, metric)
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from core.analysis.diagnosis import diagnose

    d = diagnose(_store(args), args.run, compute_curve=args.compute, jobs=args.jobs)
    if args.json:
        from core.report.serialize import diagnosis_to_dict

        _print_json(diagnosis_to_dict(d))
        return 0
    _print_diagnosis(d)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from core.store.runs import get_run
    from core.analysis.tuning import get_search, tune

    store = _store(args)
    grid = _parse_grid(args.param)
    progress = _ProgressPrinter()
    run_ids = tune(store, args.run, grid, random=args.random, seed=args.seed, jobs=args.jobs,
                   on_created=progress.created, on_progress=progress.update)
    progress.close()
    search = get_search(store, get_run(store, run_ids[0]).group_id)
    if args.json:
        from core.report.serialize import search_to_dict

        _print_json(search_to_dict(search))
    else:
        _print_search(search)
    return 1 if any(c.status != "done" for c in search.candidates) else 0


def cmd_test(args: argparse.Namespace) -> int:
    from core.store.datasets import get_dataset
    from core.errors import InputError, RunCancelled
    from core.analysis.holdout import count_test_evaluations, evaluate_on_test
    from core.store.runs import get_run

    store = _store(args)
    run = get_run(store, args.run)
    if not args.yes:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise InputError("evaluating on the locked test set needs a confirmation: confirm with --yes")
        dataset = get_dataset(store, run.dataset_id)
        used = count_test_evaluations(store, dataset.id)
        _out(f"run {run.id} ({run.model}) will be fitted on the {dataset.n_dev} development rows of "
                        f"{dataset.name} and scored on its {dataset.n_test} locked test rows.", err=True)
        if used:
            _out(f"the test set has been evaluated {used} time{'s' if used > 1 else ''} already: the score will "
                  "no longer be an unbiased estimate.", err=True)
        _write("evaluate on the test set? [y/N] ", err=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise RunCancelled("not evaluated")
    evaluation = evaluate_on_test(store, run.id)
    if args.json:
        from core.report.serialize import evaluation_to_dict

        _print_json(evaluation_to_dict(evaluation))
        return 0
    _out(f"run {evaluation.run_id} ({evaluation.model}) on the locked test set of {evaluation.dataset}: "
                    f"fitted on {evaluation.n_train} development rows, scored on {evaluation.n_test} test rows "
                    f"(evaluation {evaluation.ordinal} on this dataset)")
    _print_table(["metric", "test", "validation"],
                 [[m, _fmt(v), _fmt(run.summaries[m].val_mean) if m in run.summaries else "-"]
                  for m, v in evaluation.scores.items()])
    if evaluation.warning:
        _out(f"warning: {evaluation.warning}", err=True)
    return 0


def cmd_target(args: argparse.Namespace) -> int:
    from core.analysis.diagnosis import clear_target, get_target, set_target
    from core.errors import InputError

    store = _store(args)
    if args.clear:
        if args.score is not None:
            raise InputError("give either a SCORE or --clear, not both")
        had = clear_target(store, args.dataset)
        if args.json:
            _print_json({"cleared": had})
        else:
            _out("target removed" if had else "no target was set")
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

        _print_json(None if target is None else target_to_dict(target))
    elif target is None:
        _out(f"no target set for {args.dataset}: `mlloop target {args.dataset} SCORE [--metric M]`")
    else:
        note = f" ({target.note})" if target.note else ""
        _out(f"target for {target.dataset}: {target.metric} {target.score:g} "
                        f"(error {target.error:.4g}){note}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from core.analysis.quality import check_quality, finding_to_dict

    findings = check_quality(_store(args), args.dataset, mislabeled=not args.no_mislabeled, jobs=args.jobs)
    if args.json:
        _print_json([finding_to_dict(f) for f in findings])
        return 0
    if not findings:
        _out(f"no data-quality findings on {args.dataset}")
        return 0

    def where(f) -> str:
        parts = []
        if f.columns:
            parts.append(", ".join(f.columns[:3]) + (f" +{len(f.columns) - 3}" if len(f.columns) > 3 else ""))
        if f.rows:
            more = f" (+{f.n_rows - 5})" if f.n_rows > 5 else (" …" if len(f.rows) > 5 else "")
            parts.append("rows " + ", ".join(map(str, f.rows[:5])) + more)
        return "; ".join(parts) or "-"

    _print_table(["severity", "kind", "where", "finding"], [[f.severity, f.kind, where(f), f.message] for f in findings])
    _out()
    _out("suggested actions:")
    for kind, action in dict.fromkeys((f.kind, f.action) for f in findings):
        _out(f"  {kind}: {action}")
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    from core.analysis.dimensionality import curse_stats, curse_to_dict, curves_to_dict, feature_curve

    store = _store(args)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    tty = sys.stderr.isatty()

    def progress(p) -> None:
        if tty:
            _status(f"features: {p.done}/{p.total} points ({p.method}, k={p.k})")

    curves = feature_curve(store, args.dataset, args.model, methods, folds=args.cv, jobs=args.jobs,
                           on_point=progress)
    if tty:
        _status("")
    curse = curse_stats(store, args.dataset)
    if args.json:
        _print_json({"curves": curves_to_dict(curves), "curse": curse_to_dict(curse)})
        return 0
    c = curves
    _out(f"{c.model} on {c.dataset}: {c.metric} ({'higher' if c.greater_is_better else 'lower'} is "
                    f"better) against the number of features selected inside each of {c.folds} folds; "
                    f"{c.n_features} features after preprocessing ({c.n_raw_features} columns), {c.n_samples} rows")
    for m in c.methods:
        _out()
        _out(f"{m.method}: best k={m.best_k}, one-standard-error k={m.one_se_k}"
                        + (f" ({m.note})" if m.note else ""))
        if m.points:
            _print_table(["k", f"validation {c.metric}", ""],
                         [[p.k, _mean_std(p.mean, p.std),
                           ", ".join(x for x, on in (("best", p.k == m.best_k), ("1-se", p.k == m.one_se_k)) if on)]
                          for p in m.points])
        if m.chosen:
            shown = m.chosen[:15]
            _out(f"chosen at k={m.best_k} (selection frequency over folds, importance):")
            _out("  " + ", ".join(f"{f.name} ({f.frequency:.0%}, {f.importance:.3g})" for f in shown)
                            + (f" … +{len(m.chosen) - len(shown)}" if len(m.chosen) > len(shown) else ""))
    for n in c.notes:
        _out(f"note: {n}")
    k = curse
    _out()
    _out(f"samples per feature: {k.samples_per_feature:.2f} ({k.n_samples} rows / {k.n_features} features)"
                    + (f" — {k.warning}" if k.warning else ""))
    _out("PCA on standardised features: " + ", ".join(f"{int(t * 100)}% variance in {n} components"
                                                       for t, n in k.components_for.items()))
    _print_table(["features", "relative contrast (max-min)/min"],
                 [[d, _fmt(rc, 3)] for d, rc in zip(k.contrast_dims, k.relative_contrast)])
    for n in k.notes:
        _out(f"note: {n}")
    return 0


COMMANDS = {
    "tui": cmd_tui,
    "import": cmd_import,
    "datasets": cmd_datasets,
    "run": cmd_run,
    "runs": cmd_runs,
    "show": cmd_show,
    "compare": cmd_compare,
    "export": cmd_export,
    "demo": cmd_demo,
    "curve": cmd_curve,
    "diagnose": cmd_diagnose,
    "tune": cmd_tune,
    "test": cmd_test,
    "target": cmd_target,
    "quality": cmd_quality,
    "features": cmd_features,
}


def _parse_params(items: list[str]) -> dict[str, dict]:
    """``tree.max_depth=3`` -> {"tree": {"max_depth": 3}}; values parsed as JSON when they can be."""
    from core.errors import InputError

    out: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        model, dot, name = key.partition(".")
        if not sep or not dot or not model or not name:
            raise InputError(f"--param {item!r}: expected MODEL.NAME=VALUE, e.g. tree.max_depth=3")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = {"None": None, "True": True, "False": False}.get(raw, raw)
        out.setdefault(model.strip(), {})[name.strip()] = value
    return out


def _parse_values(raw: str, name: str) -> list:
    """``1,2,null`` -> [1, 2, None]: JSON where it parses (numbers, null, true/false, quoted text), else text."""
    from core.errors import InputError

    text = raw.strip()
    if not text:
        raise InputError(f"{name}: no values given")
    try:
        values = json.loads(f"[{text}]")
    except json.JSONDecodeError:
        values = []
        for piece in text.split(","):
            piece = piece.strip()
            if not piece:
                raise InputError(f"{name}: empty value in {raw!r}")
            try:
                values.append(json.loads(piece))
            except json.JSONDecodeError:
                values.append({"None": None, "True": True, "False": False}.get(piece, piece))
    return values


def _parse_grid(items: list[str]) -> dict[str, list]:
    """``["max_depth=2,4,null", "criterion=gini,entropy"]`` -> {"max_depth": [2, 4, None], ...}."""
    from core.errors import InputError

    grid: dict[str, list] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise InputError(f"--param {item!r}: expected NAME=V1,V2,..., e.g. max_depth=2,4,8")
        if name in grid:
            raise InputError(f"--param {name} is given twice; list all its values in one --param")
        grid[name] = _parse_values(raw, f"--param {name}")
    return grid


class _CurvePrinter:
    """Points done / total on a terminal while a curve is computed."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def update(self, p) -> None:
        if self.tty:
            _status(f"{p.kind} curve of run {p.run_id}: {p.done}/{p.total} points")

    def close(self) -> None:
        if self.tty:
            _status("")


def _curve_metric(metric: str | None, task: str) -> str | None:
    from core.errors import InputError
    from core.modeling.evaluation import metrics_for

    if metric is None:
        return None
    name = metric.strip().lower().replace("-", "_")
    valid = [m.name for m in metrics_for(task)]
    if name not in valid:
        raise InputError(f"unknown metric {metric!r} for {task} runs; choose from: {', '.join(valid)}")
    return name


def _print_curve(c, metric: str | None) -> None:

    name = metric or c.key_metric
    what = "training rows" if c.kind == "learning" else c.param
    _out(f"{c.kind} curve of run {c.run_id}: {name} against {what}; {len(c.points)}/{c.n_expected} "
                    f"points ({c.n_folds} folds){'' if c.n_computed else ', all read from the store'}")
    rows = []
    for i, r in enumerate(c.rows(name)):
        mark = []
        if c.kind == "validation" and i == c.best:
            mark.append("best")
        if i == c.current:
            mark.append("this run")
        rows.append([r.label, f"{r.n}/{c.n_folds}", _mean_std(r.train_mean, r.train_std),
                     _mean_std(r.val_mean, r.val_std), ", ".join(mark)])
    _print_table([c.param, "folds", f"train {name}", f"validation {name}", ""], rows)
    for e in c.errors:
        _out(f"error: {e}", err=True)
    for n in c.notes:
        _out(f"note: {n}")


def _print_diagnosis(d) -> None:

    def f(x) -> str:
        return "-" if x is None else _fmt(x, 3)

    _out(f"run {d.run_id} ({d.model} on {d.dataset}): bottleneck {d.bottleneck}")
    _out(f"  {d.reason}")
    _out()
    ref = "target" if d.reference_source == "target" else f"best validation error, run {d.reference_run_id}"
    dummy = f"run {d.dummy_run_id}" if d.dummy_run_id is not None else "computed on this run's folds"
    rows = [["reference", f(d.reference_error), ref],
            ["train", f(d.train_error), f"avoidable bias {f(d.avoidable_bias)}"],
            ["validation", f(d.validation_error), f"variance {f(d.variance)} (± {f(d.validation_error_se)} s.e.)"]]
    if d.test_error is not None:
        rows.append(["test", f(d.test_error), f"gap {f(d.test_gap)} (evaluation {d.test_evaluation_id}; "
                                               f"{d.test_evaluations} on this dataset)"])
    rows.append(["dummy", f(d.dummy_error), dummy])
    _print_table([f"error ({d.error_definition})", "value", ""], rows)
    _out(f"a gap is large above {f(max(d.threshold, d.noise))}: the larger of 10% of the dummy's error "
          f"({f(d.threshold)}) and twice the validation standard error ({f(d.noise)})")
    if d.curve_size is not None:
        helps = {True: "more data is likely to help", False: "more data is unlikely to help",
                 None: "too few sizes to tell whether more data helps"}[d.more_data_helps]
        _out(f"learning curve at {d.curve_size:g} rows: gap {f(d.curve_gap)}, "
              f"slope {'-' if d.curve_slope is None else format(d.curve_slope, '+.3f')} per doubling: {helps}")
    else:
        _out(f"no learning curve stored: `mlloop curve {d.run_id}` (or `diagnose --compute`) tells whether more "
              "data would help")
    for n in d.notes:
        _out(f"note: {n}")
    if d.advice:
        _out()
        _out("next steps:")
        for i, a in enumerate(d.advice, 1):
            _out(f"  {i}. {a.text}")
            if a.command:
                _out(f"     $ {a.command}")


def _print_search(s) -> None:

    best = s.best
    names = list(s.grid)
    _out(f"search: group {s.group_id}, {len(s.candidates)} candidates from run {s.base_run_id} "
                    f"({s.model} on {s.dataset}); best by mean validation {s.metric} "
                    f"({'higher' if s.greater_is_better else 'lower'} is better)")
    rows = []
    for c in s.candidates:
        rows.append([c.run_id, *[json.dumps(c.params.get(n)) for n in names], c.status,
                     _fmt(c.train_mean), _mean_std(c.val_mean, c.val_std),
                     "best" if best and c.run_id == best.run_id else ""])
    _print_table(["run", *names, "status", f"train {s.metric}", f"validation {s.metric}", ""], rows)
    if best:
        _out(f"best: run {best.run_id} ({', '.join(f'{n}={json.dumps(best.params.get(n))}' for n in names)})")


class _ProgressPrinter:
    """A one-line progress bar on a terminal; one line per finished run otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.total = 0
        self.done: dict[int, int] = {}

    def created(self, group_id: int, run_ids: list[int]) -> None:
        self.run_ids = run_ids
        _out(f"group {group_id}: runs {', '.join(map(str, run_ids))}", err=True)

    def update(self, p) -> None:
        self.total = p.total * len(self.run_ids)
        self.done[p.run_id] = p.done
        if p.status != "running":
            if self.tty:
                _status("")
            detail = f": {p.error}" if p.error else ""
            _out(f"run {p.run_id} {p.model}: {p.status}{detail}", err=True)
        if self.tty:
            n = sum(self.done.values())
            width = 30
            filled = int(width * n / max(self.total, 1))
            _status(f"[{'#' * filled}{'.' * (width - filled)}] {n}/{self.total} folds")

    def close(self) -> None:
        if self.tty:
            _status("")


def _fmt(value: Any, digits: int = 4) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _mean_std(mean: float, std: float) -> str:
    import math

    if math.isnan(mean):
        return "-"
    return f"{mean:.4f}" if math.isnan(std) else f"{mean:.4f}±{std:.4f}"


def _print_table(headers: list[str], rows: list[list[Any]]) -> None:
    from core.text import printable

    cells = [[printable(_fmt(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    _out("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        _out("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _print_runs(records) -> None:
    from core.modeling.evaluation import key_metrics

    metric_names = list(dict.fromkeys(m.name for r in records for m in key_metrics(r.task)))
    rows = []
    for r in records:
        row = [r.id, r.group_id, r.dataset, r.model, r.status, f"{r.n_folds_done}/{r.n_folds_total}"]
        for m in metric_names:
            s = r.summaries.get(m)
            row.append(_mean_std(s.val_mean, s.val_std) if s else "-")
        row.append(f"{r.duration_s:.1f}s" if r.duration_s is not None else "-")
        rows.append(row)
    _print_table(["id", "group", "dataset", "model", "status", "folds", *[f"val {m}" for m in metric_names],
                  "time"], rows)


def _print_dataset(d) -> None:

    _out(f"dataset {d.id} {d.name!s}: {d.n_rows} rows × {d.n_cols} columns from {d.source}")
    _out(f"target {d.target!s} ({d.task}{': ' + ', '.join(d.classes) if d.classes else ''})")
    _out(f"split: {d.n_dev} development rows, {d.n_test} locked test rows (test size {d.test_size}, "
          f"seed {d.split_seed}), {d.n_unlabeled} unlabeled")
    for note in d.notes:
        _out(f"note: {note}")
    if d.columns:
        _out()
        _print_table(
            ["#", "column", "type", "kind", "missing", "distinct", "min", "max", "mean", "top values"],
            [[c.position, c.name, c.sql_type, c.kind, c.n_missing, c.n_distinct, c.min, c.max,
              _fmt(c.mean, 3), ", ".join(f"{v} ({n})" for v, n in c.top_values[:3])] for c in d.columns],
        )


def _print_run(r) -> None:

    _out(f"run {r.id} (group {r.group_id}): {r.model} on {r.dataset} [{r.task}] — {r.status}")
    _out(f"cv: {r.folds} folds × {r.repeats} repeats, seed {r.seed}; folds done {r.n_folds_done}/{r.n_folds_total}"
          + (f"; {r.duration_s:.2f} s" if r.duration_s is not None else ""))
    _out(f"params: {json.dumps(r.params, sort_keys=True) if r.params else '(defaults)'}")
    if r.error:
        _out(f"error: {r.error}")
    for w in r.warnings:
        _out(f"warning: {w}")
    metrics = list(r.summaries)
    if r.fold_scores:
        _out()
        rows = [[f.index, f.n_train, f.n_val, *[f"{_fmt(f.train.get(m))} / {_fmt(f.validation.get(m))}" for m in metrics]]
                for f in r.fold_scores]
        rows.append(["mean", "", "", *[f"{_fmt(r.summaries[m].train_mean)} / {_fmt(r.summaries[m].val_mean)}"
                                       for m in metrics]])
        _print_table(["fold", "n_train", "n_val", *[f"{m} train/val" for m in metrics]], rows)
    if r.glm:
        g = r.glm
        _out()
        _out(f"GLM ({g.family}, {g.link} link) on the whole development set: n={g.n_obs}, "
              f"deviance {_fmt(g.deviance, 3)} (null {_fmt(g.null_deviance, 3)}), AIC {_fmt(g.aic, 3)}, "
              f"converged {g.converged}")
        for w in g.warnings:
            _out(f"GLM warning: {w}")
        _print_table(
            ["class", "term", "coef", "std err", "z", "p", "[0.025", "0.975]"],
            [[c.label, c.term, _fmt(c.coef), _fmt(c.std_err), _fmt(c.z, 3), _fmt(c.p, 4), _fmt(c.ci_low),
              _fmt(c.ci_high)] for c in g.coefficients],
        )
    _out()
    _out("versions: " + ", ".join(f"{k} {v}" for k, v in r.versions.items()))
    _out(f"dataset hash: {r.dataset_hash}  folds hash: {r.folds_hash or '-'}")


def _print_json(value: Any) -> None:
    from core.text import json_printable

    _write(json_printable(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)) + "\n")


def _out(*values: object, err: bool = False) -> None:
    """The one way the CLI prints a line: through :func:`core.text.printable`, so no name or value from
    a user's file reaches the terminal as a control sequence (a clipboard write, a cleared screen)."""
    from core.text import printable

    _write(printable(" ".join(map(str, values))) + "\n", err)


def _status(text: str) -> None:
    """Redraw the progress line on a terminal: our own carriage return and erase, the text made printable."""
    from core.text import printable

    _write("\r\x1b[2K" + printable(text), err=True)


def _write(text: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text)
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
