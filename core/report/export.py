"""Run, comparison and dataset summaries as Markdown, HTML or JSON files, for a pull request, a report
or a script: the public API of exporting, and the careful writing of the file.

One run gives a run summary, two or more a comparison summary (:mod:`core.report.run_summary`);
a dataset gives a dataset summary (:mod:`core.report.dataset_summary`). The Markdown and HTML
documents are built once as blocks (:mod:`core.report.blocks`) and only then rendered
(:mod:`core.report.markdown`, :mod:`core.report.html`); the renderers escape *every* piece of
text, so no caller can forget to. JSON is :mod:`core.report.serialize`'s stable shapes, strict
(no NaN), exact data; characters a terminal would act on only ever appear as ``\\uXXXX`` escapes
(:func:`core.text.json_printable`).

Files are written atomically (a temp file in the same folder, then a rename or a hard link) and
never replace an existing file unless asked.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from core.analysis.compare import compare_runs
from core.analysis.dimensionality import CurseStats, curse_stats, curse_to_dict
from core.analysis.feature_selection import FeatureCurves, curves_to_dict
from core.analysis.findings import Finding, finding_to_dict
from core.analysis.quality import check_quality
from core.errors import InputError
from core.report.dataset_summary import dataset_document
from core.report.formatting import mlloop_version
from core.report.html import render_html
from core.report.markdown import render_markdown
from core.report.run_summary import RunExtras, comparison_document, run_summary
from core.report.serialize import comparison_to_dict, dataset_to_dict, run_to_dict
from core.store import Store
from core.store.datasets import get_dataset
from core.store.runs import get_run, parse_run_id
from core.text import json_printable, printable
from core.types import DatasetInfo

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "Format",
    "check_export_path",
    "check_target",
    "export_dataset",
    "export_runs",
    "format_from_path",
    "write_atomically",
    "write_dataset_export",
    "write_export",
]

Format = Literal["md", "html", "json"]
FORMATS: tuple[str, ...] = ("md", "html", "json")
EXTENSIONS: dict[str, Format] = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
_ALIASES: dict[str, Format] = {"md": "md", "markdown": "md", "html": "html", "htm": "html", "json": "json"}


def format_from_path(path: str | os.PathLike[str]) -> Format:
    """``md``, ``html`` or ``json`` from a file name's extension; ``InputError`` otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        shown = suffix or "no extension"
        raise InputError(
            f"cannot tell the export format from {printable(Path(path).name)!r} ({shown}); "
            f"use .md, .html or .json, or give the format (md, html, json)"
        )
    return EXTENSIONS[suffix]


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


