"""The runs table's filter language, kept apart from widgets so it is easy to test.

A filter is space-separated terms that must all match:
``penguins`` (text in the dataset, model or status), ``model:tree`` / ``dataset:pen`` /
``status:done`` (one field), and ``accuracy>0.8`` / ``rmse<=3`` (a metric's mean
validation score; operators ``< <= > >= =``). Unknown metrics or bad numbers are reported,
not silently ignored.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from core.types import RunRecord

FIELDS = ("dataset", "model", "status")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "=": operator.eq,
}
_CONDITION = re.compile(r"^([A-Za-z_][\w]*)\s*(<=|>=|<|>|=)\s*(.+)$")


class FilterError(ValueError):
    """A filter term that cannot be understood; its message is shown to the user."""


@dataclass(frozen=True)
class RunFilter:
    text: str
    tests: tuple[Callable[[RunRecord], bool], ...]

    def matches(self, run: RunRecord) -> bool:
        return all(test(run) for test in self.tests)


def parse_filter(text: str, metrics: set[str]) -> RunFilter:
    """Parse ``text``; ``metrics`` are the metric names a condition may use."""
    return RunFilter(text, tuple(_term(t, metrics) for t in text.split()))


def _term(term: str, metrics: set[str]) -> Callable[[RunRecord], bool]:
    field, sep, value = term.partition(":")
    if sep and field.lower() in FIELDS:
        needle = value.lower()
        return lambda r: needle in str(getattr(r, field.lower())).lower()
    condition = _CONDITION.match(term)
    if condition:
        metric, op, raw = condition.groups()
        if metric not in metrics:
            known = ", ".join(sorted(metrics)) or "none yet"
            raise FilterError(f"unknown metric {metric!r} (metrics: {known})")
        try:
            bound = float(raw)
        except ValueError:
            raise FilterError(f"{term!r}: {raw!r} is not a number") from None
        compare = _OPS[op]

        def test(r: RunRecord) -> bool:
            s = r.summaries.get(metric)
            return s is not None and s.val_mean == s.val_mean and compare(s.val_mean, bound)

        return test
    needle = term.lower()
    return lambda r: any(needle in str(getattr(r, f)).lower() for f in FIELDS)
