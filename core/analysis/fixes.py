"""The ``mlloop edit`` arguments that apply a data-quality finding's fix as a new dataset version.

Each finding a version can fix gets its arguments (``Finding.edit``; ``quality --json`` shows them,
the quality screen applies them): a leaking, identifier or constant column is dropped; duplicate rows
are dropped with ``--drop-duplicates`` (with the identifier columns the duplicate check ignored, since
rows that differ only by an id are the duplicates it found); rows with conflicting labels are listed
in full with ``--drop-rows``, all but the locked test rows, which an edit leaves alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from core.analysis.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

COLUMN_FIXES = ("leakage", "identifier", "constant")


def with_edits(
    findings: Sequence[Finding], X_rows: pd.DataFrame, y: pd.Series, is_test: pd.Series, ids: Sequence[str]
) -> list[Finding]:
    """``findings`` with their ``edit`` arguments; ``X_rows`` are the columns rows were compared on
    (all but the identifier columns ``ids``)."""
    return [replace(f, edit=edit_args(f, X_rows, y, is_test, ids)) for f in findings]


def edit_args(
    f: Finding, X_rows: pd.DataFrame, y: pd.Series, is_test: pd.Series, ids: Sequence[str]
) -> tuple[str, ...]:
    if f.kind in COLUMN_FIXES and f.columns:
        return ("--drop-columns", ",".join(f.columns))
    if f.kind == "duplicates":
        return (("--drop-columns", ",".join(ids)) if ids else ()) + ("--drop-duplicates",)
    if f.kind == "conflicting_labels":
        rows = conflicting_rows(X_rows, y, is_test)
        return ("--drop-rows", ",".join(map(str, rows))) if rows else ()
    return ()


def conflicting_rows(X_rows: pd.DataFrame, y: pd.Series, is_test: pd.Series) -> list[int]:
    """Development rows whose identical feature rows carry more than one label."""
    import pandas as pd

    key = pd.util.hash_pandas_object(X_rows, index=False).to_numpy()
    frame = pd.DataFrame({"x": key, "y": y.astype(str).to_numpy()}, index=X_rows.index)
    bad = (frame.groupby("x")["y"].transform("nunique") > 1) & ~is_test.reindex(X_rows.index).to_numpy()
    return sorted(int(r) for r in X_rows.index[bad.to_numpy()])
