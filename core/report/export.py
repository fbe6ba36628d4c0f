"""Run, comparison and dataset summaries as Markdown, HTML or JSON, for a pull request, a report or a script.

One run gives a run summary: the dataset's facts and column profile, the run's spec, its
per-fold train/validation scores with mean ± std, its GLM table and its warnings, and what the
ML loop stored about it: its learning and validation curves (a table, and in HTML an inline
SVG chart from :mod:`core.report.svg_plot`), its bias/variance diagnosis with ranked advice (read from
the store, never computing a curve) and its test-set evaluations. Two or more runs give a
comparison summary: the side-by-side table of :func:`core.analysis.compare.comparison_table`, the
significance tests with their one-line explanations, then every dataset and run in full.

A dataset gives a dataset summary: its facts and column profile, the data-quality findings
with suggested actions, the curse-of-dimensionality statistics and, when the caller has them
(they are costly), the feature-selection curves.

The Markdown and HTML documents are built once, as a list of plain-text blocks (headings,
paragraphs, tables), and only then rendered; the renderers escape *every* piece of text, so no
caller can forget to. Names and values come from users' files, so:

- control characters go through :func:`core.text.printable` (visible ``\\xNN`` escapes);
- Markdown: ASCII punctuation that means something inline (``\\ ` * _ [ ] < > | ~ $ & ! # @``)
  is backslash-escaped, so a cell holding ``|`` keeps the table's column count and
  ``<script>`` or ``[link](x)`` render as the literal text; block markers never start a line
  with data (tables and prefixed paragraphs only);
- HTML: ``html.escape`` on everything, one self-contained file (inline CSS, inline SVG charts,
  no scripts, no external resources, and a Content-Security-Policy that would block them anyway);
- JSON: :mod:`core.report.serialize`'s stable shapes, strict (no NaN), exact data; control characters
  only ever appear as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from core.analysis.compare import TEST_NAME, TEST_REFERENCE, Comparison, compare_runs, comparison_table
from core.analysis.curves import Curve, load_curve, stored_curve_params
from core.store.datasets import get_dataset
from core.analysis.diagnosis import GAP_FRACTION, Diagnosis, diagnose
from core.analysis.dimensionality import CurseStats, FeatureCurves, curse_stats, curse_to_dict, curves_to_dict
from core.errors import InputError, MlloopError
from core.modeling.evaluation import METRICS
from core.analysis.holdout import TestEvaluation, list_test_evaluations
from core.analysis.quality import Finding, check_quality, finding_to_dict
from core.store.runs import get_run, parse_run_id
from core.report.serialize import (
    comparison_to_dict, curve_to_dict, dataset_to_dict, diagnosis_to_dict, evaluation_to_dict, run_to_dict,
)
from core.store import Store
from core.report.svg_plot import Chart, Marker, Series, render
from core.text import printable
from core.types import DatasetInfo, RunRecord

__all__ = [
    "FORMATS", "Format", "check_export_path", "export_dataset", "export_runs", "format_from_path",
    "write_dataset_export", "write_export",
]

Format = Literal["md", "html", "json"]
FORMATS: tuple[str, ...] = ("md", "html", "json")
EXTENSIONS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
_ALIASES = {"md": "md", "markdown": "md", "html": "html", "htm": "html", "json": "json"}
MAX_PROFILE_COLUMNS = 100  # the Markdown/HTML column profile (and list of chosen features) stops here
SHOWN_ITEMS = 5  # rows and columns listed per data-quality finding in Markdown/HTML (JSON has all it stored)
DIGITS = 4


# --------------------------------------------------------------------------- public API


def format_from_path(path: str | os.PathLike[str]) -> Format:
    """``md``, ``html`` or ``json`` from a file name's extension; ``InputError`` otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        shown = suffix or "no extension"
        raise InputError(
            f"cannot tell the export format from {printable(Path(path).name)!r} ({shown}); "
            f"use .md, .html or .json, or give the format (md, html, json)"
        )
    return EXTENSIONS[suffix]  # type: ignore[return-value]


def export_runs(
    store: Store,
    run_ids: Sequence[int | str],
    fmt: str,
    reference: int | str | None = None,
    metric: str | None = None,
) -> str:
    """One run -> a run summary; two or more -> a comparison summary. Returns the document text."""
    with store.reading():  # every run's record, dataset, curves and diagnosis: one connection
        return _export_runs(store, run_ids, fmt, reference, metric)


