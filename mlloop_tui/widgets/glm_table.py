"""A GLM's coefficient table and fit statistics, as stored by the engine.

Term names come from the dataset's column names (and category values), so every one is
rendered with :func:`~mlloop_tui.widgets.literal.literal`: a column called ``[@click=app.quit]``
is a term like any other. A multinomial fit gets a class column (the class each row's
coefficients belong to; the reference class has none).
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from core.types import GlmCoefficient, GlmSummary
from mlloop_tui.widgets.fold_table import fmt_number
from mlloop_tui.widgets.literal import literal

TERM_WIDTH = 30  # cells; longer terms end in "…" (the store and exports keep them whole)


def p_text(p: float) -> Text:
    if not math.isfinite(p):
        return Text("-", justify="right", no_wrap=True)
    shown = "<0.001" if p < 0.001 else f"{p:.3f}"
    return Text(shown, justify="right", no_wrap=True, style="bold" if p < 0.05 else "dim")


def ci_text(low: float, high: float) -> Text:
    return Text(f"[{fmt_number(low)}, {fmt_number(high)}]", justify="right", no_wrap=True)


def glm_stats_text(glm: GlmSummary) -> Text:
    """One wrapping paragraph: family and link, n, deviance vs null, AIC, convergence."""
    text = Text()
    text.append_text(literal(glm.family))
    text.append(", ")
    text.append_text(literal(glm.link))
    text.append(f" link · n {glm.n_obs:,} · deviance {fmt_number(glm.deviance)}")
    text.append(f" · null deviance {fmt_number(glm.null_deviance)} · AIC {fmt_number(glm.aic)} · ")
    text.append("converged" if glm.converged else "did not converge", style="green" if glm.converged else "bold red")
    return text


def glm_warnings_text(glm: GlmSummary) -> Text:
    text = Text()
    for i, warning in enumerate(glm.warnings):
        if i:
            text.append("\n")
        text.append("⚠ GLM: ", style="bold yellow")
        text.append_text(literal(warning))
    return text


class GlmTable(DataTable):
    """The coefficients: (class), term, coef, std err, z, p, 95% CI."""

    DEFAULT_CSS = """
    GlmTable { height: auto; max-height: 75vh; }
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)
        self._coefficients: tuple[GlmCoefficient, ...] | None = None
        self.multinomial = False

    def set_summary(self, glm: GlmSummary) -> None:
        if glm.coefficients == self._coefficients:
            return
        multinomial = any(c.label for c in glm.coefficients)
        row = self.cursor_row
        self.clear(columns=True)
        self.multinomial = multinomial
        if multinomial:
            self.add_column(Text("class"), key="class")
        self.add_column(Text("term"), key="term")
        for key, label in (("coef", "coef"), ("std_err", "std err"), ("z", "z"), ("p", "p"), ("ci", "95% CI")):
            self.add_column(Text(label, justify="right"), key=key)
        for i, c in enumerate(glm.coefficients):
            cells = [literal(c.label, max_width=16)] if multinomial else []
            cells += [
                literal(c.term, style="bold" if c.term == "Intercept" else "", max_width=TERM_WIDTH),
                Text(fmt_number(c.coef), justify="right", no_wrap=True),
                Text(fmt_number(c.std_err), justify="right", no_wrap=True, style="dim"),
                Text(
                    f"{c.z:.2f}" if math.isfinite(c.z) and abs(c.z) < 1e5 else fmt_number(c.z, 2),
                    justify="right",
                    no_wrap=True,
                ),
                p_text(c.p),
                ci_text(c.ci_low, c.ci_high),
            ]
            self.add_row(*cells, key=str(i))
        self._coefficients = glm.coefficients
        if 0 < row < len(glm.coefficients):
            self.move_cursor(row=row, animate=False)
