"""Runs, comparisons and diagnoses as blocks: what the exports write and what ``mlloop show``,
``compare`` and ``diagnose`` print.

A run summary is the run's spec, its per-fold train/validation scores with mean ± std, its GLM
table and warnings, and what the ML loop stored about it: its learning and validation curves
(a table, and in HTML an inline chart), its bias/variance diagnosis with ranked next steps (read
from the store, never computing a curve) and its test-set evaluations. A comparison summary is
the side-by-side table of :func:`core.analysis.compare.comparison_table` and the significance
tests with their one-line explanations; the exported comparison adds every dataset and run in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.analysis.compare import TEST_NAME, TEST_REFERENCE, Comparison, comparison_table
from core.analysis.curve_settings import size_unit
from core.analysis.curves import Curve, load_curve, stored_curve_params
from core.analysis.diagnosis import GAP_FRACTION, Diagnosis, diagnose
from core.analysis.errors import ErrorAnalysis, analyse_run, errors_to_dict
from core.analysis.holdout import TestEvaluation, list_test_evaluations
from core.errors import MlloopError
from core.modeling.metrics import METRICS, format_delta, format_mean_std, format_p
from core.report.blocks import Block, Heading, Para, Steps, Table
from core.report.dataset_summary import dataset_blocks
from core.report.errors_summary import errors_blocks
from core.report.formatting import DIGITS, mlloop_version, num, param_text, seconds, when
from core.report.serialize import curve_to_dict, diagnosis_to_dict, evaluation_to_dict
from core.report.svg_plot import Chart, Marker, Series
from core.store import Store
from core.types import DatasetInfo, RunRecord

__all__ = [
    "RunExtras",
    "comparison_document",
    "comparison_summary",
    "diagnosis_summary",
    "run_summary",
]


@dataclass(frozen=True)
class RunExtras:
    """What the ML loop stored about a run: its curves, its diagnosis (or why there is none), its test
    evaluations, and the error analysis of its out-of-fold predictions (or why there is none)."""

    curves: tuple[Curve, ...]
    diagnosis: Diagnosis | None
    diagnosis_error: str | None
    evaluations: tuple[TestEvaluation, ...]
    errors: ErrorAnalysis | None = None
    errors_error: str | None = None

    @classmethod
    def load(cls, store: Store, run: RunRecord) -> RunExtras:
        curves = [load_curve(store, run.id, "learning")]
        curves += [load_curve(store, run.id, "validation", p) for p in stored_curve_params(store, run.id)]
        try:
            diagnosis, error = diagnose(store, run.id), None  # reads a stored learning curve, never computes one
        except MlloopError as e:
            diagnosis, error = None, str(e)
        try:
            errors, errors_error = analyse_run(store, run.id), None
        except MlloopError as e:
            errors, errors_error = None, str(e)
        return cls(
            tuple(c for c in curves if c is not None),
            diagnosis,
            error,
            tuple(list_test_evaluations(store, run_id=run.id)),
            errors,
            errors_error,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "curves": [curve_to_dict(c) for c in self.curves],
            "diagnosis": None if self.diagnosis is None else diagnosis_to_dict(self.diagnosis),
            "diagnosis_error": self.diagnosis_error,
            "test_evaluations": [evaluation_to_dict(e) for e in self.evaluations],
            "errors": None if self.errors is None else errors_to_dict(self.errors),
            "errors_error": self.errors_error,
        }


def run_summary(
    run: RunRecord, extras: RunExtras, dataset: DatasetInfo | None = None, *, stamped: bool = False
) -> list[Block]:
    """A run in full; with its ``dataset``'s facts and column profile when given (the export has them,
    the terminal has ``mlloop datasets NAME``), and ``stamped`` with the version that exported it."""
    used = (
        "the locked test rows were used only by the test-set evaluations listed below"
        if extras.evaluations
        else "the locked test rows were not used"
    )
    blocks: list[Block] = [
        Heading(1, f"mlloop run {run.id}: {run.model} on {run.dataset}"),
        Para(f"{_stamp(stamped)}Scores are cross-validated on the development rows only; {used}."),
    ]
    if dataset is not None:
        blocks += dataset_blocks(dataset, level=2)
    blocks += run_blocks(run, extras, level=2)
    return blocks


def comparison_summary(c: Comparison, *, stamped: bool = False) -> list[Block]:
    """The comparison itself: the reference, the runs side by side, and the significance tests."""
    ref = c.reference
    info = METRICS.get(c.metric)
    direction = "" if info is None else (" (higher is better)" if info.greater_is_better else " (lower is better)")
    headers, rows = comparison_table(c, DIGITS)
    return [
        Heading(1, f"mlloop comparison: runs {', '.join(str(r.id) for r in c.runs)}"),
        Para(
            f"{_stamp(stamped)}Reference: run {ref.id} ({ref.model} on {ref.dataset}). "
            "Δ is run − reference on the mean validation score; ↑ higher is better, ↓ lower is better."
        ),
        Heading(2, "Side by side"),
        Table(headers, rows, [False] + [True] * (len(headers) - 1)),
        *([Para("Data versions: " + " | ".join(c.data_changes))] if c.data_changes else []),
        *_comparison_warnings(c),
        Heading(2, f"Significance on {c.metric}{direction}"),
        Para(
            f"{TEST_NAME} ({TEST_REFERENCE}): paired over the validation folds two runs share, with the "
            "variance corrected for the overlap of the training sets; runs on different datasets (but versions of "
            "one dataset, paired on the folds they share) or folds are not tested."
        ),
        Table(
            ["run", "vs", "mean diff", "t", "df", "p", "verdict"],
            [
                [
                    str(p.a_id),
                    str(p.b_id),
                    format_delta(p.mean_diff),
                    num(p.t, 3),
                    str(p.df) if p.pairable else "-",
                    format_p(p.p),
                    p.explanation,
                ]
                for p in c.pairs
            ],
            [True, True, True, True, True, True, False],
        ),
    ]


def data_warning_blocks(r: RunRecord, level: int) -> list[Block]:
    """Why the run's scores cannot be trusted, from its dataset's quality check (nothing if they can)."""
    if not r.data_warnings:
        return []
    return [
        Heading(level, "Scores not to be trusted"),
        Para(f"The data of {r.dataset} has problems that make every score on it optimistic; fix the data first."),
        Table(["problem", "finding", "fix"], [[w.kind, w.message, w.fix] for w in r.data_warnings]),
    ]


def _comparison_warnings(c: Comparison) -> list[Block]:
    warned = {r.dataset: r.data_warnings for r in c.runs if r.data_warnings}
    if not warned:
        return []
    lines = [f"{name}: {'; '.join(f'{w.kind} ({w.fix})' for w in ws)}" for name, ws in warned.items()]
    return [Para("! Scores not to be trusted: the data has problems that inflate them. " + " | ".join(lines))]


def comparison_document(c: Comparison, datasets: dict[int, DatasetInfo], extras: dict[int, RunExtras]) -> list[Block]:
    """The exported comparison: the comparison, then every dataset and every run in full."""
    blocks = comparison_summary(c, stamped=True)
    for d in datasets.values():
        blocks += dataset_blocks(d, level=2)
    for r in c.runs:
        blocks += run_blocks(r, extras[r.id], level=2)
    return blocks


def diagnosis_summary(d: Diagnosis) -> list[Block]:
    """A run's diagnosis on its own (``mlloop diagnose``): the same blocks as in the run summary."""
    return [Heading(1, f"mlloop run {d.run_id}: {d.model} on {d.dataset}"), *diagnosis_blocks(d, None, level=2)]


