"""Line charts as inline SVG, so an HTML export shows its curves without scripts or images.

An HTML export is one self-contained file whose Content-Security-Policy blocks scripts,
images and every external resource. An inline ``<svg>`` element is part of the document
itself, so it needs none of them; it uses presentation attributes only (no ``style``, no
links). A :class:`Chart` says what to draw (lines with a ``± spread`` band, a linear or log x
axis, optional vertical markers such as "best"); :func:`render` turns it into markup.

Every piece of text (title, axis labels, legend, tick labels) goes through
:func:`core.text.printable` and XML escaping, so a dataset named ``</svg><script>`` is shown,
not run, and the output is well-formed XML as well as valid HTML. Pure functions on the
standard library only: no plotting library is loaded to write a report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from core.analysis.curve_settings import LOG_X_RATIO  # one rule for log axes, in the terminal and in exports
from core.text import printable

__all__ = ["Chart", "Marker", "Series", "linear_ticks", "log_ticks", "render", "wants_log_x"]

PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#57606a")
_LEFT, _RIGHT, _TOP, _BOTTOM = 68, 16, 52, 44  # plot-area margins: tick labels, title and legend
_CHAR_W, _TITLE_CHAR_W = 6.2, 8.0  # approximate character widths (11 px text, 13 px bold title), for the layout
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")  # code points XML 1.0 forbids even as references


@dataclass(frozen=True)
class Series:
    """One line: ``y`` over ``x``. ``spread`` (optional, same length) draws a ``y ± spread`` band
    under it. A non-finite value leaves a gap in the line."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    spread: Sequence[float] = ()
    dashed: bool = False


@dataclass(frozen=True)
class Marker:
    """A vertical dashed line at ``x`` with a label, e.g. the best setting of a curve."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """What to draw. ``log_x`` None means: log when every x is positive and they span
    :data:`LOG_X_RATIO` or more. ``x_ticks`` replace the automatic ticks (e.g. for settings
    that are positions in a list of labels)."""

    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    log_x: bool | None = None
    markers: Sequence[Marker] = ()
    x_ticks: Sequence[tuple[float, str]] = ()
    width: int = 640
    height: int = 320


def render(chart: Chart) -> str:
    """The chart as one ``<svg>`` element (no XML declaration), ready to inline in HTML."""
    w, h = chart.width, chart.height
    xs = [x for s in chart.series for x, y in zip(s.x, s.y) if _finite(x) and _finite(y)]
    ys = [v for s in chart.series for v in _y_extent(s)]
    log = bool(chart.log_x if chart.log_x is not None else wants_log_x(xs)) and all(x > 0 for x in xs)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'font-family="system-ui, sans-serif" font-size="11" fill="#1f2328">',
        f"<title>{_t(chart.title)}</title>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="bold">'
        f"{_t(_fit(chart.title, (w - _LEFT - _RIGHT) / _TITLE_CHAR_W))}</text>",
    ]
    out += _legend(chart.series, _LEFT, 36, w - _RIGHT)
    if not xs or not ys:
        out.append(f'<text x="{w / 2:.1f}" y="{h / 2:.1f}" text-anchor="middle" fill="#57606a">no data</text>')
        out.append("</svg>")
        return "\n".join(out)

    tick_xs = [x for x, _ in chart.x_ticks if _finite(x) and (x > 0 or not log)]
    fx = math.log10 if log else float
    x_lo, x_hi = _padded(min(fx(x) for x in xs + tick_xs), max(fx(x) for x in xs + tick_xs), 0.04)
    y_lo, y_hi = _padded(min(ys), max(ys), 0.06)
    left, right, top, bottom = _LEFT, w - _RIGHT, _TOP, h - _BOTTOM

    def px(x: float) -> float:
        return left + (fx(x) - x_lo) / (x_hi - x_lo) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    # y grid and ticks
    y_step_ticks = linear_ticks(y_lo, y_hi)
    y_step = y_step_ticks[1] - y_step_ticks[0] if len(y_step_ticks) > 1 else 1.0
    for v in y_step_ticks:
        y = py(v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eaeef2"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_t(_tick_label(v, y_step))}</text>')
    # x ticks
    if chart.x_ticks:
        x_ticks = [(x, label) for x, label in chart.x_ticks if x in tick_xs]
    elif log:
        x_ticks = [(v, f"{v:g}") for v in log_ticks(10**x_lo, 10**x_hi)]
    else:
        ticks = linear_ticks(x_lo, x_hi)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        x_ticks = [(v, _tick_label(v, step)) for v in ticks]
    for v, label in x_ticks:
        x = px(v)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#57606a"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{_t(label)}</text>')
    # axes and their labels
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#57606a"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#57606a"/>')
    x_label = chart.x_label + (" (log scale)" if log else "")
    out.append(f'<text x="{(left + right) / 2:.1f}" y="{h - 8}" text-anchor="middle">{_t(x_label)}</text>')
    mid = (top + bottom) / 2
    out.append(
        f'<text x="14" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 14 {mid:.1f})">'
        f"{_t(chart.y_label)}</text>"
    )
    # bands (fainter when many overlap), then lines and points on top
    opacity = 0.15 if len(chart.series) <= 2 else 0.08
    for i, s in enumerate(chart.series):
        color = PALETTE[i % len(PALETTE)]
        for seg in _segments(s, with_spread=True):
            upper = " L ".join(f"{px(x):.1f} {py(y + d):.1f}" for x, y, d in seg)
            lower = " L ".join(f"{px(x):.1f} {py(y - d):.1f}" for x, y, d in reversed(seg))
            out.append(f'<path d="M {upper} L {lower} Z" fill="{color}" fill-opacity="{opacity}" stroke="none"/>')
    for i, s in enumerate(chart.series):
        color = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        for seg in _segments(s, with_spread=False):
            points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in seg)
            out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"/>' for x, y, _ in seg]
    for j, m in enumerate(chart.markers):
        if not _finite(m.x) or (log and m.x <= 0):
            continue
        x = px(m.x)
        anchor = "end" if x > (left + right) / 2 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#57606a" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{x + dx:.1f}" y="{top + 12 + 13 * j}" text-anchor="{anchor}" fill="#57606a">{_t(m.label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def wants_log_x(xs: Sequence[float]) -> bool:
    """Whether positive x values span :data:`LOG_X_RATIO` or more (a log axis reads better)."""
    values = [x for x in xs if _finite(x)]
    return bool(values) and min(values) > 0 and max(values) / min(values) >= LOG_X_RATIO


def linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """About ``target`` round values (1, 2 or 5 × 10^k apart) between ``lo`` and ``hi``."""
    if not (_finite(lo) and _finite(hi)) or hi <= lo:
        return [lo] if _finite(lo) else []
    raw = (hi - lo) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten between ``lo`` and ``hi`` (> 0); 1-2-5 steps, or round linear ones, when fewer than three fit."""
    if not (_finite(lo) and _finite(hi)) or lo <= 0 or hi <= lo:
        return []
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    every = max(1, math.ceil((last - first + 1) / 8))
    ticks = [10.0**k for k in range(first, last + 1, every)]
    if len(ticks) < 3:
        ticks = [m * 10.0**k for k in range(first - 1, last + 1) for m in (1, 2, 5) if lo <= m * 10.0**k <= hi]
    if len(ticks) < 3:
        ticks = [v for v in linear_ticks(lo, hi) if v > 0]
    return ticks


