"""The SQL of model specs: the specs runs in this store were made from (``mlloop models``).

A spec run's row in ``runs`` keeps the spec's text and the estimator it resolved to (written by
:func:`core.store.runs.create_runs`); this module only reads them back, one line per spec.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from core.store.connection import Store


class UsedSpec(NamedTuple):
    name: str  # the run's model name
    text: str
    estimator_class: str
    n_runs: int
    last_run_id: int


def used_specs(store: Store) -> list[UsedSpec]:
    """Each (name, spec text) runs were made from, the most recently used first."""
    with store.read() as con:
        rows = con.execute(
            """SELECT model, spec, arg_max(estimator, id), count(*), max(id) FROM runs
               WHERE spec IS NOT NULL GROUP BY model, spec ORDER BY max(id) DESC"""
        ).fetchall()
    return [
        UsedSpec(name, text, json.loads(estimator).get("class", "") if estimator else "", n, last)
        for name, text, estimator, n, last in rows
    ]
