"""How numbers leave and come back: JSON has no NaN or infinity, and neither do DuckDB's aggregates.

A non-finite score (a failed fold, an undefined metric) is written as ``null`` in JSON and as
NULL in the store, and comes back as NaN, so callers compute with plain floats. One rule for both
sides, shared by every layer (like :mod:`core.errors` and :mod:`core.text`, it imports nothing of core).
"""

from __future__ import annotations

import math


def finite_or_none(value: float | None) -> float | None:
    """A float to write: non-finite values and ``None`` become ``None`` (JSON null, SQL NULL)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def none_as_nan(value: float | None, missing: float = math.nan) -> float:
    """A written float back: ``None`` becomes ``missing`` (NaN unless said)."""
    return missing if value is None else float(value)