def _export_runs(
    store: Store, run_ids: Sequence[int | str], fmt: str, reference: int | str | None, metric: str | None
) -> str:
    kind = _check_format(fmt)
    ids = list(dict.fromkeys(parse_run_id(r) for r in run_ids))
    if not ids:
        raise InputError("nothing to export: give at least one run id")
    if len(ids) == 1:
        if reference is not None and parse_run_id(reference) != ids[0]:
            raise InputError(f"reference run {parse_run_id(reference)} is not one of the exported runs")
        run = get_run(store, ids[0])
        dataset = get_dataset(store, run.dataset_id)
        extras = RunExtras.load(store, run)
        if kind == "json":
            return _json(
                {
                    "kind": "run",
                    "mlloop_version": mlloop_version(),
                    "dataset": dataset_to_dict(dataset),
                    "run": run_to_dict(run) | extras.to_dict(),
                }
            )
        blocks = run_summary(run, extras, dataset, stamped=True)
        title = f"mlloop run {run.id}: {run.model} on {run.dataset}"
    else:
        comparison = compare_runs(store, ids, reference=reference, metric=metric)
        datasets: dict[int, DatasetInfo] = {}
        for r in comparison.runs:
            if r.dataset_id not in datasets:
                datasets[r.dataset_id] = get_dataset(store, r.dataset_id)
        all_extras = {r.id: RunExtras.load(store, r) for r in comparison.runs}
        if kind == "json":
            data = comparison_to_dict(comparison)
            for run_dict in data["runs"]:
                run_dict.update(all_extras[run_dict["id"]].to_dict())
            return _json(
                {
                    "kind": "comparison",
                    "mlloop_version": mlloop_version(),
                    "datasets": [dataset_to_dict(d) for d in datasets.values()],
                    "comparison": data,
                }
            )
        blocks = comparison_document(comparison, datasets, all_extras)
        title = f"mlloop comparison: runs {', '.join(str(r.id) for r in comparison.runs)}"
    return render_markdown(blocks) if kind == "md" else render_html(title, blocks)


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
    return _write(
        path, fmt, overwrite, lambda kind: export_runs(store, run_ids, kind, reference=reference, metric=metric)
    )


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
        return _json(
            {
                "kind": "dataset",
                "mlloop_version": mlloop_version(),
                "dataset": dataset_to_dict(info),
                "quality": [finding_to_dict(f) for f in findings],
                "curse": curse_to_dict(curse),
                "features": None if feature_curves is None else curves_to_dict(feature_curves),
            }
        )
    blocks = dataset_document(info, findings, curse, feature_curves)
    return render_markdown(blocks) if kind == "md" else render_html(f"mlloop dataset {info.name}", blocks)


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
    return _write(
        path,
        fmt,
        overwrite,
        lambda kind: export_dataset(
            store, dataset, kind, findings=findings, feature_curves=feature_curves, curse=curse
        ),
    )


def check_export_path(
    path: str | os.PathLike[str], fmt: str | None = None, overwrite: bool = False
) -> tuple[Path, Format]:
    """Where an export would go and in which format, or ``InputError`` — checked before costly
    work (feature curves) rather than after it."""
    target = Path(path).expanduser()
    kind = _check_format(fmt) if fmt is not None else format_from_path(target)
    return check_target(target, overwrite), kind


def check_target(path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """The file any export would write, or ``InputError``: its folder must exist, and an existing file is
    replaced only with ``overwrite`` and only if it is a regular file (the rules of every file mlloop writes)."""
    target = Path(path).expanduser()
    shown = printable(str(target))
    if target.is_dir():
        raise InputError(f"cannot export to {shown}: it is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"cannot export to {shown}: folder {printable(str(folder))} does not exist")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        # --force replaces a file; never a device (/dev/null), a pipe, a socket or what a link points to
        raise InputError(f"cannot export to {shown}: it is not a regular file; give another name")
    if not overwrite and target.exists():
        raise InputError(f"{shown} already exists; use --force to overwrite it")
    return target


def _json(value: Any) -> str:
    return json_printable(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)) + "\n"


def _check_format(fmt: str) -> Format:
    kind = _ALIASES.get(str(fmt).strip().lower().lstrip("."))
    if kind is None:
        raise InputError(f"unknown export format {printable(fmt)!r}; choose from: {', '.join(FORMATS)}")
    return kind


def _write(path: str | os.PathLike[str], fmt: str | None, overwrite: bool, text: Callable[[Format], str]) -> Path:
    """Check the path, render, then write a temp file in the same folder and move it into place."""
    target, kind = check_export_path(path, fmt, overwrite)
    data = text(kind).encode("utf-8")

    def fill(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    return write_atomically(target, overwrite, fill)


def write_atomically(target: Path, overwrite: bool, fill: Callable[[Path], None]) -> Path:
    """``fill`` writes a new temp file in ``target``'s folder (the path it is given); it is synced, then
    moved into place (replacing ``target`` only with ``overwrite``). ``target`` comes from :func:`check_target`."""
    folder, shown = target.parent, printable(str(target))
    tmp = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        try:
            fill(tmp)
            with tmp.open("rb") as fh:
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
