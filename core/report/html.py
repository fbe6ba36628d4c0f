"""Blocks as one self-contained HTML page: inline CSS, inline SVG charts, no scripts, no external
resources, and a Content-Security-Policy that would block them anyway.

Every piece of text goes through :func:`core.text.printable` and ``html.escape``; the charts
(:mod:`core.report.svg_plot`) escape their own text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from core.report.blocks import Block, Heading, Para, Steps, Table
from core.report.svg_plot import Chart, render
from core.text import printable

__all__ = ["render_html"]

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


def render_html(title: str, blocks: Sequence[Block]) -> str:
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
        if isinstance(b, Steps):
            b = b.as_table()
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{_h(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_h(b.text)}</p>")
        elif isinstance(b, Chart):
            out.append(render(b))  # core.report.svg_plot escapes every text itself
        else:
            out += _table(b)
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _table(b: Table) -> list[str]:
    def cls(i: int) -> str:
        return ' class="num"' if b.is_numeric(i) else ""

    return [
        "<table>",
        "<thead><tr>" + "".join(f"<th{cls(i)}>{_h(h)}</th>" for i, h in enumerate(b.headers)) + "</tr></thead>",
        "<tbody>",
        *("<tr>" + "".join(f"<td{cls(i)}>{_h(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in b.rows),
        "</tbody>",
        "</table>",
    ]


def _h(text: object) -> str:
    return html.escape(printable(text), quote=True)
