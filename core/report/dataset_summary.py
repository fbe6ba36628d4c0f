"""Datasets as blocks: a dataset's facts and column profile (also part of every exported run summary),
and the dataset summary: data-quality findings with suggested actions, curse-of-dimensionality
statistics and, when the caller has them (they are costly), the feature-selection curves.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.analysis.dimensionality import CurseStats
from core.analysis.feature_selection import FeatureCurves
from core.analysis.findings import Finding
from core.modeling.metrics import format_mean_std
from core.report.blocks import Block, Heading, Para, Table
from core.report.formatting import mlloop_version, num, optional, when
from core.report.svg_plot import Chart, Series
from core.types import DatasetInfo

__all__ = ["MAX_PROFILE_COLUMNS", "SHOWN_ITEMS", "dataset_blocks", "dataset_document"]

MAX_PROFILE_COLUMNS = 100  # the Markdown/HTML column profile (and list of chosen features) stops here
SHOWN_ITEMS = 5  # rows and columns listed per data-quality finding in Markdown/HTML (JSON has all it stored)


def dataset_document(
    d: DatasetInfo, findings: Sequence[Finding], curse: CurseStats, curves: FeatureCurves | None
) -> list[Block]:
    """The exported dataset summary."""
    blocks: list[Block] = [
        Heading(1, f"mlloop dataset {d.name}"),
        Para(
            f"Exported by mlloop {mlloop_version()}. Structure checks (missing values, duplicates, conflicting "
            "labels …) read every labeled row, development and locked test; the leakage and label checks fit models "
            "on the development rows only; shift compares development and test features, never test labels. The "
            "dimensionality statistics use the development rows."
        ),
    ]
    blocks += dataset_blocks(d, level=2)
    blocks += _quality_blocks(findings, level=2)
    blocks += _curse_blocks(curse, level=2)
    if curves is not None:
        blocks += _feature_blocks(curves, level=2)
    return blocks


def dataset_blocks(d: DatasetInfo, level: int) -> list[Block]:
    """The dataset's facts (source, hash, split) and its column profile."""
    facts = [
        ["name", d.name],
        ["id", str(d.id)],
        ["source", d.source],
        ["format", d.format],
        ["encoding", d.encoding or "-"],
        ["rows", str(d.n_rows)],
        ["columns", str(d.n_cols)],
        ["target", d.target],
        ["task", d.task],
    ]
    if d.classes:
        facts.append(["classes", ", ".join(d.classes)])
    facts += [
        ["development rows", str(d.n_dev)],
        ["locked test rows", str(d.n_test)],
        ["unlabeled rows", str(d.n_unlabeled)],
        ["test size", num(d.test_size, 3)],
        ["split seed", str(d.split_seed)],
        ["file sha256", d.file_hash],
        ["imported", when(d.created_at)],
    ]
    blocks: list[Block] = [Heading(level, f"Dataset {d.name}"), Table(["fact", "value"], facts)]
    if d.notes:
        blocks.append(Table(["note"], [[n] for n in d.notes]))
    if d.columns:
        shown = d.columns[:MAX_PROFILE_COLUMNS]
        blocks += [
            Heading(level + 1, "Columns"),
            Table(
                ["#", "column", "role", "type", "kind", "missing", "distinct", "min", "max", "mean", "top values"],
                [
                    [
                        str(c.position),
                        c.name,
                        "target" if c.name == d.target else "feature",
                        c.sql_type,
                        c.kind,
                        str(c.n_missing),
                        str(c.n_distinct),
                        optional(c.min),
                        optional(c.max),
                        num(c.mean, 3),
                        ", ".join(f"{v} ({n})" for v, n in c.top_values[:3]),
                    ]
                    for c in shown
                ],
                [True, False, False, False, False, True, True, False, False, True, False],
            ),
        ]
        if len(d.columns) > len(shown):
            blocks.append(Para(f"… and {len(d.columns) - len(shown)} more columns (the JSON export has them all)."))
    return blocks


def _quality_blocks(findings: Sequence[Finding], level: int) -> list[Block]:
    if not findings:
        return [Heading(level, "Data quality"), Para("No data-quality findings.")]

    def columns(f: Finding) -> str:
        more = f" +{len(f.columns) - SHOWN_ITEMS} more" if len(f.columns) > SHOWN_ITEMS else ""
        return (", ".join(f.columns[:SHOWN_ITEMS]) + more) or "-"

    def rows(f: Finding) -> str:
        if not f.rows:
            return "-"
        n = max(f.n_rows, len(f.rows))
        more = " …" if n > SHOWN_ITEMS else ""
        return f"{', '.join(map(str, f.rows[:SHOWN_ITEMS]))}{more} ({n} row{'s' if n != 1 else ''})"

    actions = dict.fromkeys((f.kind, f.action) for f in findings)
    blocks: list[Block] = [
        Heading(level, "Data quality"),
        Para("Most severe first. Rows are the file's row numbers: the first few, then how many in all."),
        Table(
            ["severity", "kind", "columns", "rows", "finding"],
            [[f.severity, f.kind, columns(f), rows(f), f.message] for f in findings],
        ),
    ]
    for f in findings:
        if f.reasons:
            blocks += [
                Heading(level + 1, f"Why these rows: {f.kind}"),
                Table(["row", "why"], [[str(r), why] for r, why in zip(f.rows[:SHOWN_ITEMS], f.reasons)]),
            ]
    return blocks + [
        Heading(level + 1, "Suggested actions"),
        Table(["kind", "action"], [[kind, action] for kind, action in actions]),
    ]


