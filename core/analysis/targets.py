"""A dataset's target score: human-level, an existing system's, or what the task requires.

The diagnosis reads the gap between a run's training error and this reference as the avoidable
bias (without a target it uses the best validation error reached on the dataset).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from core.errors import InputError
from core.modeling.metrics import METRICS, error_of, resolve_metric
from core.store import Store
from core.store import targets as target_store
from core.store.targets import StoredTarget

__all__ = ["Target", "clear_target", "get_target", "set_target"]


@dataclass(frozen=True)
class Target:
    """A dataset's target score: human-level, an existing system's, or what the task requires."""

    dataset_id: int
    dataset: str
    metric: str
    score: float
    note: str | None
    set_at: float

    @property
    def error(self) -> float:
        return error_of(self.metric, self.score)


def set_target(
    store: Store, dataset: str | int, score: float, metric: str | None = None, note: str | None = None
) -> Target:
    """Set (or replace) the dataset's target score, in ``metric`` (default: accuracy, or RMSE)."""
    from core.store.datasets import get_dataset

    info = get_dataset(store, dataset)
    metric = resolve_metric(metric, info.task).name
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise InputError(f"a target score must be a number, got {score!r}") from None
    if not math.isfinite(score):
        raise InputError(f"a target score must be finite, got {score}")
    m = METRICS[metric]
    if m.greater_is_better and score > 1.0:
        raise InputError(f"a {m.label} target must be at most 1, got {score:g}")
    if m.greater_is_better and metric != "r2" and score < 0.0:
        raise InputError(f"a {m.label} target must be between 0 and 1, got {score:g}")
    if not m.greater_is_better and score < 0.0:
        raise InputError(f"a {m.label} target cannot be negative, got {score:g}")
    stored = StoredTarget(metric, score, " ".join(str(note).split()) if note else None, time.time())
    target_store.save(store, info.id, stored)
    return Target(info.id, info.name, *stored)


def get_target(store: Store, dataset: str | int) -> Target | None:
    from core.store.datasets import get_dataset

    info = get_dataset(store, dataset)
    stored = target_store.load(store, info.id)
    return None if stored is None else Target(info.id, info.name, *stored)


def clear_target(store: Store, dataset: str | int) -> bool:
    """Remove the dataset's target; returns whether there was one."""
    from core.store.datasets import get_dataset

    return target_store.delete(store, get_dataset(store, dataset).id)
