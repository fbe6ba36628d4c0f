"""How the summaries write values: scores, differences, p-values, times, parameters, the version stamp.

Kept in one small module so that every summary (run, comparison, dataset) writes a score the
same way, and so that a change of how a metric's score is written happens in one place.
"""

from __future__ import annotations

import json
import math
import time
from importlib import metadata

__all__ = ["DIGITS", "mean_std", "mlloop_version", "num", "optional", "p_value", "param_text", "signed", "when"]

DIGITS = 4


def num(value: float | int | None, digits: int = DIGITS) -> str:
    """A number with ``digits`` decimals; ``-`` for a missing or NaN value, ``inf``/``-inf`` as such."""
    if value is None:
        return "-"
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def signed(value: float) -> str:
    """A difference, always with its sign (``+0.0123``)."""
    return "-" if not math.isfinite(value) else f"{value:+.{DIGITS}f}"


def p_value(value: float) -> str:
    """A p-value with three significant digits (``1.29e-05``, ``0.373``, ``1``)."""
    return "-" if not math.isfinite(value) else f"{value:.3g}"


def mean_std(mean: float, std: float) -> str:
    """``0.8123 ± 0.0123``; the mean alone when the spread is unknown (one fold)."""
    if not math.isfinite(mean):
        return "-"
    return f"{mean:.{DIGITS}f}" if not math.isfinite(std) else f"{mean:.{DIGITS}f} ± {std:.{DIGITS}f}"


def optional(value: object) -> str:
    return "-" if value is None else str(value)


def param_text(value: object) -> str:
    """An estimator parameter's value: text as it is, anything else as JSON (``null``, ``[1, 2]``)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def mlloop_version() -> str:
    """The installed mlloop's version, which every export is stamped with."""
    try:
        return metadata.version("mlloop-tui")
    except metadata.PackageNotFoundError:
        return "unknown"
