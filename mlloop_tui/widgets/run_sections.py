"""The run detail's read-only sections, as Rich renderables: what was run on what, its
problems, the locked test score, the search it belongs to, and its provenance.

Kept apart from :mod:`mlloop_tui.screens.run_detail` (which loads, refreshes and acts) so
the screen stays a thin layout over these pure functions of a :class:`~core.types.RunRecord`.
Every text from data goes through :func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from rich.table import Table
from rich.text import Text

from core.report.formatting import seconds
from core.store.runs import ACTIVE
from core.types import DatasetInfo, RunRecord
from mlloop_tui.widgets.literal import literal
from mlloop_tui.widgets.runs_table import STATUS_STYLE, WARNED_STYLE


def params_text(params: dict) -> Text:
    if not params:
        return Text("(defaults)", style="dim")
    return literal(", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(params.items())))


def status_line(run: RunRecord) -> Text:
    """``done``, or ``running · 3/15 folds`` (and folds done when a run stopped early)."""
    text = Text(run.status, style=STATUS_STYLE.get(run.status, ""))
    if run.status in ACTIVE or run.n_folds_done < run.n_folds_total:
        text.append(f" · {run.n_folds_done}/{run.n_folds_total} folds")
    return text


def time_text(run: RunRecord) -> Text:
    """What the run cost (its folds' fit and score times) beside its group's wall time: a dummy's
    milliseconds, not the minute its group took."""
    text = Text(seconds(run.cost_s))
    if run.group_wall_s is not None:
        text.append(f" · group {seconds(run.group_wall_s)}", style="dim")
    elif run.status in ACTIVE and run.cost_s is not None:
        text.append(" so far", style="dim")
    return text


def timestamp(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t)) if t is not None else "-"


def facts_table(run: RunRecord, dataset: DatasetInfo | None) -> Table:
    """The run's spec (left) and its dataset's facts (right), as label/value pairs."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
    cv = f"{run.folds} folds × {run.repeats} repeat{'s' if run.repeats != 1 else ''}"
    left = [
        ("model", literal(run.model, style="bold")),
        ("cv", Text(cv)),
        ("seed", Text(str(run.seed))),
        *([("fitted on", Text(run.sample.describe().removeprefix("fitted on ")))] if run.sample else []),
        ("status", status_line(run)),
        ("cost", time_text(run)),
        ("created", Text(timestamp(run.created_at))),
    ]
    right: list[tuple[str, Text]] = [("dataset", literal(run.dataset, style="bold")), ("task", literal(run.task))]
    if dataset is not None:
        right += [
            ("target", literal(dataset.target, style="bold cyan")),
            (
                "rows",
                Text(
                    f"dev {dataset.n_dev:,} · test {dataset.n_test:,}"
                    + (f" · unlabeled {dataset.n_unlabeled:,}" if dataset.n_unlabeled else "")
                ),
            ),
            ("file", literal(f"sha256 {dataset.file_hash[:12]}")),
        ]
        if dataset.classes:
            right.append(("classes", literal(", ".join(dataset.classes))))
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ("", Text(""))
        b = right[i] if i < len(right) else ("", Text(""))
        grid.add_row(a[0], a[1], b[0], b[1])
    return grid


def problems_text(run: RunRecord) -> Text:
    """The run's error, why its scores cannot be trusted (its data's problems), and its fit warnings."""
    text = Text()
    for warning in run.data_warnings:
        if text:
            text.append("\n")
        text.append("! scores not to be trusted: ", style=WARNED_STYLE)
        text.append_text(literal(warning.message))
        text.append(" — fix: ", style="bold")
        text.append_text(literal(warning.fix))
    if run.error:
        if text:
            text.append("\n")
        text.append("✖ error: ", style="bold red")
        text.append_text(literal(run.error))
    for warning in run.warnings:
        if text:
            text.append("\n")
        text.append("⚠ ", style="bold yellow")
        text.append_text(literal(warning))
    return text


def provenance_table(run: RunRecord) -> Table:
    """What makes a run reproducible and comparable: versions, the data's and the folds' hashes."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    versions = literal(" · ".join(f"{k} {v}" for k, v in run.versions.items()) or "-")
    versions.no_wrap = False
    grid.add_row("versions", versions)
    grid.add_row("dataset", literal(run.dataset_hash or "-"))
    grid.add_row(
        "folds",
        literal(run.folds_hash or "-") if run.folds_hash else Text("- (written when the run ends)", style="dim"),
    )
    if run.status in ACTIVE and run.host:
        grid.add_row("running on", literal(f"{run.host}" + (f" (pid {run.pid})" if run.pid is not None else "")))
    return grid


def holdout_text(evaluations: list, record: RunRecord | None) -> Text:
    """The run's latest locked-test score next to its validation score, and the warning from the 2nd evaluation on."""
    from core.modeling.metrics import METRICS, key_metrics

    if not evaluations:
        return Text("")
    latest = evaluations[-1]
    metric = key_metrics(record.task)[0].name if record is not None else next(iter(latest.scores), "")
    label = METRICS[metric].label if metric in METRICS else metric
    value = latest.scores.get(metric, math.nan)
    text = Text.assemble(("test ", "bold"), (f"{label} {value:.3f}" if math.isfinite(value) else f"{label} -", "bold"))
    if record is not None and metric in record.summaries:
        s = record.summaries[metric]
        text.append(f" (validation {s.val_mean:.3f} ± {s.val_std:.3f})", style="dim")
    text.append(
        f" · evaluation {latest.ordinal} on this dataset's test set · fitted on {latest.n_train:,} "
        f"development rows, scored on {latest.n_test:,} test rows"
    )
    if len(evaluations) > 1:
        text.append(f" · this run evaluated {len(evaluations)} times", style="dim")
    if latest.warning:
        text.append("\n⚠ ", style="bold yellow")
        text.append_text(literal(latest.warning, style="yellow"))
    text.no_wrap = False
    return text


def search_table(search: Any, run_id: int) -> Table:
    """The candidates of a search: the grid's parameters, status, validation mean ± std; the best marked."""
    best = search.best
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim")
    table.add_column("run", justify="right", no_wrap=True)
    for name in search.grid:
        table.add_column(literal(name), no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("status", no_wrap=True)
    table.add_column(f"validation {search.metric}", no_wrap=True)
    table.add_column("", no_wrap=True)
    for c in search.candidates:
        mark = []
        if best is not None and c.run_id == best.run_id:
            mark.append(Text("★ best", style="bold green"))
        if c.run_id == run_id:
            mark.append(Text("this run", style="bold"))
        folds = f" {c.folds_done}/{c.folds_total}" if c.status in ACTIVE or c.folds_done < c.folds_total else ""
        score = f"{c.val_mean:.3f} ± {c.val_std:.3f}" if math.isfinite(c.val_mean) else "-"
        table.add_row(
            str(c.run_id),
            *(literal(json.dumps(c.params.get(name), ensure_ascii=False)) for name in search.grid),
            Text(c.status + folds, style=STATUS_STYLE.get(c.status, "")),
            Text(score, style="bold green" if best is not None and c.run_id == best.run_id else ""),
            Text(" ").join(mark),
        )
    return table
