"""The runs table's filter language, kept apart from widgets so it is easy to test.

A filter is space-separated terms that must all match:
``penguins`` (text in the dataset, model or status), ``model:tree`` / ``dataset:pen`` /
``status:done`` (one field), and ``accuracy>0.8`` / ``rmse<=3`` (a metric's mean
validation score; operators ``< <= > >= =``). Unknown metrics or bad numbers are reported,
not silently ignored.

A filter is data (:class:`core.store.run_listing.TextTerm`, ``MetricTerm``): the runs table's
listing runs it as SQL; :meth:`RunFilter.matches` says the same of one record.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from core.store.run_listing import FIELDS, MetricTerm, Term, TextTerm
from core.types import RunRecord

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
    terms: tuple[Term, ...]

    def matches(self, run: RunRecord) -> bool:
        return all(_matches(term, run) for term in self.terms)


def parse_filter(text: str, metrics: set[str]) -> RunFilter:
    """Parse ``text``; ``metrics`` are the metric names a condition may use."""
    return RunFilter(text, tuple(_term(t, metrics) for t in text.split()))


def _term(term: str, metrics: set[str]) -> Term:
    field, sep, value = term.partition(":")
    if sep and field.lower() in FIELDS:
        return TextTerm((field.lower(),), value.lower())
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
        return MetricTerm(metric, op, bound)
    return TextTerm(FIELDS, term.lower())


def _matches(term: Term, r: RunRecord) -> bool:
    if isinstance(term, TextTerm):
        return any(term.needle in str(getattr(r, f)).lower() for f in term.fields)
    s = r.summaries.get(term.metric)
    return s is not None and s.val_mean == s.val_mean and _OPS[term.op](s.val_mean, term.bound)
