"""The ``mlloop edit`` arguments that apply a data-quality finding's fix as a new dataset version.

Each finding a version can fix gets its arguments (``Finding.edit``; ``quality --json`` shows them,
the quality screen applies them): a leaking, identifier or constant column is dropped; duplicate rows
are dropped with ``--drop-duplicates`` (with the identifier columns the duplicate check ignored, since
rows that differ only by an id are the duplicates it found); rows with conflicting labels are relabeled
to the label most of their identical rows carry (``--relabel ROW=LABEL``), and where no label has a
strict majority (a tie, such as one row of each) there is no label to trust and they are dropped
(``--drop-rows``); locked test rows are left alone, as an edit does, and do not vote.
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
        drops, relabels = conflict_fix(X_rows, y, is_test)
        args: tuple[str, ...] = ("--drop-rows", ",".join(map(str, drops))) if drops else ()
        return args + (("--relabel", *(f"{row}={label}" for row, label in relabels)) if relabels else ())
    return ()


def conflict_fix(X_rows: pd.DataFrame, y: pd.Series, is_test: pd.Series) -> tuple[list[int], list[tuple[int, str]]]:
    """Development rows whose identical feature rows carry more than one label: (rows to drop, as no
    label has a strict majority among them; (row, majority label) for the rows outvoted)."""
    import pandas as pd

    key = pd.util.hash_pandas_object(X_rows, index=False).to_numpy()
    frame = pd.DataFrame({"x": key, "y": y.astype(str).to_numpy()}, index=X_rows.index)
    frame = frame[~is_test.reindex(X_rows.index).to_numpy(dtype=bool)]
    frame = frame[frame.groupby("x")["y"].transform("nunique") > 1]
    drops: list[int] = []
    relabels: list[tuple[int, str]] = []
    for _, group in frame.groupby("x", sort=False):
        counts = group["y"].value_counts()
        if len(counts) > 1 and counts.iloc[0] > counts.iloc[1]:
            majority = str(counts.index[0])
            outvoted = group.index[group["y"].to_numpy() != majority]
            relabels += [(int(r), majority) for r in outvoted]
        else:
            drops += [int(r) for r in group.index]
    return sorted(drops), sorted(relabels)
