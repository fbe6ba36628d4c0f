"""The ``mlloop edit`` arguments that apply a data-quality finding's fix as a new dataset version.

Each finding a version can fix gets its arguments (``Finding.edit``; ``quality --json`` shows them,
the quality screen applies them): a leaking, identifier or constant column is dropped; duplicate rows
are dropped with ``--drop-duplicates`` (with the identifier columns the duplicate check ignored, since
rows that differ only by an id are the duplicates it found); rows with conflicting labels are relabeled
to the label most of their identical rows carry (``--relabel ROW=LABEL``), and where no label has a
strict majority (a tie, such as one row of each) there is no label to trust and they are dropped
(``--drop-rows``); locked test rows are left alone, as an edit does, and do not vote. The conflicting
rows are found in DuckDB (:mod:`core.analysis.structure`): only they reach Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import duckdb

from core.analysis.findings import Finding
from core.analysis.structure import compared, conflicting_groups
from core.data.frames import ModelRows

COLUMN_FIXES = ("leakage", "identifier", "constant")


Conflicts = tuple[list[int], list[tuple[int, str]]]
"""The development rows of conflicting groups: (rows to drop, (row, majority label) to relabel)."""


def with_edits(findings: Sequence[Finding], ids: Sequence[str], conflicts: Conflicts | None) -> list[Finding]:
    """``findings`` with their ``edit`` arguments; rows were compared on every feature but the
    identifier columns ``ids``; ``conflicts`` is :func:`conflict_fix`'s answer (None: no conflict found)."""
    return [replace(f, edit=edit_args(f, ids, conflicts)) for f in findings]


def edit_args(f: Finding, ids: Sequence[str], conflicts: Conflicts | None) -> tuple[str, ...]:
    if f.kind in COLUMN_FIXES and f.columns:
        return ("--drop-columns", ",".join(f.columns))
    if f.kind == "duplicates":
        return (("--drop-columns", ",".join(ids)) if ids else ()) + ("--drop-duplicates",)
    if f.kind == "conflicting_labels" and conflicts is not None:
        drops, relabels = conflicts
        args: tuple[str, ...] = ("--drop-rows", ",".join(map(str, drops))) if drops else ()
        return args + (("--relabel", *(f"{row}={label}" for row, label in relabels)) if relabels else ())
    return ()


def conflict_fix(con: duckdb.DuckDBPyConnection, rows: ModelRows, ids: Sequence[str]) -> Conflicts:
    """Development rows whose identical feature rows (compared without ``ids``) carry more than one
    label: (rows to drop, as no label has a strict majority among them; (row, majority label) for the
    rows outvoted). ``rows`` are :func:`~core.analysis.structure.labeled_rows`, on the check's connection."""
    drops: list[int] = []
    relabels: list[tuple[int, str]] = []
    for group in conflicting_groups(con, rows, compared(rows, ids), "dev"):
        (majority, most), (_, second) = Counter(label for _, _, label in group).most_common(2)
        if most > second:
            relabels += [(row, majority) for _, row, label in group if label != majority]
        else:
            drops += [row for _, row, _ in group]
    return sorted(drops), sorted(relabels)
