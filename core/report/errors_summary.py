"""A run's error analysis as blocks: what ``mlloop errors`` prints and what a run export includes.

The command shows it in full; an export (``full=False``) keeps the confusion matrix or the
residual summary and the top slices, and says how to get the rest.
"""

from __future__ import annotations

from core.analysis.errors import ErrorAnalysis
from core.modeling.metrics import format_p
from core.report.blocks import Block, Heading, Para, Table
from core.report.formatting import num

__all__ = ["errors_blocks", "errors_summary"]

EXPORTED_SLICES = 5


def errors_summary(a: ErrorAnalysis) -> list[Block]:
    """``mlloop errors RUN``: the error analysis in full."""
    return [Heading(1, f"mlloop errors: run {a.run_id} ({a.model} on {a.dataset})"), *errors_blocks(a, None, 2)]


def errors_blocks(a: ErrorAnalysis | None, error: str | None, level: int, *, full: bool = True) -> list[Block]:
    """The analysis, or why there is none (``error``). Its parts are headed one level down in full, and by
    a line in an export (whose runs are already a level down)."""

    def title(text: str) -> Block:
        return Heading(level + 1, text) if full else Para(f"{text}:")

    if a is None:
        return [Heading(level, "Error analysis"), Para(f"No error analysis: {error}")]
    repeat = f", repeat {a.repeat} of repeats 0 to {a.n_repeats - 1}" if a.n_repeats > 1 else ""
    blocks: list[Block] = [
        Heading(level, "Error analysis"),
        Para(
            f"Out-of-fold predictions of {a.n_rows} of {a.n_dev} development rows{repeat}: each row predicted "
            f"by the fold that held it out. Overall {a.error_name}: {num(a.overall_error)}."
        ),
    ]
    c = a.classification
    if c is not None:
        n_classes = len(c.classes)
        headers = ["true \\ predicted", *c.classes, "rows"]
        blocks += [
            title("Confusion matrix"),
            Table(
                headers,
                [[t, *(str(v) for v in row), str(sum(row))] for t, row in zip(c.classes, c.confusion)],
                [False] + [True] * (n_classes + 1),
            ),
            Para("Row-normalised (each true class's rows; the diagonal is its recall):"),
            Table(
                headers[:-1],
                [[t, *(num(v, 3) for v in row)] for t, row in zip(c.classes, c.normalised())],
                [False] + [True] * n_classes,
            ),
        ]
        if full:
            blocks += [
                title("Per class"),
                Table(
                    ["class", "precision", "recall", "F1", "support"],
                    [[s.label, num(s.precision), num(s.recall), num(s.f1), str(s.support)] for s in c.per_class],
                    [False, True, True, True, True],
                ),
                title(f"Most confidently wrong rows ({len(c.wrong)} of {c.n_wrong} wrong)"),
                Table(
                    ["row", "true", "predicted", "P(true)"],
                    [[str(w.row), w.true, w.predicted, num(w.p_true)] for w in c.wrong],
                    [True, False, False, True],
                )
                if c.wrong
                else Para("No row is wrong."),
            ]
    r = a.regression
    if r is not None:
        rows = [
            ["mean (bias)", num(r.mean)],
            ["std", num(r.std)],
            ["mean absolute error", num(r.mae)],
            ["rmse", num(r.rmse)],
            ["median absolute error", num(r.median_abs)],
            *([f"{q:.0%} quantile", num(v)] for q, v in r.quantiles),
        ]
        blocks += [
            title("Residuals (true − predicted)"),
            Table(["statistic", "value"], rows, [False, True]),
        ]
        if full:
            blocks += [
                title("Largest absolute errors"),
                Table(
                    ["row", "true", "predicted", "residual"],
                    [[str(e.row), num(e.true), num(e.predicted), num(e.residual)] for e in r.largest],
                    [True, True, True, True],
                ),
                title("Error by decile of the target"),
                Table(
                    ["target from", "to", "rows", "mean abs error", "bias"],
                    [[num(d.low), num(d.high), str(d.n), num(d.mae), num(d.bias)] for d in r.deciles],
                    [True] * 5,
                ),
            ]
    slices = a.slices if full else a.slices[:EXPORTED_SLICES]
    blocks += [
        title("Weakest slices"),
        Para(
            f"For each feature, the value or quantile bin (of at least {a.min_slice} rows) whose {a.error_name} is "
            f"most significantly above the other rows', by a {a.slice_test}; the most significant first. "
            f"{a.slices_tested} slices were tested: p is for one slice, Bonferroni p for having tried them all."
        ),
    ]
    if slices:
        blocks.append(
            Table(
                ["feature", "slice", "rows", a.error_name, "other rows", "statistic", "p", "Bonferroni p"],
                [
                    [
                        s.feature,
                        s.description,
                        str(s.n),
                        num(s.error),
                        num(s.rest_error),
                        num(s.statistic, 2),
                        format_p(s.p),
                        format_p(s.p_bonferroni),
                    ]
                    for s in slices
                ],
                [False, False, True, True, True, True, True, True],
            )
        )
    else:
        blocks.append(Para("No slice has a higher error than the other rows."))
    if not full:
        blocks.append(Para(f"`mlloop errors {a.run_id}` lists the rows behind these numbers."))
    return blocks
