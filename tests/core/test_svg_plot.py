"""Inline SVG charts: well-formed, inert whatever the labels say, and drawn where the numbers are."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from core.report.svg_plot import Chart, Marker, Series, linear_ticks, log_ticks, render, wants_log_x

NS = "{http://www.w3.org/2000/svg}"
EVIL = "</svg><script>alert(1)</script>[bold]&amp;\x1b[31m"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{NS}svg"
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter() if e.tag in (f"{NS}text", f"{NS}title")]


def _polylines(root: ET.Element) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, p.split(","))) for p in e.get("points").split()] for e in root.iter(f"{NS}polyline")]


def test_every_label_is_escaped_text_and_the_svg_is_well_formed():
    chart = Chart(
        title=f"curve on {EVIL}",
        x_label=EVIL,
        y_label=EVIL,
        series=[Series(EVIL, [0, 1, 2], [0.5, 0.6, 0.7], [0.1, 0.1, 0.1])],
        markers=[Marker(1, EVIL)],
        x_ticks=[(0, EVIL), (1, "b"), (2, "c")],
    )
    svg = render(chart)
    root = _parse(svg)
    assert "<script" not in svg and "\x1b" not in svg
    assert {e.tag.removeprefix(NS) for e in root.iter()} <= {
        "svg",
        "title",
        "rect",
        "text",
        "line",
        "path",
        "polyline",
        "circle",
    }
    assert not [k for e in root.iter() for k in e.attrib if k in ("href", "style") or k.startswith("on")]
    shown = EVIL.replace("\x1b", "\\x1b")  # control characters are made visible, markup stays literal
    texts = _texts(root)
    assert texts.count(shown) >= 4  # x label, y label, legend, marker, tick
    assert f"curve on {shown}" in texts  # the <title>; the visible title may be shortened with "…"


def test_points_land_where_the_numbers_are_and_gaps_split_the_line():
    chart = Chart("t", "x", "y", [Series("a", [1, 2, 3, 4, 5], [0.1, 0.5, math.nan, 0.2, 0.9])], log_x=False)
    root = _parse(render(chart))
    left, right = _polylines(root)  # the NaN leaves a gap: two lines
    assert [len(left), len(right)] == [2, 2]
    xs = [x for x, _ in left + right]
    assert xs == sorted(xs) and len(set(xs)) == 4
    ys = dict(zip([0.1, 0.5, 0.2, 0.9], [y for _, y in left + right]))
    assert ys[0.9] < ys[0.5] < ys[0.2] < ys[0.1]  # SVG y grows downwards
    steps = [b - a for a, b in zip(xs, xs[1:])]
    assert math.isclose(steps[0], steps[2], rel_tol=1e-3) and math.isclose(steps[1], 2 * steps[0], rel_tol=1e-3)
    assert not list(root.iter(f"{NS}path"))  # no spread, no band


def test_bands_markers_and_the_log_axis():
    xs = [10, 30, 100, 300, 1000]
    chart = Chart(
        "t",
        "rows",
        "acc",
        [
            Series("train", xs, [0.9] * 5, [0.05] * 5),
            Series("validation", xs, [0.6, 0.7, 0.75, 0.8, 0.8], [0.1] * 5, dashed=True),
        ],
        markers=[Marker(300, "best: 300")],
    )
    assert chart.log_x is None and wants_log_x(xs)
    root = _parse(render(chart))
    texts = _texts(root)
    assert "rows (log scale)" in texts and "best: 300" in texts
    assert {"10", "100", "1000"} <= set(texts)  # decade ticks
    assert len(list(root.iter(f"{NS}path"))) == 2  # one ± spread band per series
    train = _polylines(root)[0]
    steps = [b[0] - a[0] for a, b in zip(train, train[1:])]
    assert math.isclose(steps[0] + steps[1], steps[2] + steps[3], rel_tol=1e-3)  # each decade is as wide

    linear = _parse(render(Chart("t", "rows", "acc", [Series("train", xs, [0.9] * 5)], log_x=False)))
    assert "rows" in _texts(linear) and "rows (log scale)" not in _texts(linear)
    assert not wants_log_x([1, 10]) and not wants_log_x([0, 100]) and wants_log_x([1, 20])


def test_no_data_is_a_valid_empty_chart():
    root = _parse(render(Chart("t", "x", "y", [Series("a", [1, 2], [math.nan, math.inf])])))
    assert "no data" in _texts(root) and not _polylines(root)


def test_ticks_are_round_numbers_inside_the_range():
    assert linear_ticks(0.55, 0.99) == [0.6, 0.7, 0.8, 0.9]
    assert linear_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert log_ticks(0.001, 1000) == [0.001, 0.01, 0.1, 1, 10, 100, 1000]
    assert log_ticks(10, 320) == [10, 20, 50, 100, 200]
    assert log_ticks(3, 12) == [4, 6, 8, 10, 12]  # less than a decade: round linear steps
    assert log_ticks(0, 10) == [] and linear_ticks(1, 1) == [1]