def run_blocks(r: RunRecord, extras: RunExtras, level: int) -> list[Block]:
    spec = [
        ["model", r.model],
        ["params", ", ".join(f"{k}={param_text(v)}" for k, v in sorted(r.params.items())) or "(defaults)"],
    ]
    if r.spec:  # a model spec: its text re-creates the estimator; the class and parameters it resolved to
        spec += [
            ["spec", r.spec.text],
            ["estimator", r.spec.estimator_class],
            ["estimator params", ", ".join(f"{k}={param_text(v)}" for k, v in sorted(r.spec.params.items()))],
        ]
    spec += [
        ["dataset", f"{r.dataset} (id {r.dataset_id})"],
        ["task", r.task],
        ["cv", f"{r.folds} folds × {r.repeats} repeat{'s' if r.repeats != 1 else ''}, seed {r.seed}"],
        *([["sample", r.sample.describe()]] if r.sample else []),
        *([["sample note", r.sample.note]] if r.sample and r.sample.note else []),
        ["folds done", f"{r.n_folds_done}/{r.n_folds_total}"],
        ["status", r.status],
    ]
    if r.error:
        spec.append(["error", r.error])
    spec += [
        ["group", str(r.group_id)],
        ["created", when(r.created_at)],
        ["cost", f"{seconds(r.cost_s)} (its folds' fit and score times)"],
        ["group wall", f"{seconds(r.group_wall_s)} (from the group's start to its last run's end)"],
        ["folds hash", r.folds_hash or "-"],
        ["dataset sha256", r.dataset_hash],
        ["versions", ", ".join(f"{k} {v}" for k, v in r.versions.items()) or "-"],
    ]
    blocks: list[Block] = [Heading(level, f"Run {r.id}: {r.model}"), Table(["", "value"], spec)]
    blocks += data_warning_blocks(r, level + 1)
    metrics = [m for m in METRICS if m in r.summaries] + sorted(set(r.summaries) - set(METRICS))
    if metrics:
        rows = []
        for m in metrics:
            s = r.summaries[m]
            info = METRICS.get(m)
            rows.append(
                [
                    m,
                    "-" if info is None else ("higher" if info.greater_is_better else "lower"),
                    format_mean_std(s.train_mean, s.train_std),
                    format_mean_std(s.val_mean, s.val_std),
                    num(s.train_mean - s.val_mean),
                    str(s.n),
                ]
            )
        blocks += [
            Heading(level + 1, "Scores: mean ± std over the folds"),
            Table(
                ["metric", "better", "train", "validation", "train − validation", "folds"],
                rows,
                [False, False, True, True, True, True],
            ),
        ]
    if r.fold_scores:
        fold_metrics = [m for m in metrics] or sorted({m for f in r.fold_scores for m in f.validation})
        headers = ["fold", "repeat", "n_train", "n_validation", "fit s"]
        for m in fold_metrics:
            headers += [f"{m} train", f"{m} validation"]
        rows = [
            [
                str(f.index),
                str(f.repeat),
                str(f.n_train),
                str(f.n_val),
                num(f.fit_time, 3),
                *(x for m in fold_metrics for x in (num(f.train.get(m)), num(f.validation.get(m)))),
            ]
            for f in r.fold_scores
        ]
        blocks += [Heading(level + 1, "Per fold"), Table(headers, rows, [True] * len(headers))]
    if r.glm:
        g = r.glm
        blocks += [
            Heading(level + 1, f"GLM ({g.family}, {g.link} link), fitted on the whole development set"),
            Table(
                ["statistic", "value"],
                [
                    ["observations", str(g.n_obs)],
                    ["df model", num(g.df_model, 1)],
                    ["df residual", num(g.df_resid, 1)],
                    ["deviance", num(g.deviance, 3)],
                    ["null deviance", num(g.null_deviance, 3)],
                    ["AIC", num(g.aic, 3)],
                    ["log-likelihood", num(g.llf, 3)],
                    ["converged", "yes" if g.converged else "no"],
                ],
                [False, True],
            ),
        ]
        with_class = any(c.label for c in g.coefficients)
        if g.coefficients:
            headers = (["class"] if with_class else []) + ["term", "coef", "std err", "z", "p", "[0.025", "0.975]"]
            rows = [
                ([c.label] if with_class else [])
                + [c.term, num(c.coef), num(c.std_err), num(c.z, 3), format_p(c.p), num(c.ci_low), num(c.ci_high)]
                for c in g.coefficients
            ]
            blocks.append(Table(headers, rows, [False] * (1 + with_class) + [True] * 6))
    warnings = list(r.warnings) + [f"GLM: {w}" for w in (r.glm.warnings if r.glm else ())]
    if warnings:
        blocks += [Heading(level + 1, "Warnings"), Table(["warning"], [[w] for w in warnings])]
    for c in extras.curves:
        blocks += curve_blocks(c, r, level + 1)
    blocks += diagnosis_blocks(extras.diagnosis, extras.diagnosis_error, level + 1)
    blocks += errors_blocks(extras.errors, extras.errors_error, level + 1, full=False)
    if extras.evaluations:
        blocks += evaluation_blocks(extras.evaluations, level + 1)
    return blocks