def _export_runs(store: Store, run_ids: Sequence[int | str], fmt: str, reference: int | str | None,
                 metric: str | None) -> str:
    kind = _check_format(fmt)
    ids = list(dict.fromkeys(parse_run_id(r) for r in run_ids))
    if not ids:
        raise InputError("nothing to export: give at least one run id")
    if len(ids) == 1:
        if reference is not None and parse_run_id(reference) != ids[0]:
            raise InputError(f"reference run {parse_run_id(reference)} is not one of the exported runs")
        run = get_run(store, ids[0])
        datasets = {run.dataset_id: get_dataset(store, run.dataset_id)}
        extras = {run.id: _RunExtras.load(store, run)}
        if kind == "json":
            return _json({"kind": "run", "mlloop_version": _version(),
                          "dataset": dataset_to_dict(datasets[run.dataset_id]),
                          "run": run_to_dict(run) | extras[run.id].to_dict()})
        blocks = _run_document(run, datasets[run.dataset_id], extras[run.id])
        title = f"mlloop run {run.id}: {run.model} on {run.dataset}"
    else:
        comparison = compare_runs(store, ids, reference=reference, metric=metric)
        datasets = {}
        for r in comparison.runs:
            if r.dataset_id not in datasets:
                datasets[r.dataset_id] = get_dataset(store, r.dataset_id)
        extras = {r.id: _RunExtras.load(store, r) for r in comparison.runs}
        if kind == "json":
            data = comparison_to_dict(comparison)
            for run_dict in data["runs"]:
                run_dict.update(extras[run_dict["id"]].to_dict())
            return _json({"kind": "comparison", "mlloop_version": _version(),
                          "datasets": [dataset_to_dict(d) for d in datasets.values()], "comparison": data})
        blocks = _comparison_document(comparison, datasets, extras)
        title = f"mlloop comparison: runs {', '.join(str(r.id) for r in comparison.runs)}"
    return _markdown(blocks) if kind == "md" else _html(title, blocks)


def write_export(
    store: Store,
    run_ids: Sequence[int | str],
    path: str | os.PathLike[str],
    fmt: str | None = None,
    overwrite: bool = False,
    reference: int | str | None = None,
    metric: str | None = None,
) -> Path:
    """Write :func:`export_runs` to ``path`` atomically (a temp file in the same folder, then a
    rename). The format comes from the extension unless given. Refuses to replace an existing
    file unless ``overwrite``; nothing is written when anything is wrong (``InputError``)."""
    return _write(path, fmt, overwrite, lambda kind: export_runs(store, run_ids, kind, reference=reference,
                                                                  metric=metric))


def export_dataset(
    store: Store,
    dataset: str | int | DatasetInfo,
    fmt: str,
    *,
    findings: Sequence[Finding] | None = None,
    feature_curves: FeatureCurves | None = None,
    curse: CurseStats | None = None,
) -> str:
    """A dataset summary: facts, column profile, data-quality findings, curse-of-dimensionality
    statistics and (only when given: they are costly) feature-selection curves.

    Callers that already hold ``findings`` or ``curse`` pass them; otherwise they are computed
    here (:func:`core.analysis.quality.check_quality`, :func:`core.analysis.dimensionality.curse_stats`).
    """
    kind = _check_format(fmt)
    info = get_dataset(store, dataset.id if isinstance(dataset, DatasetInfo) else dataset)
    findings = tuple(check_quality(store, info) if findings is None else findings)
    curse = curse_stats(store, info) if curse is None else curse
    if kind == "json":
        return _json({"kind": "dataset", "mlloop_version": _version(), "dataset": dataset_to_dict(info),
                      "quality": [finding_to_dict(f) for f in findings], "curse": curse_to_dict(curse),
                      "features": None if feature_curves is None else curves_to_dict(feature_curves)})
    blocks = _dataset_document(info, findings, curse, feature_curves)
    return _markdown(blocks) if kind == "md" else _html(f"mlloop dataset {info.name}", blocks)


def write_dataset_export(
    store: Store,
    dataset: str | int | DatasetInfo,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    overwrite: bool = False,
    *,
    findings: Sequence[Finding] | None = None,
    feature_curves: FeatureCurves | None = None,
    curse: CurseStats | None = None,
) -> Path:
    """Write :func:`export_dataset` to ``path``, atomically and safely as :func:`write_export` does."""
    return _write(path, fmt, overwrite, lambda kind: export_dataset(
        store, dataset, kind, findings=findings, feature_curves=feature_curves, curse=curse))


