"""``mlloop quality`` and ``mlloop features``: what is wrong with a dataset's data, and how the score
and the geometry change with the number of features."""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import PointPrinter, fmt, mean_std, out, print_json, print_table
from mlloop_tui.cli.runs import add_cluster_argument
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("quality", help="data-quality findings: missing values, duplicates, leakage, shift, labels ...")
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument("--no-mislabeled", action="store_true", help="skip the (slower) search for mislabeled rows")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(handler=cmd_quality)

    p = sub.add_parser(
        "features", help="CV score against the number of features, chosen features, curse-of-dimensionality stats"
    )
    p.add_argument("dataset", help="dataset name or id")
    p.add_argument(
        "--model",
        default="linear",
        metavar="RUN_OR_SPEC",
        help="the model scored on the selected features: a built-in (default linear), a run id (its model and "
        "params) or a spec NAME=SPEC",
    )
    p.add_argument(
        "--methods",
        default="univariate,l1,importance",
        help="comma-separated: univariate, l1, importance, rfe (default: univariate,l1,importance)",
    )
    p.add_argument("--cv", type=int, default=5, metavar="K", help="number of folds (default 5)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel worker processes (default: all cores)")
    add_cluster_argument(p)
    p.add_argument(
        "--sample",
        metavar="N",
        help="use N development rows drawn in DuckDB with seed 0, as `run --sample` does; 'all': every row "
        "(default: every row, or the rows that fit the memory budget)",
    )
    p.add_argument(
        "--memory",
        metavar="SIZE",
        help="memory it may use, e.g. 2GB: without --sample, rows beyond it are sampled (default as `run --memory`)",
    )
    p.add_argument(
        "--json", action="store_true", help="print JSON: best_k, one_se_k and points per method, curse stats"
    )
    p.set_defaults(handler=cmd_features)


def cmd_quality(args: argparse.Namespace) -> int:
    from core.analysis.findings import finding_to_dict
    from core.analysis.trust import check_and_record
    from core.store.datasets import get_dataset
    from mlloop_tui.background import cancel_check

    store = open_store(args)
    dataset = get_dataset(store, args.dataset)
    cancel_check(store, dataset.id)  # checked here and now instead
    findings = check_and_record(store, dataset, mislabeled=not args.no_mislabeled, jobs=args.jobs)
    if args.json:
        print_json([finding_to_dict(f) for f in findings])
        return 0
    if not findings:
        out(f"no data-quality findings on {args.dataset}")
        return 0

    def where(f) -> str:
        parts = []
        if f.columns:
            parts.append(", ".join(f.columns[:3]) + (f" +{len(f.columns) - 3}" if len(f.columns) > 3 else ""))
        if f.rows:
            more = f" (+{f.n_rows - 5})" if f.n_rows > 5 else (" …" if len(f.rows) > 5 else "")
            parts.append("rows " + ", ".join(map(str, f.rows[:5])) + more)
        return "; ".join(parts) or "-"

    print_table(["severity", "kind", "where", "finding"], [[f.severity, f.kind, where(f), f.message] for f in findings])
    for f in findings:
        if f.reasons:
            shown = min(len(f.reasons), 5)
            out()
            out(f"{f.kind}: why, for the first {shown} of {f.n_rows} rows (--json lists {len(f.reasons)}):")
            for row, why in zip(f.rows[:shown], f.reasons):
                out(f"  row {row}: {why}")
    out()
    out("suggested actions:")
    for kind, action in dict.fromkeys((f.kind, f.action) for f in findings):
        out(f"  {kind}: {action}")
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    from core.analysis.dimensionality import curse_stats, curse_to_dict
    from core.analysis.feature_selection import curves_to_dict, feature_curve
    from core.data.memory import parse_size

    memory = parse_size(args.memory) if args.memory is not None else None
    store = open_store(args)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    progress = PointPrinter()
    curves = feature_curve(
        store,
        args.dataset,
        args.model,
        methods,
        folds=args.cv,
        jobs=args.jobs,
        on_point=lambda p: progress.show(f"features: {p.done}/{p.total} points ({p.method}, k={p.k})"),
        cluster=args.cluster,
        sample=args.sample,
        memory=memory,
    )
    progress.close()
    curse = curse_stats(store, args.dataset, sample=args.sample, memory=memory)
    if args.json:
        print_json({"curves": curves_to_dict(curves), "curse": curse_to_dict(curse)})
        return 0
    c = curves
    out(
        f"{c.model} on {c.dataset}: {c.metric} ({'higher' if c.greater_is_better else 'lower'} is "
        f"better) against the number of features selected inside each of {c.folds} folds; "
        f"{c.n_features} features after preprocessing ({c.n_raw_features} columns), {c.n_samples} rows"
    )
    for m in c.methods:
        out()
        out(f"{m.method}: best k={m.best_k}, one-standard-error k={m.one_se_k}" + (f" ({m.note})" if m.note else ""))
        if m.points:
            print_table(
                ["k", f"validation {c.metric}", ""],
                [
                    [
                        p.k,
                        mean_std(p.mean, p.std),
                        ", ".join(x for x, on in (("best", p.k == m.best_k), ("1-se", p.k == m.one_se_k)) if on),
                    ]
                    for p in m.points
                ],
            )
        if m.chosen:
            shown = m.chosen[:15]
            out(f"chosen at k={m.best_k} (selection frequency over folds, importance):")
            out(
                "  "
                + ", ".join(f"{f.name} ({f.frequency:.0%}, {f.importance:.3g})" for f in shown)
                + (f" … +{len(m.chosen) - len(shown)}" if len(m.chosen) > len(shown) else "")
            )
    for n in c.notes:
        out(f"note: {n}")
    k = curse
    out()
    out(
        f"samples per feature: {k.samples_per_feature:.2f} ({k.n_samples} rows / {k.n_features} features)"
        + (f" — {k.warning}" if k.warning else "")
    )
    out(
        "PCA on standardised features: "
        + ", ".join(f"{int(t * 100)}% variance in {n} components" for t, n in k.components_for.items())
    )
    print_table(
        ["features", "relative contrast (max-min)/min"],
        [[d, fmt(rc, 3)] for d, rc in zip(k.contrast_dims, k.relative_contrast)],
    )
    for n in k.notes:
        if n not in c.notes:  # the sample's note, said once
            out(f"note: {n}")
    return 0