def curve_blocks(c: Curve, r: RunRecord, level: int) -> list[Block]:
    metric, better = c.key_metric, "higher" if c.greater_is_better else "lower"
    what = f"training {size_unit(c.task)}" if c.kind == "learning" else c.param
    name = "Learning curve" if c.kind == "learning" else f"Validation curve over {c.param}"
    rows, best = c.rows(metric), c.best
    table = []
    for i, row in enumerate(rows):
        marks = [m for m, on in (("best", i == best), ("this run", i == c.current)) if on]
        table.append(
            [
                row.label,
                f"{row.n}/{c.n_folds}",
                format_mean_std(row.train_mean, row.train_std),
                format_mean_std(row.val_mean, row.val_std),
                ", ".join(marks),
            ]
        )
    summary = f"{metric} ({better} is better), mean ± std over the run's {c.n_folds} folds at each setting; " + (
        "no setting has all its folds yet."
        if best is None
        else f"the best mean validation score is at {rows[best].label}."
    )
    if not c.complete:
        summary += f" {len(c.points)} of {c.n_expected} points are computed so far."
    markers = [] if best is None else [Marker(c.settings[best].x, f"best: {c.settings[best].label}")]
    if c.current is not None and c.current != best:
        markers.append(Marker(c.settings[c.current].x, "this run"))
    numeric = all(isinstance(s.value, (int, float)) and not isinstance(s.value, bool) for s in c.settings)
    xs = [row.x for row in rows]
    chart = Chart(
        title=f"{name} of run {r.id}: {r.model} on {r.dataset}",
        x_label=what,
        y_label=f"{metric} ({better} is better)",
        series=(
            Series("train (mean ± std)", xs, [row.train_mean for row in rows], [row.train_std for row in rows]),
            Series("validation (mean ± std)", xs, [row.val_mean for row in rows], [row.val_std for row in rows]),
        ),
        log_x=c.log_x,
        markers=markers,
        x_ticks=() if numeric else [(s.x, s.label) for s in c.settings],
    )
    blocks: list[Block] = [
        Heading(level, name),
        Para(summary),
        chart,
        Table([what, "folds", f"train {metric}", f"validation {metric}", ""], table, [False, True, True, True, False]),
    ]
    if c.errors:
        blocks.append(Table(["failed fits"], [[e] for e in c.errors]))
    blocks += [Para(f"Note: {n}") for n in c.notes]
    return blocks


