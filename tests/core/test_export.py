"""Exports: the numbers are there, hostile names stay inert, files are written safely; the CLI."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import runs as run_store
from core.compare import compare_runs
from core.datasets import get_dataset, import_dataset
from core.errors import InputError, NotFoundError
from core.evaluation import run_baselines
from core.export import export_runs, format_from_path, write_export
from core.runs import get_run
from core.serialize import dataset_to_dict, run_to_dict
from core.store import Store
from core.types import FoldScore, GlmCoefficient, GlmSummary
from tests.conftest import run_mlloop

EVIL_COLUMN = "<script>alert(1)</script>"
EVIL_CATEGORY = "[bold]x|y"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A dataset with a hostile column name and category, two runs on it, one with a GLM table,
    and a half-finished run with a non-finite score."""
    root = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(3)
    n = 150
    x = rng.normal(size=n)
    cat = rng.choice([EVIL_CATEGORY, "plain", "other"], size=n, p=[0.5, 0.3, 0.2])
    y = np.where(2 * x + (cat == EVIL_CATEGORY) + rng.normal(scale=0.7, size=n) > 0.5, "yes", "no")
    pd.DataFrame({EVIL_COLUMN: x.round(4), "cat": cat, "label": y}).to_csv(root / "evil.csv", index=False)
    store = Store(root / "store.duckdb")
    info = import_dataset(store, root / "evil.csv", "label")
    dummy, linear = run_baselines(store, "evil", "dummy,linear", folds=3, seed=0, jobs=1)
    run_store.record_glm(store, linear, GlmSummary(
        family="Binomial", link="Logit", n_obs=120, df_model=3.0, df_resid=116.0, deviance=101.25,
        null_deviance=160.5, aic=109.25, llf=-50.625, converged=True, warnings=(f"quasi-separation in {EVIL_COLUMN}",),
        coefficients=(
            GlmCoefficient("Intercept", -0.4321, 0.2, -2.1605, 0.0307, -0.824, -0.040),
            GlmCoefficient(f"cat_{EVIL_CATEGORY}", 1.2345, 0.4, 3.0863, 0.00203, 0.45, 2.02),
        ),
    ))
    _, (partial,) = run_store.create_runs(store, info, [("tree", {"max_depth": "<b>3</b>"})], folds=3, repeats=1,
                                          seed=0, versions={"python": "3"})
    run_store.record_fold(store, partial, FoldScore(0, 0, 0, 80, 40, 0.1, 0.01, {"accuracy": 1.0},
                                                    {"accuracy": float("nan")}))
    run_store.finish_run(store, partial, "cancelled", error="cancelled by the user")
    return dict(root=root, store=store, dummy=dummy, linear=linear, partial=partial)