# --------------------------------------------------------------------------- helpers


def _t(text: object) -> str:
    """Text as XML character data or an attribute value: visible control characters, escaped markup."""
    safe = _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", printable(text))
    return escape(safe, quote=True)


def _fit(text: str, chars: float) -> str:
    """The text, shortened with an ellipsis to about ``chars`` characters (the full text is in ``<title>``)."""
    text = printable(text)
    n = max(1, int(chars))
    return text if len(text) <= n else text[: n - 1] + "…"


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _spread(s: Series, i: int) -> float:
    d = s.spread[i] if i < len(s.spread) else math.nan
    return abs(d) if _finite(d) else math.nan


def _y_extent(s: Series) -> list[float]:
    out = []
    for i, (x, y) in enumerate(zip(s.x, s.y)):
        if _finite(x) and _finite(y):
            d = _spread(s, i)
            out += [y - d, y + d] if _finite(d) else [y]
    return out


def _segments(s: Series, with_spread: bool) -> list[list[tuple[float, float, float]]]:
    """Runs of consecutive drawable points (x, y, spread) in x order; a band needs two points with a spread."""
    points = sorted(
        ((x, y, _spread(s, i)) for i, (x, y) in enumerate(zip(s.x, s.y))),
        key=lambda p: p[0] if _finite(p[0]) else math.inf,
    )
    segments: list[list[tuple[float, float, float]]] = [[]]
    for x, y, d in points:
        if _finite(x) and _finite(y) and (not with_spread or _finite(d)):
            segments[-1].append((x, y, d))
        elif segments[-1]:
            segments.append([])
    return [seg for seg in segments if len(seg) >= (2 if with_spread else 1)]


def _padded(lo: float, hi: float, share: float) -> tuple[float, float]:
    if hi - lo <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        pad = abs(lo) * 0.1 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * share
    return lo - pad, hi + pad


def _tick_label(v: float, step: float) -> str:
    if abs(v) < abs(step) * 1e-9:
        v = 0.0
    decimals = max(0, -math.floor(math.log10(abs(step)) + 1e-9)) if step else 0
    return f"{v:.{decimals}f}"


def _legend(series: Sequence[Series], x0: float, y: float, x_max: float) -> list[str]:
    out, x = [], x0
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        label = printable(s.label)
        width = 28 + len(label) * _CHAR_W
        if x > x0 and x + width > x_max:
            break  # no room: the tables beside the chart name every series anyway
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(
            f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x + 18:.1f}" y2="{y - 4}" stroke="{color}" stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{x + 22:.1f}" y="{y}">{_t(s.label)}</text>')
        x += width + 12
    return out
