"""Run and comparison summaries as Markdown, HTML or JSON, for a pull request, a report or a script.

One run gives a run summary: the dataset's facts and column profile, the run's spec, its
per-fold train/validation scores with mean ± std, its GLM table and its warnings. Two or more
runs give a comparison summary: the side-by-side table of :func:`core.compare.comparison_table`,
the significance tests with their one-line explanations, then every dataset and run in full.

The Markdown and HTML documents are built once, as a list of plain-text blocks (headings,
paragraphs, tables), and only then rendered; the renderers escape *every* piece of text, so no
caller can forget to. Names and values come from users' files, so:

- control characters go through :func:`core.text.printable` (visible ``\\xNN`` escapes);
- Markdown: ASCII punctuation that means something inline (``\\ ` * _ [ ] < > | ~ $ & ! # @``)
  is backslash-escaped, so a cell holding ``|`` keeps the table's column count and
  ``<script>`` or ``[link](x)`` render as the literal text; block markers never start a line
  with data (tables and prefixed paragraphs only);
- HTML: ``html.escape`` on everything, one self-contained file (inline CSS, no scripts, no
  external resources, and a Content-Security-Policy that would block them anyway);
- JSON: :mod:`core.serialize`'s stable shapes, strict (no NaN), exact data; control characters
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from core.compare import TEST_NAME, TEST_REFERENCE, Comparison, compare_runs, comparison_table, comparison_to_dict
from core.datasets import get_dataset
from core.errors import InputError
from core.evaluation import METRICS
from core.runs import get_run, parse_run_id
from core.serialize import dataset_to_dict, run_to_dict
from core.store import Store
from core.text import printable
from core.types import DatasetInfo, RunRecord

__all__ = ["FORMATS", "Format", "export_runs", "format_from_path", "write_export"]

Format = Literal["md", "html", "json"]
FORMATS: tuple[str, ...] = ("md", "html", "json")
EXTENSIONS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
_ALIASES = {"md": "md", "markdown": "md", "html": "html", "htm": "html", "json": "json"}
MAX_PROFILE_COLUMNS = 100  # the Markdown/HTML column profile stops here (JSON has them all)
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
    kind = _check_format(fmt)
    ids = list(dict.fromkeys(parse_run_id(r) for r in run_ids))
    if not ids:
        raise InputError("nothing to export: give at least one run id")
    if len(ids) == 1:
        if reference is not None and parse_run_id(reference) != ids[0]:
            raise InputError(f"reference run {parse_run_id(reference)} is not one of the exported runs")
        run = get_run(store, ids[0])
        datasets = {run.dataset_id: get_dataset(store, run.dataset_id)}
        if kind == "json":
            return _json({"kind": "run", "mlloop_version": _version(),
                          "dataset": dataset_to_dict(datasets[run.dataset_id]), "run": run_to_dict(run)})
        blocks = _run_document(run, datasets[run.dataset_id])
        title = f"mlloop run {run.id}: {run.model} on {run.dataset}"
    else:
        comparison = compare_runs(store, ids, reference=reference, metric=metric)
        datasets = {}
        for r in comparison.runs:
            if r.dataset_id not in datasets:
                datasets[r.dataset_id] = get_dataset(store, r.dataset_id)
        if kind == "json":
            return _json({"kind": "comparison", "mlloop_version": _version(),
                          "datasets": [dataset_to_dict(d) for d in datasets.values()],
                          "comparison": comparison_to_dict(comparison)})
        blocks = _comparison_document(comparison, datasets)
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
    text = export_runs(store, run_ids, kind, reference=reference, metric=metric)
    data = text.encode("utf-8")
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


_Block = _Heading | _Para | _Table


def _run_document(run: RunRecord, dataset: DatasetInfo) -> list[_Block]:
    blocks: list[_Block] = [
        _Heading(1, f"mlloop run {run.id}: {run.model} on {run.dataset}"),
        _Para(f"Exported by mlloop {_version()}. Scores are cross-validated on the development rows only; "
              "the locked test rows were not used."),
    ]
    blocks += _dataset_blocks(dataset, level=2)
    blocks += _run_blocks(run, level=2)
    return blocks


def _comparison_document(c: Comparison, datasets: dict[int, DatasetInfo]) -> list[_Block]:
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
        blocks += _run_blocks(r, level=2)
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


def _run_blocks(r: RunRecord, level: int) -> list[_Block]:
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