def check_export_path(
    path: str | os.PathLike[str], fmt: str | None = None, overwrite: bool = False
) -> tuple[Path, Format]:
    """Where an export would go and in which format, or ``InputError`` — checked before costly
    work (feature curves) rather than after it."""
    target = Path(path).expanduser()
    kind = _check_format(fmt) if fmt is not None else format_from_path(target)
    shown = printable(str(target))
    if target.is_dir():
        raise InputError(f"cannot export to {shown}: it is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"cannot export to {shown}: folder {printable(str(folder))} does not exist")
    if not overwrite and (target.exists() or target.is_symlink()):
        raise InputError(f"{shown} already exists; use --force to overwrite it")
    return target, kind


# --------------------------------------------------------------------------- the document model


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Para:
    text: str


@dataclass(frozen=True)
class _Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: Sequence[bool] = field(default=())  # right-align these columns

    def is_numeric(self, i: int) -> bool:
        return i < len(self.numeric) and self.numeric[i]


_Block = _Heading | _Para | _Table | Chart  # a Chart is drawn in HTML only; its numbers are in a table beside it


@dataclass(frozen=True)
class _RunExtras:
    """What the ML loop stored about a run: its curves, its diagnosis (or why there is none), its test evaluations."""

    curves: tuple[Curve, ...]
    diagnosis: Diagnosis | None
    diagnosis_error: str | None
    evaluations: tuple[TestEvaluation, ...]

    @classmethod
    def load(cls, store: Store, run: RunRecord) -> _RunExtras:
        curves = [load_curve(store, run.id, "learning")]
        curves += [load_curve(store, run.id, "validation", p) for p in stored_curve_params(store, run.id)]
        try:
            diagnosis, error = diagnose(store, run.id), None  # reads a stored learning curve, never computes one
        except MlloopError as e:
            diagnosis, error = None, str(e)
        return cls(tuple(c for c in curves if c is not None), diagnosis, error,
                   tuple(list_test_evaluations(store, run_id=run.id)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "curves": [curve_to_dict(c) for c in self.curves],
            "diagnosis": None if self.diagnosis is None else diagnosis_to_dict(self.diagnosis),
            "diagnosis_error": self.diagnosis_error,
            "test_evaluations": [evaluation_to_dict(e) for e in self.evaluations],
        }


def _run_document(run: RunRecord, dataset: DatasetInfo, extras: _RunExtras) -> list[_Block]:
    used = ("the locked test rows were used only by the test-set evaluations listed below" if extras.evaluations
            else "the locked test rows were not used")
    blocks: list[_Block] = [
        _Heading(1, f"mlloop run {run.id}: {run.model} on {run.dataset}"),
        _Para(f"Exported by mlloop {_version()}. Scores are cross-validated on the development rows only; {used}."),
    ]
    blocks += _dataset_blocks(dataset, level=2)
    blocks += _run_blocks(run, extras, level=2)
    return blocks


def _comparison_document(c: Comparison, datasets: dict[int, DatasetInfo],
                         extras: dict[int, _RunExtras]) -> list[_Block]:
    ref = c.reference
    info = METRICS.get(c.metric)
    direction = "" if info is None else (" (higher is better)" if info.greater_is_better else " (lower is better)")
    blocks: list[_Block] = [
        _Heading(1, f"mlloop comparison: runs {', '.join(str(r.id) for r in c.runs)}"),
        _Para(f"Exported by mlloop {_version()}. Reference: run {ref.id} ({ref.model} on {ref.dataset}). "
              "Δ is run − reference on the mean validation score; ↑ higher is better, ↓ lower is better."),
        _Heading(2, "Side by side"),
    ]
    headers, rows = comparison_table(c, DIGITS)
    blocks.append(_Table(headers, rows, [False] + [True] * (len(headers) - 1)))
    blocks += [
        _Heading(2, f"Significance on {c.metric}{direction}"),
        _Para(f"{TEST_NAME} ({TEST_REFERENCE}): paired over the validation folds two runs share, with the "
              "variance corrected for the overlap of the training sets; runs on different datasets or folds are "
              "not tested."),
        _Table(
            ["run", "vs", "mean diff", "t", "df", "p", "verdict"],
            [[str(p.a_id), str(p.b_id), _signed(p.mean_diff), _num(p.t, 3), str(p.df) if p.pairable else "-",
              _p(p.p), p.explanation] for p in c.pairs],
            [True, True, True, True, True, True, False],
        ),
    ]
    for d in datasets.values():
        blocks += _dataset_blocks(d, level=2)
    for r in c.runs:
        blocks += _run_blocks(r, extras[r.id], level=2)
    return blocks


def _dataset_blocks(d: DatasetInfo, level: int) -> list[_Block]:
    facts = [
        ["name", d.name], ["id", str(d.id)], ["source", d.source], ["format", d.format],
        ["encoding", d.encoding or "-"], ["rows", str(d.n_rows)], ["columns", str(d.n_cols)],
        ["target", d.target], ["task", d.task],
    ]
    if d.classes:
        facts.append(["classes", ", ".join(d.classes)])
    facts += [
        ["development rows", str(d.n_dev)], ["locked test rows", str(d.n_test)],
        ["unlabeled rows", str(d.n_unlabeled)], ["test size", _num(d.test_size, 3)],
        ["split seed", str(d.split_seed)], ["file sha256", d.file_hash], ["imported", _when(d.created_at)],
    ]
    blocks: list[_Block] = [_Heading(level, f"Dataset {d.name}"), _Table(["fact", "value"], facts)]
    if d.notes:
        blocks.append(_Table(["note"], [[n] for n in d.notes]))
    if d.columns:
        shown = d.columns[:MAX_PROFILE_COLUMNS]
        blocks += [
            _Heading(level + 1, "Columns"),
            _Table(
                ["#", "column", "role", "type", "kind", "missing", "distinct", "min", "max", "mean", "top values"],
                [[str(c.position), c.name, "target" if c.name == d.target else "feature", c.sql_type, c.kind,
                  str(c.n_missing), str(c.n_distinct), _opt(c.min), _opt(c.max), _num(c.mean, 3),
                  ", ".join(f"{v} ({n})" for v, n in c.top_values[:3])] for c in shown],
                [True, False, False, False, False, True, True, False, False, True, False],
            ),
        ]
        if len(d.columns) > len(shown):
            blocks.append(_Para(f"… and {len(d.columns) - len(shown)} more columns (the JSON export has them all)."))
    return blocks


def _run_blocks(r: RunRecord, extras: _RunExtras, level: int) -> list[_Block]:
    spec = [
        ["model", r.model],
        ["params", ", ".join(f"{k}={_param(v)}" for k, v in sorted(r.params.items())) or "(defaults)"],
        ["dataset", f"{r.dataset} (id {r.dataset_id})"],
        ["task", r.task],
        ["cv", f"{r.folds} folds × {r.repeats} repeat{'s' if r.repeats != 1 else ''}, seed {r.seed}"],
        ["folds done", f"{r.n_folds_done}/{r.n_folds_total}"],
        ["status", r.status],
    ]
    if r.error:
        spec.append(["error", r.error])
    spec += [
        ["group", str(r.group_id)], ["created", _when(r.created_at)],
        ["duration", "-" if r.duration_s is None else f"{r.duration_s:.2f} s"],
        ["folds hash", r.folds_hash or "-"], ["dataset sha256", r.dataset_hash],
        ["versions", ", ".join(f"{k} {v}" for k, v in r.versions.items()) or "-"],
    ]
    blocks: list[_Block] = [_Heading(level, f"Run {r.id}: {r.model}"), _Table(["", "value"], spec)]
    metrics = [m for m in METRICS if m in r.summaries] + sorted(set(r.summaries) - set(METRICS))
    if metrics:
        rows = []
        for m in metrics:
            s = r.summaries[m]
            info = METRICS.get(m)
            rows.append([m, "-" if info is None else ("higher" if info.greater_is_better else "lower"),
                         _mean_std(s.train_mean, s.train_std), _mean_std(s.val_mean, s.val_std),
                         _num(s.train_mean - s.val_mean), str(s.n)])
        blocks += [
            _Heading(level + 1, "Scores: mean ± std over the folds"),
            _Table(["metric", "better", "train", "validation", "train − validation", "folds"], rows,
                   [False, False, True, True, True, True]),
        ]
    if r.fold_scores:
        fold_metrics = [m for m in metrics] or sorted({m for f in r.fold_scores for m in f.validation})
        headers = ["fold", "repeat", "n_train", "n_validation", "fit s"]
        for m in fold_metrics:
            headers += [f"{m} train", f"{m} validation"]
        rows = [
            [str(f.index), str(f.repeat), str(f.n_train), str(f.n_val), _num(f.fit_time, 3),
             *(x for m in fold_metrics for x in (_num(f.train.get(m)), _num(f.validation.get(m))))]
            for f in r.fold_scores
        ]
        blocks += [_Heading(level + 1, "Per fold"), _Table(headers, rows, [True] * len(headers))]
    if r.glm:
        g = r.glm
        blocks += [
            _Heading(level + 1, f"GLM ({g.family}, {g.link} link), fitted on the whole development set"),
            _Table(["statistic", "value"], [
                ["observations", str(g.n_obs)], ["df model", _num(g.df_model, 1)], ["df residual", _num(g.df_resid, 1)],
                ["deviance", _num(g.deviance, 3)], ["null deviance", _num(g.null_deviance, 3)],
                ["AIC", _num(g.aic, 3)], ["log-likelihood", _num(g.llf, 3)], ["converged", "yes" if g.converged else "no"],
            ], [False, True]),
        ]
        with_class = any(c.label for c in g.coefficients)
        if g.coefficients:
            headers = (["class"] if with_class else []) + ["term", "coef", "std err", "z", "p", "[0.025", "0.975]"]
            rows = [([c.label] if with_class else []) + [
                c.term, _num(c.coef), _num(c.std_err), _num(c.z, 3), _p(c.p), _num(c.ci_low), _num(c.ci_high)]
                for c in g.coefficients]
            blocks.append(_Table(headers, rows, [False] * (1 + with_class) + [True] * 6))
    warnings = list(r.warnings) + [f"GLM: {w}" for w in (r.glm.warnings if r.glm else ())]
    if warnings:
        blocks += [_Heading(level + 1, "Warnings"), _Table(["warning"], [[w] for w in warnings])]
    for c in extras.curves:
        blocks += _curve_blocks(c, r, level + 1)
    blocks += _diagnosis_blocks(extras, level + 1)
    if extras.evaluations:
        blocks += _evaluation_blocks(extras.evaluations, level + 1)
    return blocks


def _curve_blocks(c: Curve, r: RunRecord, level: int) -> list[_Block]:
    metric, better = c.key_metric, "higher" if c.greater_is_better else "lower"
    what = "training rows" if c.kind == "learning" else c.param
    name = "Learning curve" if c.kind == "learning" else f"Validation curve over {c.param}"
    rows, best = c.rows(metric), c.best
    table = []
    for i, row in enumerate(rows):
        marks = [m for m, on in (("best", i == best), ("this run", i == c.current)) if on]
        table.append([row.label, f"{row.n}/{c.n_folds}", _mean_std(row.train_mean, row.train_std),
                      _mean_std(row.val_mean, row.val_std), ", ".join(marks)])
    summary = (f"{metric} ({better} is better), mean ± std over the run's {c.n_folds} folds at each setting; "
               + ("no setting has all its folds yet." if best is None
                  else f"the best mean validation score is at {rows[best].label}."))
    if not c.complete:
        summary += f" {len(c.points)} of {c.n_expected} points are computed so far."
    markers = [] if best is None else [Marker(c.settings[best].x, f"best: {c.settings[best].label}")]
    if c.current is not None and c.current != best:
        markers.append(Marker(c.settings[c.current].x, "this run"))
    numeric = all(isinstance(s.value, (int, float)) and not isinstance(s.value, bool) for s in c.settings)
    xs = [row.x for row in rows]
    chart = Chart(
        title=f"{name} of run {r.id}: {r.model} on {r.dataset}", x_label=what,
        y_label=f"{metric} ({better} is better)",
        series=(Series("train (mean ± std)", xs, [row.train_mean for row in rows], [row.train_std for row in rows]),
                Series("validation (mean ± std)", xs, [row.val_mean for row in rows], [row.val_std for row in rows])),
        log_x=c.log_x, markers=markers, x_ticks=() if numeric else [(s.x, s.label) for s in c.settings],
    )
    blocks: list[_Block] = [
        _Heading(level, name), _Para(summary), chart,
        _Table([what, "folds", f"train {metric}", f"validation {metric}", ""], table,
               [False, True, True, True, False]),
    ]
    if c.errors:
        blocks.append(_Table(["failed fits"], [[e] for e in c.errors]))
    blocks += [_Para(f"Note: {n}") for n in c.notes]
    return blocks


def _diagnosis_blocks(x: _RunExtras, level: int) -> list[_Block]:
    d = x.diagnosis
    if d is None:
        return [_Para(f"No diagnosis: {x.diagnosis_error}")]
    ref = ("the dataset's target" if d.reference_source == "target"
           else f"the best validation error on the dataset, run {d.reference_run_id}")
    dummy = f"run {d.dummy_run_id}" if d.dummy_run_id is not None else "computed on this run's folds"
    rows = [
        ["reference", _num(d.reference_error), ref],
        ["train", _num(d.train_error), f"avoidable bias {_num(d.avoidable_bias)}"],
        ["validation", _num(d.validation_error),
         f"variance {_num(d.variance)} (± {_num(d.validation_error_se)} standard error)"],
    ]
    if d.test_error is not None:
        rows.append(["test", _num(d.test_error), f"gap {_num(d.test_gap)} (evaluation {d.test_evaluation_id}; "
                                                 f"{d.test_evaluations} on this dataset)"])
    rows.append(["dummy", _num(d.dummy_error), dummy])
    blocks: list[_Block] = [
        _Heading(level, f"Diagnosis: bottleneck {d.bottleneck}"),
        _Para(d.reason),
        _Table([f"error ({d.error_definition})", "value", ""], rows, [False, True, False]),
        _Para(f"A gap is large above {_num(max(d.threshold, d.noise))}: the larger of {GAP_FRACTION:.0%} of the "
              f"dummy's error ({_num(d.threshold)}) and the noise of the validation estimate ({_num(d.noise)})."),
    ]
    if d.curve_size is not None:
        helps = {True: "more data is likely to help", False: "more data is unlikely to help",
                 None: "too few sizes to tell whether more data helps"}[d.more_data_helps]
        slope = "-" if d.curve_slope is None else f"{d.curve_slope:+.{DIGITS}f}"
        blocks.append(_Para(f"Learning curve at {d.curve_size:g} rows: gap {_num(d.curve_gap)}, slope {slope} per "
                            f"doubling of the data: {helps}."))
    else:
        blocks.append(_Para("No learning curve is stored, so whether more data would help is not known."))
    blocks += [_Para(f"Note: {n}") for n in d.notes]
    if d.advice:
        blocks += [
            _Para("Next steps, the largest gap first:"),
            _Table(["#", "next step", "command"], [[str(i), a.text, a.command or "-"] for i, a in
                                                    enumerate(d.advice, 1)], [True, False, False]),
        ]
    return blocks


def _evaluation_blocks(evaluations: Sequence[TestEvaluation], level: int) -> list[_Block]:
    present = {m for e in evaluations for m in e.scores}
    metrics = [m for m in METRICS if m in present] + sorted(present - set(METRICS))
    rows = [[str(e.id), str(e.ordinal), _when(e.created_at), str(e.n_train), str(e.n_test),
             *(_num(e.scores.get(m)) for m in metrics), e.warning or "-"] for e in evaluations]
    return [
        _Heading(level, "Test-set evaluations"),
        _Para("Fitted on every development row, scored on the locked test rows; every evaluation is recorded "
              "and counted per dataset (# is its rank on the dataset)."),
        _Table(["evaluation", "#", "when", "train rows", "test rows", *metrics, "warning"], rows,
               [True, True, False, True, True, *[True] * len(metrics), False]),
    ]


def _dataset_document(d: DatasetInfo, findings: Sequence[Finding], curse: CurseStats,
                      curves: FeatureCurves | None) -> list[_Block]:
    blocks: list[_Block] = [
        _Heading(1, f"mlloop dataset {d.name}"),
        _Para(f"Exported by mlloop {_version()}. Structure checks (missing values, duplicates, conflicting labels …) "
              "read every labeled row, development and locked test; the leakage and label checks fit models on the "
              "development rows only; shift compares development and test features, never test labels. The "
              "dimensionality statistics use the development rows."),
    ]
    blocks += _dataset_blocks(d, level=2)
    blocks += _quality_blocks(findings, level=2)
    blocks += _curse_blocks(curse, level=2)
    if curves is not None:
        blocks += _feature_blocks(curves, level=2)
    return blocks


def _quality_blocks(findings: Sequence[Finding], level: int) -> list[_Block]:
    if not findings:
        return [_Heading(level, "Data quality"), _Para("No data-quality findings.")]

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
    return [
        _Heading(level, "Data quality"),
        _Para("Most severe first. Rows are the file's row numbers: the first few, then how many in all."),
        _Table(["severity", "kind", "columns", "rows", "finding"],
               [[f.severity, f.kind, columns(f), rows(f), f.message] for f in findings]),
        _Heading(level + 1, "Suggested actions"),
        _Table(["kind", "action"], [[kind, action] for kind, action in actions]),
    ]


def _curse_blocks(k: CurseStats, level: int) -> list[_Block]:
    blocks: list[_Block] = [
        _Heading(level, "Curse of dimensionality"),
        _Para("On the development rows, with the features a linear model sees (imputed, standardised, categories "
              "one-hot encoded)."),
        _Table(["fact", "value"], [
            ["rows", str(k.n_samples)], ["columns", str(k.n_raw_features)],
            ["features after preprocessing", str(k.n_features)],
            ["samples per feature", _num(k.samples_per_feature, 2)],
        ], [False, True]),
    ]
    if k.warning:
        blocks.append(_Para(f"Warning: {k.warning}"))
    if k.components_for:
        blocks += [
            _Heading(level + 1, "Principal components"),
            _Para(f"Components needed to explain a share of the variance, of {len(k.explained_variance)} in all:"),
            _Table(["variance explained", "components"],
                   [[f"{t:.0%}", str(n)] for t, n in sorted(k.components_for.items())], [True, True]),
        ]
    if k.contrast_dims:
        blocks += [
            _Heading(level + 1, "Distance concentration"),
            _Para("Relative contrast (max − min) / min of the distances from a row to the others, on random subsets "
                  "of the features: it shrinks towards 0 as features are added, when the nearest and the farthest "
                  "rows become alike."),
            _Table(["features", "relative contrast"],
                   [[str(n), _num(v, 3)] for n, v in zip(k.contrast_dims, k.relative_contrast)], [True, True]),
        ]
    blocks += [_Para(f"Note: {n}") for n in k.notes]
    return blocks


def _feature_blocks(c: FeatureCurves, level: int) -> list[_Block]:
    better = "higher" if c.greater_is_better else "lower"
    drawn = [m for m in c.methods if m.points]
    blocks: list[_Block] = [
        _Heading(level, "Feature selection"),
        _Para(f"{c.model} on {c.dataset}: cross-validated {c.metric} ({better} is better) against k, the number of "
              f"features selected inside each of {c.folds} folds (seed {c.seed}); {c.n_features} features after "
              f"preprocessing ({c.n_raw_features} columns), {c.n_samples} rows. The one-standard-error k is the "
              "smallest k within one standard error of the best mean."),
    ]
    if drawn:
        blocks.append(Chart(
            title=f"{c.metric} against the number of features: {c.model} on {c.dataset}",
            x_label="features selected (k)", y_label=f"validation {c.metric} ({better} is better)",
            series=[Series(m.method, [p.k for p in m.points], [p.mean for p in m.points], [p.std for p in m.points])
                    for m in drawn],
            log_x=True, x_ticks=[(k, str(k)) for k in c.ks],
        ))
    for m in c.methods:
        best = "-" if m.best_k is None else str(m.best_k)
        one_se = "-" if m.one_se_k is None else str(m.one_se_k)
        blocks += [_Heading(level + 1, f"Method {m.method}"),
                   _Para(f"Best k: {best}; one-standard-error k: {one_se}." + (f" {m.note}" if m.note else ""))]
        if m.points:
            blocks.append(_Table(
                ["k", f"validation {c.metric}", "folds", ""],
                [[str(p.k), _mean_std(p.mean, p.std), str(p.n_folds),
                  ", ".join(x for x, on in (("best", p.k == m.best_k), ("one-SE", p.k == m.one_se_k)) if on)]
                 for p in m.points],
                [True, True, True, False],
            ))
        if m.chosen:
            shown = m.chosen[:MAX_PROFILE_COLUMNS]
            blocks += [
                _Para(f"Features chosen at k = {best}, most often selected first:"),
                _Table(["feature", "selected in folds", "importance"],
                       [[f.name, f"{f.frequency:.0%}", _num(f.importance)] for f in shown], [False, True, True]),
            ]
            if len(m.chosen) > len(shown):
                blocks.append(_Para(f"… and {len(m.chosen) - len(shown)} more (the JSON export has them all)."))
    blocks += [_Para(f"Note: {n}") for n in c.notes]
    return blocks


# --------------------------------------------------------------------------- Markdown


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$&!#@])")
_MD_BLOCK_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def _md(text: object) -> str:
    """Inline-safe Markdown for any text: control characters made visible, markup characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text))


def _md_para(text: str) -> str:
    out = _md(text).lstrip()
    # a paragraph's first characters must not open a list, a heading underline or a quote
    return _MD_BLOCK_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], out, count=1)


def _markdown(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Chart):
            continue  # the table next to it has the numbers
        if isinstance(b, _Heading):
            out.append(f"{'#' * b.level} {_md(b.text)}")
        elif isinstance(b, _Para):
            out.append(_md_para(b.text))
        else:
            width = len(b.headers)
            out.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
            out.append("|" + "|".join(" ---: " if b.is_numeric(i) else " --- " for i in range(width)) + "|")
            for row in b.rows:
                cells = [_md(c) for c in row] + [""] * (width - len(row))
                out.append("| " + " | ".join(cells[:width]) + " |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff;
       margin: 2rem auto; max-width: 80rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05rem; margin-top: 1.25rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: anywhere; }
p { max-width: 60rem; }
svg { display: block; max-width: 100%; height: auto; margin: .5rem 0 1rem; }
""".strip()

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"


def _h(text: object) -> str:
    return html.escape(printable(text), quote=True)


def _html(title: str, blocks: Sequence[_Block]) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_h(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    for b in blocks:
        if isinstance(b, _Heading):
            out.append(f"<h{b.level}>{_h(b.text)}</h{b.level}>")
        elif isinstance(b, _Para):
            out.append(f"<p>{_h(b.text)}</p>")
        elif isinstance(b, Chart):
            out.append(render(b))  # core.report.svg_plot escapes every text itself
        else:
            def cls(i: int) -> str:
                return ' class="num"' if b.is_numeric(i) else ""

            out.append("<table>")
            out.append("<thead><tr>" + "".join(f"<th{cls(i)}>{_h(h)}</th>" for i, h in enumerate(b.headers))
                       + "</tr></thead>")
            out.append("<tbody>")
            for row in b.rows:
                out.append("<tr>" + "".join(f"<td{cls(i)}>{_h(c)}</td>" for i, c in enumerate(row)) + "</tr>")
            out.append("</tbody>")
            out.append("</table>")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- JSON


_JSON_CONTROL = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def _json(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    # json leaves DEL and the C1 controls raw with ensure_ascii=False; a terminal may act on them
    return _JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


# --------------------------------------------------------------------------- helpers


def _check_format(fmt: str) -> Format:
    kind = _ALIASES.get(str(fmt).strip().lower().lstrip("."))
    if kind is None:
        raise InputError(f"unknown export format {printable(fmt)!r}; choose from: {', '.join(FORMATS)}")
    return kind  # type: ignore[return-value]


def _write(path: str | os.PathLike[str], fmt: str | None, overwrite: bool, text: Callable[[Format], str]) -> Path:
    """Check the path, render, then write a temp file in the same folder and move it into place."""
    target, kind = check_export_path(path, fmt, overwrite)
    data = text(kind).encode("utf-8")
    folder, shown = target.parent, printable(str(target))
    tmp = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            _move_into_place(tmp, target, overwrite)
        finally:
            tmp.unlink(missing_ok=True)
    except InputError:
        raise
    except OSError as e:
        raise InputError(f"cannot write {shown}: {e.strerror or e}") from e
    return target


def _move_into_place(tmp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic and never clobbers: fails if the file appeared meanwhile
    except FileExistsError:
        raise InputError(f"{printable(str(target))} already exists; use --force to overwrite it") from None
    except OSError:  # a filesystem without hard links
        if target.exists():
            raise InputError(f"{printable(str(target))} already exists; use --force to overwrite it") from None
        os.replace(tmp, target)


def _version() -> str:
    try:
        return metadata.version("mlloop-tui")
    except metadata.PackageNotFoundError:
        return "unknown"


def _num(value: float | int | None, digits: int = DIGITS) -> str:
    if value is None:
        return "-"
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def _signed(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:+.{DIGITS}f}"


def _p(value: float) -> str:
    """A p-value with three significant digits (``1.29e-05``, ``0.373``, ``1``)."""
    return "-" if not math.isfinite(value) else f"{value:.3g}"


def _mean_std(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return "-"
    return f"{mean:.{DIGITS}f}" if not math.isfinite(std) else f"{mean:.{DIGITS}f} ± {std:.{DIGITS}f}"


def _opt(value: object) -> str:
    return "-" if value is None else str(value)


def _param(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
