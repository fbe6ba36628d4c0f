"""A run's bias/variance diagnosis in words: the bottleneck, the numbers behind it, what to try next.

:func:`core.analysis.diagnosis.diagnose` decides everything; this panel only lays it out: the
bottleneck in words and in its colour, the engine's reason line, the errors and gaps (train,
validation, reference, dummy, avoidable bias, variance, test), whether more data would help,
and the ranked advice, each with the command that acts on it and, where the app has one,
the key that does it here. Advice and reasons name datasets, so every line goes through
:func:`~mlloop_tui.widgets.literal.literal`.
"""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from core.analysis.diagnosis import Diagnosis
from mlloop_tui.widgets.literal import literal

# bottleneck -> (the gap that makes it, its colour); the engine's reason line says the rest
BOTTLENECK_WORDS = {
    "training": ("the avoidable bias", "bold yellow"),
    "validation": ("the variance", "bold magenta"),
    "test": ("the test gap", "bold red"),
    "none": ("no large gap", "bold green"),
}

# advice kind -> (binding id of the key that acts on it in the run detail, what the key does)
ADVICE_KEYS = {
    "learning_curve": ("run.learning_curve", "computes it"),
    "raise_max_iter": ("run.tune", "tunes it"),
    "regularise": ("run.tune", "tunes it"),
    "less_regularisation": ("run.tune", "tunes it"),
    "evaluate_on_test": ("run.test", "evaluates"),
}


def _f(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.1e}" if x != 0 and abs(x) < 1e-3 else f"{x:.3f}"


def _wrapped(text: str, style: str = "") -> Text:
    out = literal(text, style=style)
    out.no_wrap, out.end = False, "\n"
    return out


def numbers_table(d: Diagnosis, learning_key: str) -> Table:
    """The errors and gaps as label/value pairs, two pairs a row."""
    limit = max(d.threshold, d.noise)
    ref = (
        f"{_f(d.reference_error)} (target)"
        if d.reference_source == "target"
        else f"{_f(d.reference_error)} (best run {d.reference_run_id})"
    )
    dummy = f"{_f(d.dummy_error)} ({f'run {d.dummy_run_id}' if d.dummy_run_id is not None else 'on these folds'})"
    bias = Text(_f(d.avoidable_bias), style="bold yellow" if d.avoidable_bias > limit else "")
    if d.avoidable_bias < 0:  # train error below the reference: the reference is no floor for it
        bias.append(" (none)", style="dim")
    variance = Text(_f(d.variance), style="bold magenta" if d.variance > limit else "")
    if d.test_error is None:
        test, gap = Text("not evaluated", style="dim"), Text("-", style="dim")
    else:
        test = Text(_f(d.test_error))
        large = d.test_threshold is not None and d.test_gap is not None and d.test_gap > d.test_threshold
        gap = Text(_f(d.test_gap), style="bold red" if large else "")
    if d.more_data_helps is None:
        more = Text(f"unknown ({learning_key}: learning curve)", style="dim")
    else:
        more = Text("yes" if d.more_data_helps else "no", style="bold" if d.more_data_helps else "")
        if d.curve_slope is not None:
            more.append(f" ({d.curve_slope:+.3f}/doubling)", style="dim")
    pairs = [
        ("train error", Text(_f(d.train_error))),
        ("validation error", Text(f"{_f(d.validation_error)} ± {_f(d.validation_error_se)}")),
        ("reference", Text(ref)),
        ("dummy error", Text(dummy)),
        ("avoidable bias", bias),
        ("variance", variance),
        ("test error", test),
        ("test gap", gap),
        ("more data helps", more),
        ("a gap counts above", Text(_f(limit))),
    ]
    grid = Table.grid(padding=(0, 1), expand=True)
    for _ in range(2):
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    for i in range(0, len(pairs), 2):
        (a, va), (b, vb) = pairs[i], pairs[i + 1]
        grid.add_row(a, va, b, vb)
    return grid


def advice_text(d: Diagnosis, keys: dict[str, str]) -> Text:
    """The ranked advice: ``1. what and why`` then ``→ command · key does it here``."""
    text = Text()
    for i, a in enumerate(d.advice, 1):
        if text:
            text.append("\n")
        text.append(f"{i}. ", style="bold")
        text.append_text(literal(a.text))
        how = []
        if a.command:
            how.append(literal(a.command, style="cyan"))
        key = ADVICE_KEYS.get(a.kind) or (("run.tune", "searches it") if a.kind.startswith("tune_") else None)
        if key and keys.get(key[0]):
            how.append(Text(f"{keys[key[0]]} {key[1]} here", style="bold"))
        if how:
            text.append("\n   → ")
            text.append_text(Text(" · ").join(how))
    text.no_wrap = False
    return text


class DiagnosisPanel(Static):
    """Shows a :class:`~core.analysis.diagnosis.Diagnosis`, or one dim line when there is none."""

    DEFAULT_CSS = """
    DiagnosisPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("diagnosing…", style="dim"), id=id)
        self.diagnosis: Diagnosis | None = None
        self.message: str | None = None  # why there is no diagnosis

    def show_diagnosis(self, d: Diagnosis, keys: dict[str, str]) -> None:
        """``keys`` maps binding ids to the keys shown (``run.tune`` -> ``t``) for the advice's in-app hints."""
        self.diagnosis, self.message = d, None
        gap, style = BOTTLENECK_WORDS[d.bottleneck]
        head = Text.assemble(("bottleneck: ", "bold"), (d.bottleneck, style), (f" ({gap})", style.replace("bold ", "")))
        parts: list = [
            head,
            _wrapped(d.reason, "dim"),
            Text(f"errors as {d.error_definition}; lower is better", style="dim"),
            numbers_table(d, keys.get("run.learning_curve", "l")),
        ]
        for note in d.notes:
            parts.append(_wrapped(f"note: {note}", "italic dim"))
        if d.advice:
            parts.append(Text("Next steps", style="bold"))
            parts.append(advice_text(d, keys))
        for part in parts:
            if isinstance(part, Text):
                part.end = "\n"
        self.update(Group(*parts))

    def show_message(self, message: str) -> None:
        """Why there is no diagnosis (e.g. the run has no finished folds yet)."""
        self.diagnosis, self.message = None, message
        self.update(_wrapped(message, "dim"))