class _Html(HTMLParser):
    """Collects tags, text and table shapes of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.tables: list[list[int]] = []  # per table: cells per row

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1

    def handle_data(self, data):
        self.text.append(data)


def _parse_html(text: str) -> _Html:
    parser = _Html()
    parser.feed(text)
    parser.close()
    return parser


def _strict_json(text: str):
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _render_markdown(text: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").enable("table").render(text)


# --------------------------------------------------------------------------- one run


def test_run_summary_in_every_format_has_the_numbers(world):
    store = world["store"]
    run = get_run(store, world["linear"])
    fold0 = f"{run.fold_scores[0].validation['accuracy']:.4f}"
    fold2_train = f"{run.fold_scores[2].train['log_loss']:.4f}"
    acc = run.summaries["accuracy"]
    mean_std = f"{acc.val_mean:.4f} ± {acc.val_std:.4f}"

    md = export_runs(store, [run.id], "md")
    for needle in (fold0, fold2_train, mean_std, "1.2345", "0.00203", "101.250", run.folds_hash,
                   get_dataset(store, "evil").file_hash, "3 folds × 1 repeat, seed 0", "development rows | 120"):
        assert needle in md, needle
    assert md.startswith(f"# mlloop run {run.id}: linear on evil\n")

    page = export_runs(store, [run.id], "html")
    doc = _parse_html(page)
    text = "".join(doc.text)
    for needle in (fold0, fold2_train, mean_std, "1.2345", "0.00203", run.folds_hash):
        assert needle in text, needle

    data = _strict_json(export_runs(store, [run.id], "json"))
    assert data["kind"] == "run" and data["mlloop_version"]
    assert data["run"] == json.loads(json.dumps(run_to_dict(run)))
    assert data["dataset"] == json.loads(json.dumps(dataset_to_dict(get_dataset(store, "evil"))))
    assert data["run"]["folds"][0]["validation"]["accuracy"] == run.fold_scores[0].validation["accuracy"]
    assert data["run"]["glm"]["coefficients"][1]["term"] == f"cat_{EVIL_CATEGORY}"


def test_json_is_strict_even_with_non_finite_scores(world):
    text = export_runs(world["store"], [world["partial"]], "json")
    data = _strict_json(text)
    assert data["run"]["folds"][0]["validation"]["accuracy"] is None
    assert data["run"]["status"] == "cancelled"
    assert "NaN" not in text and "Infinity" not in text


def test_html_is_self_contained_and_escapes_everything(world):
    store = world["store"]
    for ids in ([world["linear"]], [world["dummy"], world["linear"], world["partial"]]):
        page = export_runs(store, ids, "html")
        assert "<script" not in page.lower() and "<b>" not in page
        assert html.escape(EVIL_COLUMN) in page
        doc = _parse_html(page)
        assert set(doc.tags) <= {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p",
                                 "table", "thead", "tbody", "tr", "th", "td"}
        assert not [a for a in doc.attrs if a[0] in ("href", "src", "action", "srcset") or a[0].startswith("on")]
        assert "url(" not in page and "@import" not in page
        text = "".join(doc.text)
        assert EVIL_COLUMN in text  # shown literally, as text
        assert EVIL_CATEGORY in text  # the top value of `cat`, and (for the GLM run) a coefficient's term
        for table in doc.tables:
            assert len(set(table)) == 1  # every row has as many cells as the header


def test_markdown_escapes_markup_and_keeps_table_shapes(world):
    store = world["store"]
    for ids in ([world["linear"]], [world["dummy"], world["linear"], world["partial"]]):
        md = export_runs(store, ids, "md")
        assert EVIL_COLUMN not in md and EVIL_CATEGORY not in md  # raw, they would be markup / a cell break
        assert r"\[bold\]x\|y" in md
        # every line of a table has the header's number of unescaped pipes
        for block in re.split(r"\n\n+", md):
            lines = block.splitlines()
            if lines and lines[0].startswith("|"):
                counts = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
                assert len(counts) == 1, block
        rendered = _render_markdown(md)
        assert "<script" not in rendered and "<b>" not in rendered
        doc = _parse_html(rendered)
        text = "".join(doc.text)
        assert EVIL_COLUMN in text and EVIL_CATEGORY in text
        assert doc.tables and all(len(set(t)) == 1 for t in doc.tables)
        assert "a" not in doc.tags and "img" not in doc.tags


# --------------------------------------------------------------------------- comparisons


def test_comparison_summary_in_every_format(world):
    store = world["store"]
    ids = [world["dummy"], world["linear"], world["partial"]]
    c = compare_runs(store, ids)
    paired, unpaired = c.pairs
    assert paired.pairable and not unpaired.pairable
    p_text = f"{paired.p:.3g}"
    dummy = get_run(store, world["dummy"])
    fold1 = f"{dummy.fold_scores[1].validation['accuracy']:.4f}"
    delta = f"{c.deltas[world['linear']]['accuracy']:+.4f}"

    md = export_runs(store, ids, "md")
    rendered_text = "".join(_parse_html(_render_markdown(md)).text)
    for needle in (p_text, fold1, delta, paired.explanation, unpaired.explanation,
                   f"run {world['partial']} has 1 of 3 folds"):
        assert needle in rendered_text, needle
    assert md.count("## Run ") == 3 and md.count("## Dataset ") == 1

    page = export_runs(store, ids, "html")
    text = "".join(_parse_html(page).text)
    for needle in (p_text, fold1, delta, paired.explanation, unpaired.explanation):
        assert needle in text, needle

    data = _strict_json(export_runs(store, ids, "json", reference=world["linear"]))
    assert data["kind"] == "comparison" and data["mlloop_version"]
    assert [d["name"] for d in data["datasets"]] == ["evil"]
    comp = data["comparison"]
    assert comp["reference"] == world["linear"] and comp["metric"] == "accuracy"
    assert [r["id"] for r in comp["runs"]] == ids
    (p_dummy,) = [p for p in comp["pairs"] if p["a"] == world["dummy"]]
    assert p_dummy["p"] == pytest.approx(paired.p) and p_dummy["b"] == world["linear"]
    assert comp["deltas"][str(world["dummy"])]["accuracy"] < 0
    assert comp["differing_params"] == ["max_depth", "model"]


# --------------------------------------------------------------------------- files


def test_format_from_path():
    assert [format_from_path(p) for p in ("a.md", "b.MARKDOWN", "c.html", "d.htm", "e.json")] == \
        ["md", "md", "html", "html", "json"]
    for bad in ("a.txt", "noext", "a.md.gz"):
        with pytest.raises(InputError, match="export format"):
            format_from_path(bad)


def test_write_export_is_atomic_and_refuses_to_overwrite(world, tmp_path: Path):
    store, run_id = world["store"], world["linear"]
    out = write_export(store, [run_id], tmp_path / "run.md")
    assert out == tmp_path / "run.md" and out.read_text(encoding="utf-8") == export_runs(store, [run_id], "md")
    out.write_text("mine")
    with pytest.raises(InputError, match="already exists"):
        write_export(store, [run_id], out)
    assert out.read_text() == "mine"
    write_export(store, [run_id], out, fmt="json", overwrite=True)
    assert _strict_json(out.read_text(encoding="utf-8"))["kind"] == "run"

    with pytest.raises(InputError, match="does not exist"):
        write_export(store, [run_id], tmp_path / "missing" / "x.md")
    with pytest.raises(InputError, match="export format"):
        write_export(store, [run_id], tmp_path / "x.pdf")
    with pytest.raises(InputError, match="export format"):
        write_export(store, [run_id], tmp_path / "x.md", fmt="pdf")
    with pytest.raises(InputError, match="folder"):
        write_export(store, [run_id], tmp_path, fmt="md")
    with pytest.raises(NotFoundError):
        write_export(store, [run_id, 999], tmp_path / "y.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.md"]  # no temp files, nothing half-written


# --------------------------------------------------------------------------- the command line


def test_cli_compare_and_export(world, tmp_path: Path):
    store_path = world["store"].path
    dummy, linear = world["dummy"], world["linear"]
    res = run_mlloop("compare", str(dummy), str(linear), "--metric", "log_loss", store=store_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("run "))
    assert f"run {dummy} (ref)" in header and f"run {linear}" in header
    assert any(line.startswith("Δ log_loss vs ref") for line in lines)
    assert f"run {linear} vs run {dummy}: linear beats dummy on log loss (lower is better)" in res.stdout

    res = run_mlloop("compare", str(dummy), str(linear), "--reference", str(linear), "--json", store=store_path)
    assert res.returncode == 0, res.stderr
    assert _strict_json(res.stdout)["reference"] == linear

    out = tmp_path / "report.html"
    res = run_mlloop("export", str(dummy), str(linear), "-o", str(out), store=store_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    res = run_mlloop("export", str(linear), "-o", str(tmp_path / "run.out"), "--format", "json", store=store_path)
    assert res.returncode == 0, res.stderr
    assert _strict_json((tmp_path / "run.out").read_text(encoding="utf-8"))["run"]["id"] == linear


@pytest.mark.parametrize("args", [
    ["compare", "{a}"],
    ["compare", "{a}", "999"],
    ["compare", "{a}", "{b}", "--metric", "rmse"],
    ["export", "{a}", "999", "-o", "{dir}/a.md"],
    ["export", "{a}", "-o", "{dir}/a.txt"],
    ["export", "{a}", "--format", "pdf", "-o", "{dir}/a.md"],
    ["export", "{a}", "-o", "{dir}/missing/a.md"],
    ["export", "{a}", "{b}", "-o", "{dir}/existing.md"],
])
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(world, tmp_path: Path, args):
    (tmp_path / "existing.md").write_text("keep")
    res = run_mlloop(*[a.format(dir=tmp_path, a=world["dummy"], b=world["linear"]) for a in args],
                     store=world["store"].path)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("mlloop: error: ")
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.md"]
    assert (tmp_path / "existing.md").read_text() == "keep"