def _curse_blocks(k: CurseStats, level: int) -> list[Block]:
    blocks: list[Block] = [
        Heading(level, "Curse of dimensionality"),
        Para(
            "On the development rows, with the features a linear model sees (imputed, standardised, categories "
            "one-hot encoded)."
        ),
        Table(
            ["fact", "value"],
            [
                ["rows", str(k.n_samples)],
                ["columns", str(k.n_raw_features)],
                ["features after preprocessing", str(k.n_features)],
                ["samples per feature", num(k.samples_per_feature, 2)],
            ],
            [False, True],
        ),
    ]
    if k.warning:
        blocks.append(Para(f"Warning: {k.warning}"))
    if k.components_for:
        blocks += [
            Heading(level + 1, "Principal components"),
            Para(f"Components needed to explain a share of the variance, of {len(k.explained_variance)} in all:"),
            Table(
                ["variance explained", "components"],
                [[f"{t:.0%}", str(n)] for t, n in sorted(k.components_for.items())],
                [True, True],
            ),
        ]
    if k.contrast_dims:
        blocks += [
            Heading(level + 1, "Distance concentration"),
            Para(
                "Relative contrast (max − min) / min of the distances from a row to the others, on random subsets "
                "of the features: it shrinks towards 0 as features are added, when the nearest and the farthest "
                "rows become alike."
            ),
            Table(
                ["features", "relative contrast"],
                [[str(n), num(v, 3)] for n, v in zip(k.contrast_dims, k.relative_contrast)],
                [True, True],
            ),
        ]
    blocks += [Para(f"Note: {n}") for n in k.notes]
    return blocks


def _feature_blocks(c: FeatureCurves, level: int) -> list[Block]:
    better = "higher" if c.greater_is_better else "lower"
    drawn = [m for m in c.methods if m.points]
    blocks: list[Block] = [
        Heading(level, "Feature selection"),
        Para(
            f"{c.model} on {c.dataset}: cross-validated {c.metric} ({better} is better) against k, the number of "
            f"features selected inside each of {c.folds} folds (seed {c.seed}); {c.n_features} features after "
            f"preprocessing ({c.n_raw_features} columns), {c.n_samples} rows. The one-standard-error k is the "
            "smallest k within one standard error of the best mean."
        ),
    ]
    if drawn:
        blocks.append(
            Chart(
                title=f"{c.metric} against the number of features: {c.model} on {c.dataset}",
                x_label="features selected (k)",
                y_label=f"validation {c.metric} ({better} is better)",
                series=[
                    Series(m.method, [p.k for p in m.points], [p.mean for p in m.points], [p.std for p in m.points])
                    for m in drawn
                ],
                log_x=True,
                x_ticks=[(k, str(k)) for k in c.ks],
            )
        )
    for m in c.methods:
        best = "-" if m.best_k is None else str(m.best_k)
        one_se = "-" if m.one_se_k is None else str(m.one_se_k)
        blocks += [
            Heading(level + 1, f"Method {m.method}"),
            Para(f"Best k: {best}; one-standard-error k: {one_se}." + (f" {m.note}" if m.note else "")),
        ]
        if m.points:
            blocks.append(
                Table(
                    ["k", f"validation {c.metric}", "folds", ""],
                    [
                        [
                            str(p.k),
                            format_mean_std(p.mean, p.std),
                            str(p.n_folds),
                            ", ".join(x for x, on in (("best", p.k == m.best_k), ("one-SE", p.k == m.one_se_k)) if on),
                        ]
                        for p in m.points
                    ],
                    [True, True, True, False],
                )
            )
        if m.chosen:
            shown = m.chosen[:MAX_PROFILE_COLUMNS]
            blocks += [
                Para(f"Features chosen at k = {best}, most often selected first:"),
                Table(
                    ["feature", "selected in folds", "importance"],
                    [[f.name, f"{f.frequency:.0%}", num(f.importance)] for f in shown],
                    [False, True, True],
                ),
            ]
            if len(m.chosen) > len(shown):
                blocks.append(Para(f"… and {len(m.chosen) - len(shown)} more (the JSON export has them all)."))
    blocks += [Para(f"Note: {n}") for n in c.notes]
    return blocks