def diagnosis_blocks(d: Diagnosis | None, error: str | None, level: int) -> list[Block]:
    """The bottleneck, the errors it comes from and the next steps; or why there is no diagnosis (``error``)."""
    if d is None:
        return [Para(f"No diagnosis: {error}")]
    ref = (
        "the dataset's target"
        if d.reference_source == "target"
        else f"the best validation error on the dataset, run {d.reference_run_id} (best of {d.reference_runs} runs)"
    )
    dummy = f"run {d.dummy_run_id}" if d.dummy_run_id is not None else "computed on this run's folds"
    rows = [
        ["reference", num(d.reference_error), ref],
        ["train", num(d.train_error), f"avoidable bias {num(d.avoidable_bias)}"],
        [
            "validation",
            num(d.validation_error),
            f"variance {num(d.variance)} (± {num(d.validation_error_se)} standard error)",
        ],
    ]
    if d.test_error is not None:
        rows.append(
            [
                "test",
                num(d.test_error),
                f"gap {num(d.test_gap)} (evaluation {d.test_evaluation_id}; {d.test_evaluations} on this dataset)",
            ]
        )
    rows.append(["dummy", num(d.dummy_error), dummy])
    blocks: list[Block] = [
        Heading(level, f"Diagnosis: bottleneck {d.bottleneck}"),
        Para(d.reason),
        Table([f"error ({d.error_definition})", "value", ""], rows, [False, True, False]),
        Para(
            f"A gap is large above {num(max(d.threshold, d.noise))}: the larger of {GAP_FRACTION:.0%} of the "
            f"dummy's error ({num(d.threshold)}) and the noise of the validation estimate ({num(d.noise)})."
        ),
    ]
    if d.curve_size is not None:
        helps = {
            True: "more data is likely to help",
            False: "more data is unlikely to help",
            None: "too few sizes to tell whether more data helps",
        }[d.more_data_helps]
        slope = "-" if d.curve_slope is None else f"{d.curve_slope:+.{DIGITS}f}"
        blocks.append(
            Para(
                f"Learning curve at {d.curve_size:g} rows: gap {num(d.curve_gap)}, slope {slope} per "
                f"doubling of the data: {helps}."
            )
        )
    else:
        blocks.append(
            Para(
                "No learning curve is stored, so whether more data would help is not known "
                f"(`mlloop curve {d.run_id}` computes it)."
            )
        )
    blocks += [Para(f"Note: {n}") for n in d.notes]
    if d.advice:
        blocks += [Para("Next steps, the largest gap first:"), Steps([(a.text, a.command) for a in d.advice])]
    return blocks


def evaluation_blocks(evaluations: Sequence[TestEvaluation], level: int) -> list[Block]:
    present = {m for e in evaluations for m in e.scores}
    metrics = [m for m in METRICS if m in present] + sorted(present - set(METRICS))
    rows = [
        [
            str(e.id),
            str(e.ordinal),
            when(e.created_at),
            str(e.n_train),
            str(e.n_test),
            *(num(e.scores.get(m)) for m in metrics),
            e.warning or "-",
        ]
        for e in evaluations
    ]
    return [
        Heading(level, "Test-set evaluations"),
        Para(
            "Fitted on every development row, scored on the locked test rows; every evaluation is recorded "
            "and counted per dataset (# is its rank on the dataset)."
        ),
        Table(
            ["evaluation", "#", "when", "train rows", "test rows", *metrics, "warning"],
            rows,
            [True, True, False, True, True, *[True] * len(metrics), False],
        ),
    ]


def _stamp(stamped: bool) -> str:
    return f"Exported by mlloop {mlloop_version()}. " if stamped else ""
