"""Exports: the numbers are there, hostile names stay inert, files are written safely; the CLI."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.compare import compare_runs
from core.analysis.curves import learning_curve, load_curve, validation_curve
from core.analysis.diagnosis import diagnose
from core.analysis.dimensionality import curse_stats, curse_to_dict
from core.analysis.feature_selection import curves_to_dict, feature_curve
from core.analysis.findings import finding_to_dict
from core.analysis.holdout import evaluate_on_test
from core.analysis.quality import check_quality
from core.data.importing import import_dataset
from core.errors import InputError, NotFoundError
from core.modeling.evaluation import run_baselines
from core.report.blocks import Heading, Steps, Table
from core.report.export import export_dataset, export_runs, format_from_path, write_dataset_export, write_export
from core.report.run_summary import RunExtras, run_summary
from core.report.serialize import curve_to_dict, dataset_to_dict, diagnosis_to_dict, run_to_dict
from core.report.text import render_text, table_lines
from core.store import Store
from core.store import runs as run_store
from core.store.datasets import get_dataset
from core.store.runs import get_run
from core.types import FoldScore, GlmCoefficient, GlmSummary
from tests.conftest import run_mlloop

EVIL_COLUMN = "<script>alert(1)</script>"
EVIL_CATEGORY = "[bold]x|y"
EVIL_DATASET = "</svg><script>alert(2)</script>[bold]"
EVIL_FEATURE = "[bold]</svg>b"
HTML_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "h1",
    "h2",
    "h3",
    "p",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
SVG_TAGS = {"svg", "title", "rect", "text", "line", "path", "polyline", "circle"}
SVG = "{http://www.w3.org/2000/svg}"


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
    run_store.record_glm(
        store,
        linear,
        GlmSummary(
            family="Binomial",
            link="Logit",
            n_obs=120,
            df_model=3.0,
            df_resid=116.0,
            deviance=101.25,
            null_deviance=160.5,
            aic=109.25,
            llf=-50.625,
            converged=True,
            warnings=(f"quasi-separation in {EVIL_COLUMN}",),
            coefficients=(
                GlmCoefficient("Intercept", -0.4321, 0.2, -2.1605, 0.0307, -0.824, -0.040),
                GlmCoefficient(f"cat_{EVIL_CATEGORY}", 1.2345, 0.4, 3.0863, 0.00203, 0.45, 2.02),
            ),
        ),
    )
    _, (partial,) = run_store.create_runs(
        store, info, [("tree", {"max_depth": "<b>3</b>"})], folds=3, repeats=1, seed=0, versions={"python": "3"}
    )
    run_store.record_fold(
        store, partial, FoldScore(0, 0, 0, 80, 40, 0.1, 0.01, {"accuracy": 1.0}, {"accuracy": float("nan")})
    )
    run_store.finish_run(store, partial, "cancelled", error="cancelled by the user")
    return dict(root=root, store=store, dummy=dummy, linear=linear, partial=partial)


@pytest.fixture(scope="module")
def loop_world(tmp_path_factory) -> dict:
    """The ML loop on a small dataset with a hostile name and hostile columns, a constant column and six
    duplicated rows: three runs; the tree's learning and validation curves; a test-set evaluation."""
    root = tmp_path_factory.mktemp("loop_export")
    rng = np.random.default_rng(0)
    n = 160
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = np.where(a + 0.5 * b + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    frame = pd.DataFrame({EVIL_COLUMN: a.round(3), EVIL_FEATURE: b.round(3), "always one": 1, "label": y})
    pd.concat([frame, frame.iloc[:6]], ignore_index=True).to_csv(root / "loop.csv", index=False)
    store = Store(root / "store.duckdb")
    import_dataset(store, root / "loop.csv", "label", name=EVIL_DATASET)
    dummy, linear, tree = run_baselines(store, EVIL_DATASET, "dummy,linear,tree", folds=3, seed=0, jobs=1)
    learning_curve(store, tree)
    validation_curve(store, tree, values=[1, 2, 4, None])
    evaluation = evaluate_on_test(store, tree)
    return dict(store=store, dummy=dummy, linear=linear, tree=tree, evaluation=evaluation)


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


def _svgs(page: str) -> list[ET.Element]:
    """Every inline chart of a page, parsed as XML (which fails on anything not well-formed)."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def _svg_texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter() if e.tag in (f"{SVG}text", f"{SVG}title")]


def _table_line(md: str, first_cells: str) -> str:
    (line,) = [x for x in md.splitlines() if x.startswith(f"| {first_cells} |")]
    return line


def _ms(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}"


# --------------------------------------------------------------------------- one run


def test_run_summary_in_every_format_has_the_numbers(world):
    store = world["store"]
    run = get_run(store, world["linear"])
    fold0 = f"{run.fold_scores[0].validation['accuracy']:.4f}"
    fold2_train = f"{run.fold_scores[2].train['log_loss']:.4f}"
    acc = run.summaries["accuracy"]
    mean_std = f"{acc.val_mean:.4f} ± {acc.val_std:.4f}"

    md = export_runs(store, [run.id], "md")
    for needle in (
        fold0,
        fold2_train,
        mean_std,
        "1.2345",
        "0.00203",
        "101.250",
        run.folds_hash,
        get_dataset(store, "evil").file_hash,
        "3 folds × 1 repeat, seed 0",
        "development rows | 120",
    ):
        assert needle in md, needle
    assert md.startswith(f"# mlloop run {run.id}: linear on evil\n")

    page = export_runs(store, [run.id], "html")
    doc = _parse_html(page)
    text = "".join(doc.text)
    for needle in (fold0, fold2_train, mean_std, "1.2345", "0.00203", run.folds_hash):
        assert needle in text, needle

    data = _strict_json(export_runs(store, [run.id], "json"))
    assert data["kind"] == "run" and data["mlloop_version"]
    extra = {"curves", "diagnosis", "diagnosis_error", "test_evaluations", "errors", "errors_error"}  # additive
    assert {k: v for k, v in data["run"].items() if k not in extra} == json.loads(json.dumps(run_to_dict(run)))
    assert set(data["run"]) - set(run_to_dict(run)) == extra
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
        assert set(doc.tags) <= HTML_TAGS
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


def test_run_summary_has_its_curves_diagnosis_and_test_evaluations(loop_world):
    store, tree, evaluation = loop_world["store"], loop_world["tree"], loop_world["evaluation"]
    learning, validation = load_curve(store, tree, "learning"), load_curve(store, tree, "validation")
    d = diagnose(store, tree)
    assert learning.complete and validation.complete and validation.best is not None and d.advice
    needles = [
        d.reason,
        f"Diagnosis: bottleneck {d.bottleneck}",
        f"{d.validation_error:.4f}",
        f"{d.avoidable_bias:.4f}",
        *(a.text for a in d.advice),
        f"{evaluation.scores['accuracy']:.4f}",
    ]

    md = export_runs(store, [tree], "md")
    assert "### Learning curve" in md and "### Validation curve over max\\_depth" in md
    for c in (learning, validation):
        for i, row in enumerate(c.rows()):
            line = _table_line(md, f"{row.label} | {row.n}/3")
            assert _ms(row.train_mean, row.train_std) in line and _ms(row.val_mean, row.val_std) in line
            assert line.endswith("| best |" if i == c.best and i != c.current else "|")
    assert _table_line(md, f"{validation.best_setting.label} | 3/3").split("|")[-2].strip().startswith("best")
    assert "this run" in _table_line(md, "None | 3/3")  # the tree's own max_depth
    assert "the locked test rows were used only by the test-set evaluations" in md
    rendered = "".join(_parse_html(_render_markdown(md)).text)
    for needle in needles:
        assert needle in rendered, needle

    page = export_runs(store, [tree], "html")
    doc = _parse_html(page)
    text = "".join(doc.text)
    for needle in needles + [_ms(r.val_mean, r.val_std) for r in validation.rows()]:
        assert needle in text, needle
    assert "<script" not in page.lower() and set(doc.tags) <= HTML_TAGS | SVG_TAGS
    assert not [a for a in doc.attrs if a[0] in ("href", "src", "style") or a[0].startswith("on")]
    learning_svg, validation_svg = _svgs(page)
    for svg, curve in ((learning_svg, learning), (validation_svg, validation)):
        texts = _svg_texts(svg)
        assert any(EVIL_DATASET in t for t in texts)  # in the chart's <title>, as text
        assert {"train (mean ± std)", "validation (mean ± std)"} <= set(texts)
        assert f"best: {curve.best_setting.label}" in texts
        assert len(list(svg.iter(f"{SVG}circle"))) == 2 * len(curve.settings)  # a point per setting and line
    assert "training rows" in _svg_texts(learning_svg)
    assert {"1", "2", "4", "None", "max_depth"} <= set(_svg_texts(validation_svg))  # settings as tick labels

    data = _strict_json(export_runs(store, [tree], "json"))["run"]
    assert data["curves"] == json.loads(json.dumps([curve_to_dict(learning), curve_to_dict(validation)]))
    assert data["diagnosis"] == json.loads(json.dumps(diagnosis_to_dict(d))) and data["diagnosis_error"] is None
    assert [e["id"] for e in data["test_evaluations"]] == [evaluation.id]
    assert data["test_evaluations"][0]["scores"]["accuracy"] == evaluation.scores["accuracy"]


def test_a_run_without_curves_or_a_diagnosis_says_so_in_one_line(world):
    store, partial = world["store"], world["partial"]
    md = export_runs(store, [partial], "md")
    (line,) = [x for x in md.splitlines() if x.startswith("No diagnosis:")]
    assert f"run {partial} has no finished folds" in line
    assert "curve" not in md.lower() and "Test-set evaluations" not in md
    data = _strict_json(export_runs(store, [partial], "json"))["run"]
    assert data["curves"] == [] and data["diagnosis"] is None and data["test_evaluations"] == []
    assert f"run {partial} has no finished folds" in data["diagnosis_error"]


def test_terminal_text_renders_the_same_blocks_as_the_exports(loop_world):
    store, tree = loop_world["store"], loop_world["tree"]
    run = get_run(store, tree)
    blocks = run_summary(run, RunExtras.load(store, run))
    text = render_text(blocks)
    lines = text.splitlines()
    for b in blocks:
        if isinstance(b, Heading):
            assert b.text in lines
        elif isinstance(b, Table):
            for row in b.rows:  # without a width, a row is one line: its cells in order
                assert any(re.search(r"\s+".join(re.escape(c) for c in row if c), line) for line in lines), row
        elif isinstance(b, Steps):
            for step, command in b.items:
                assert step in text and (command is None or f"$ {command}" in [x.strip() for x in lines])
    assert "Diagnosis: bottleneck" in text and "Learning curve" in text and "Test-set evaluations" in text

    narrow = render_text(blocks, width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80

    def words(t: str) -> set[str]:
        return {w for w in t.split() if set(w) - set("=-~")}  # not the headings' underlines

    assert words(narrow) == words(text)  # fitted to the width, nothing lost or split


def test_text_tables_fit_a_width_by_wrapping_text_then_cutting_columns_into_groups():
    headers = ["fold", *[f"metric{i} validation" for i in range(8)]]
    rows = [[str(f), *[f"0.{f}{i}00" for i in range(8)]] for f in range(3)]
    assert len(table_lines(headers, rows, [True] * 9)) == 4  # no width: one line a row, however wide
    narrow = table_lines(headers, rows, [True] * 9, width=40)
    assert max(len(line) for line in narrow) <= 40
    groups = "\n".join(narrow).split("\n\n")
    assert len(groups) > 1 and all(g.split()[0] == "fold" for g in groups)  # each group repeats the first column
    for row in rows:
        for cell in row[1:]:
            (line,) = [x for x in narrow if cell in x]
            assert line.split()[0] == row[0]  # beside its fold

    sentence = "the difference is within fold-to-fold noise " * 3
    wrapped = table_lines(["run", "verdict"], [["1", sentence]], [True, False], width=40)
    assert max(len(line) for line in wrapped) <= 40 and len(wrapped) > 2  # the text column wraps
    assert wrapped[1].split()[0] == "1" and " ".join(" ".join(wrapped[1:]).split()[1:]) == sentence.strip()
    token = "x" * 50  # a word longer than the width is kept whole, never split
    assert any(token in line for line in table_lines(["run", "verdict"], [["1", f"a {token} b"]], [True, False], 40))


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
    for needle in (
        p_text,
        fold1,
        delta,
        paired.explanation,
        unpaired.explanation,
        f"run {world['partial']} has 1 of 3 folds",
    ):
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


def test_comparison_summary_carries_every_runs_curves_and_diagnosis(loop_world):
    store, linear, tree = loop_world["store"], loop_world["linear"], loop_world["tree"]
    md = export_runs(store, [linear, tree], "md")
    assert md.count("### Learning curve") == 1 and md.count("### Diagnosis: bottleneck") == 2
    runs = {r["id"]: r for r in _strict_json(export_runs(store, [linear, tree], "json"))["comparison"]["runs"]}
    assert runs[linear]["curves"] == [] and [c["kind"] for c in runs[tree]["curves"]] == ["learning", "validation"]
    assert runs[linear]["diagnosis"]["run"] == linear and runs[tree]["test_evaluations"]


# --------------------------------------------------------------------------- datasets


def test_dataset_summary_has_the_planted_findings_and_the_curse_stats(loop_world):
    store = loop_world["store"]
    findings = check_quality(store, EVIL_DATASET, mislabeled=False)
    curse = curse_stats(store, EVIL_DATASET)
    by_kind = {f.kind: f for f in findings}
    dup, const = by_kind["duplicates"], by_kind["constant"]
    assert const.columns == ("always one",) and dup.n_rows == 12  # six rows, each twice
    rows = f"{', '.join(map(str, dup.rows[:5]))} … (12 rows)"
    needles = [
        dup.message,
        dup.action,
        const.message,
        const.action,
        rows,
        f"{curse.samples_per_feature:.2f}",
        EVIL_DATASET,
        EVIL_COLUMN,
        EVIL_FEATURE,
    ]

    md = export_dataset(store, EVIL_DATASET, "md", findings=findings, curse=curse)
    assert EVIL_DATASET not in md and EVIL_FEATURE not in md  # escaped, not markup
    assert md.startswith("# mlloop dataset ") and "## Data quality" in md and "## Curse of dimensionality" in md
    assert "Feature selection" not in md  # only when the caller has computed the curves
    doc = _parse_html(_render_markdown(md))
    text = "".join(doc.text)
    for needle in needles:
        assert needle in text, needle
    assert "<script" not in _render_markdown(md) and all(len(set(t)) == 1 for t in doc.tables)

    page = export_dataset(store, EVIL_DATASET, "html", findings=findings, curse=curse)
    doc = _parse_html(page)
    text = "".join(doc.text)
    for needle in needles:
        assert needle in text, needle
    assert "<script" not in page.lower() and "<svg" not in page and set(doc.tags) <= HTML_TAGS
    assert all(len(set(t)) == 1 for t in doc.tables)

    data = _strict_json(export_dataset(store, EVIL_DATASET, "json", findings=findings, curse=curse))
    assert data["kind"] == "dataset" and data["mlloop_version"] and data["dataset"]["name"] == EVIL_DATASET
    assert data["quality"] == json.loads(json.dumps([finding_to_dict(f) for f in findings]))
    assert data["curse"] == json.loads(json.dumps(curse_to_dict(curse))) and data["features"] is None


def test_dataset_summary_computes_what_it_is_not_given(loop_world):
    store = loop_world["store"]
    data = _strict_json(export_dataset(store, EVIL_DATASET, "json"))
    assert {"constant", "duplicates"} <= {f["kind"] for f in data["quality"]}
    assert data["curse"] == json.loads(json.dumps(curse_to_dict(curse_stats(store, EVIL_DATASET))))


def test_dataset_summary_with_feature_curves(loop_world):
    store = loop_world["store"]
    curves = feature_curve(store, EVIL_DATASET, "linear", ("univariate", "importance"), folds=3, jobs=1)
    uni = curves.method("univariate")
    assert uni.best_k and uni.chosen

    md = export_dataset(store, EVIL_DATASET, "md", findings=(), feature_curves=curves)
    assert "No data-quality findings." in md and "### Method univariate" in md
    section = md.split("### Method univariate")[1].split("### Method")[0]
    for p in uni.points:
        marks = [m for m, on in (("best", p.k == uni.best_k), ("one-SE", p.k == uni.one_se_k)) if on]
        assert _table_line(section, f"{p.k} | {_ms(p.mean, p.std)} | 3").endswith(f"| {', '.join(marks)} |")
    text = "".join(_parse_html(_render_markdown(md)).text)
    for f in uni.chosen:
        assert f"{f.name}\n{f.frequency:.0%}\n{f.importance:.4f}" in text  # one table row

    page = export_dataset(store, EVIL_DATASET, "html", findings=(), feature_curves=curves)
    (chart,) = _svgs(page)
    texts = _svg_texts(chart)
    assert {"univariate", "importance", "features selected (k) (log scale)"} <= set(texts)
    assert {str(k) for k in curves.ks} <= set(texts) and any(EVIL_DATASET in t for t in texts)
    assert "<script" not in page.lower() and set(_parse_html(page).tags) <= HTML_TAGS | SVG_TAGS

    data = _strict_json(export_dataset(store, EVIL_DATASET, "json", findings=(), feature_curves=curves))
    assert data["features"] == json.loads(json.dumps(curves_to_dict(curves))) and data["quality"] == []


# --------------------------------------------------------------------------- files


def test_format_from_path():
    assert [format_from_path(p) for p in ("a.md", "b.MARKDOWN", "c.html", "d.htm", "e.json")] == [
        "md",
        "md",
        "html",
        "html",
        "json",
    ]
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


def test_write_dataset_export_is_atomic_and_refuses_to_overwrite(loop_world, tmp_path: Path):
    store = loop_world["store"]
    curse = curse_stats(store, EVIL_DATASET)
    out = write_dataset_export(store, EVIL_DATASET, tmp_path / "data.md", findings=(), curse=curse)
    assert out.read_text(encoding="utf-8") == export_dataset(store, EVIL_DATASET, "md", findings=(), curse=curse)
    with pytest.raises(InputError, match="already exists"):
        write_dataset_export(store, EVIL_DATASET, out, findings=(), curse=curse)
    write_dataset_export(store, EVIL_DATASET, out, fmt="json", overwrite=True, findings=(), curse=curse)
    assert _strict_json(out.read_text(encoding="utf-8"))["kind"] == "dataset"
    with pytest.raises(NotFoundError):
        write_dataset_export(store, "no such dataset", tmp_path / "other.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.md"]


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
    (pair,) = compare_runs(world["store"], [dummy, linear], metric="log_loss").pairs
    (row,) = [line for line in lines if line.split()[:2] == [str(linear), str(dummy)]]  # the significance table's
    assert f"{pair.p:.3g}" in row and pair.explanation in row  # run, vs, ..., p, verdict
    assert "linear beats dummy on log loss (lower is better)" in pair.explanation

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


def test_cli_exports_a_dataset_with_feature_curves(loop_world, tmp_path: Path):
    out = tmp_path / "data.json"
    res = run_mlloop(
        "export",
        "--dataset",
        EVIL_DATASET,
        "--features",
        "--model",
        "tree",
        "-o",
        str(out),
        store=loop_world["store"].path,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    data = _strict_json(out.read_text(encoding="utf-8"))
    assert data["kind"] == "dataset" and data["dataset"]["name"] == EVIL_DATASET
    assert {"constant", "duplicates"} <= {f["kind"] for f in data["quality"]}
    assert data["features"]["model"] == "tree"
    assert set(data["features"]["methods"]) == {"univariate", "l1", "importance"}


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "{a}"],
        ["compare", "{a}", "999"],
        ["compare", "{a}", "{b}", "--metric", "rmse"],
        ["export", "{a}", "999", "-o", "{dir}/a.md"],
        ["export", "{a}", "-o", "{dir}/a.txt"],
        ["export", "{a}", "--format", "pdf", "-o", "{dir}/a.md"],
        ["export", "{a}", "-o", "{dir}/missing/a.md"],
        ["export", "{a}", "{b}", "-o", "{dir}/existing.md"],
        ["export", "-o", "{dir}/a.md"],
        ["export", "{a}", "--dataset", "evil", "-o", "{dir}/a.md"],
        ["export", "{a}", "--features", "-o", "{dir}/a.md"],
        ["export", "--dataset", "evil", "--reference", "{a}", "-o", "{dir}/a.md"],
        ["export", "--dataset", "evil", "--model", "tree", "-o", "{dir}/a.md"],
        ["export", "--dataset", "nope", "-o", "{dir}/a.md"],
        ["export", "--dataset", "evil", "-o", "{dir}/a.txt"],
        ["export", "--dataset", "evil", "--features", "-o", "{dir}/existing.md"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(world, tmp_path: Path, args):
    (tmp_path / "existing.md").write_text("keep")
    res = run_mlloop(
        *[a.format(dir=tmp_path, a=world["dummy"], b=world["linear"]) for a in args], store=world["store"].path
    )
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("mlloop: error: ")
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.md"]
    assert (tmp_path / "existing.md").read_text() == "keep"
