"""How the summaries write values that are not scores: numbers, times, parameters, the version stamp.

Scores, differences of scores, mean ± std and p-values are written by the metrics registry
(:mod:`core.modeling.metrics`), as the command line and the app write them.
"""

from __future__ import annotations

import json
import math
import time
from importlib import metadata

__all__ = ["DIGITS", "mlloop_version", "num", "optional", "param_text", "seconds", "when"]

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


def optional(value: object) -> str:
    return "-" if value is None else str(value)


def param_text(value: object) -> str:
    """An estimator parameter's value: text as it is, anything else as JSON (``null``, ``[1, 2]``)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def seconds(value: float | None) -> str:
    """A time in seconds, short: ``0.04s`` (two decimals under 10 s, so a dummy's fits do not read as
    nothing), ``21.3s``; ``-`` when there is none yet."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2f}s" if value < 9.995 else f"{value:.1f}s"  # 9.996 is 10.0s: longer texts, greater values


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
