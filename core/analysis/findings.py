"""A data-quality finding: what is wrong (or worth knowing) about a dataset, with its severity, the
columns and file rows it concerns, a one-line message and a suggested action; and its JSON shape,
which the ``quality`` command prints and the app's child process sends.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["high", "medium", "low", "info"]
SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "info")
KINDS: tuple[str, ...] = (
    "leakage",
    "duplicates",
    "conflicting_labels",
    "shift",
    "adversarial_validation",
    "missing",
    "constant",
    "near_constant",
    "identifier",
    "high_cardinality",
    "class_imbalance",
    "mislabeled",
    "sampled",
)

MAX_ROWS = 50  # rows listed per finding; n_rows has the full count


@dataclass(frozen=True)
class Finding:
    """One problem in the data (or a fact worth knowing, severity ``info``)."""

    kind: str
    severity: Severity
    columns: tuple[str, ...]
    rows: tuple[int, ...]  # file row numbers, at most MAX_ROWS
    message: str
    action: str
    value: float | None = None  # the number the severity was judged on (a fraction, an AUC ...)
    n_rows: int = 0  # how many rows are affected in all (rows may be capped)
    scores: tuple[float, ...] = ()  # per listed row, when it has one (mislabeled: own-label probability)
    reasons: tuple[str, ...] = ()  # per listed row, when it has one: why that row is listed
    edit: tuple[str, ...] = ()  # the `mlloop edit DATASET` arguments that apply its fix (core.analysis.fixes)


def finding_to_dict(f: Finding) -> dict[str, Any]:
    """Stable JSON-ready keys: kind, severity, columns, rows, n_rows, message, action, value, scores, reasons,
    edit."""
    d = asdict(f)
    d["columns"], d["rows"], d["scores"] = list(f.columns), list(f.rows), [round(s, 6) for s in f.scores]
    d["reasons"], d["edit"] = list(f.reasons), list(f.edit)
    if d["value"] is not None and not math.isfinite(d["value"]):
        d["value"] = None
    keys = ("kind", "severity", "columns", "rows", "n_rows", "message", "action", "value", "scores", "reasons", "edit")
    return {k: d[k] for k in keys}


def finding_from_dict(d: dict[str, Any]) -> Finding:
    """The finding :func:`finding_to_dict` wrote (a child process sends findings to the app this way)."""
    return Finding(
        kind=d["kind"],
        severity=d["severity"],
        columns=tuple(d["columns"]),
        rows=tuple(d["rows"]),
        message=d["message"],
        action=d["action"],
        value=d["value"],
        n_rows=d["n_rows"],
        scores=tuple(d["scores"]),
        reasons=tuple(d.get("reasons", ())),  # findings written before rows had reasons have none
        edit=tuple(d.get("edit", ())),
    )


def listed_rows(index: Any) -> tuple[int, ...]:
    """The file row numbers a finding lists: the first ``MAX_ROWS`` of them."""
    return tuple(int(i) for i in list(index)[:MAX_ROWS])


def percent(x: float) -> str:
    """A share as a finding's message writes it: one decimal, two near 100%."""
    return f"{100 * x:.1f}%" if x < 0.995 else f"{100 * x:.2f}%"


def is_numeric(s: pd.Series) -> bool:
    return s.dtype.kind in "fiub"
