"""How numbers cross into and out of the store.

NaN and infinity are stored as NULL (DuckDB aggregates would otherwise turn every mean over a
failed fold into NaN); NULL comes back as NaN, so callers compute with plain floats.
"""

from __future__ import annotations

import math


def to_db_float(value: float | None) -> float | None:
    """A float to store: non-finite values and ``None`` become NULL."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def from_db_float(value: float | None) -> float:
    """A stored float back: NULL becomes NaN."""
    return math.nan if value is None else float(value)
