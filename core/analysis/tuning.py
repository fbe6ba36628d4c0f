"""Hyper-parameter search: a grid, or a seeded random sample of it, cross-validated like the run it starts from.

``tune`` takes a run and a grid (parameter -> values). Each candidate is the run's own
parameters with one combination of the grid's values; candidates are cross-validated with
the run's folds, repeats and seed (so every candidate is paired with the run and with each
other in ``compare``), and stored as ordinary runs in ONE group through
:func:`core.modeling.evaluation.run_specs`, streamed fold by fold. The search itself (its grid, the
run it started from, the metric it is judged by) is recorded in ``searches`` so the group
can be shown as a search; the best candidate is computed when read, by the mean validation
score of the key metric (accuracy, or RMSE for regression) in its direction.
"""

from __future__ import annotations

import json
import math
import random as _random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InputError, NotFoundError
from core.modeling.evaluation import Progress
from core.modeling.metrics import key_metrics
from core.stopping import StopToken
from core.store import Store
from core.store import searches as search_store

__all__ = [
    "Candidate",
    "Search",
    "MAX_CANDIDATES",
    "get_search",
    "grid_candidates",
    "search_of_run",
    "searches_from_run",
    "tune",
]

MAX_CANDIDATES = 200  # a bigger grid needs --random N


@dataclass(frozen=True)
class Candidate:
    run_id: int
    params: dict[str, Any]  # the candidate's full parameters (the run's, overridden by the grid)
    status: str
    folds_done: int
    folds_total: int
    train_mean: float
    val_mean: float
    val_std: float


@dataclass(frozen=True)
class Search:
    """A hyper-parameter search: one group of runs, one per candidate, judged on ``metric``."""

    group_id: int
    base_run_id: int
    dataset: str
    model: str
    grid: dict[str, list[Any]]
    random: int | None
    seed: int
    metric: str
    greater_is_better: bool
    created_at: float
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        """The finished candidate with the best mean validation score (the first one on ties)."""
        done = [
            c
            for c in self.candidates
            if c.status == "done" and c.folds_done == c.folds_total and math.isfinite(c.val_mean)
        ]
        if not done:
            return None
        sign = 1.0 if self.greater_is_better else -1.0
        return max(done, key=lambda c: (round(sign * c.val_mean, 10), -c.run_id))

    @property
    def run_ids(self) -> tuple[int, ...]:
        return tuple(c.run_id for c in self.candidates)


def grid_candidates(
    grid: Mapping[str, Sequence[Any]], random: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """Every combination of the grid (in order), or ``random`` of them drawn without replacement, seeded."""
    names = list(grid)
    values = [list(grid[n]) for n in names]
    total = math.prod(len(v) for v in values)
    picks: Sequence[int]
    if random is None:
        picks = range(total)
    else:
        picks = sorted(_random.Random(seed).sample(range(total), min(random, total)))
    out = []
    for index in picks:
        combo: dict[str, Any] = {}
        rest = index
        for name, vals in zip(reversed(names), reversed(values)):
            rest, k = divmod(rest, len(vals))
            combo[name] = vals[k]
        out.append({n: combo[n] for n in names})
    return out


def tune(
    store: Store,
    run_id: int | str,
    grid: Mapping[str, Sequence[Any]],
    random: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    *,
    on_created: Callable[[int, list[int]], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: StopToken | None = None,
    cluster: str | None = None,
    queue: bool = False,
) -> list[int]:
    """Cross-validate every candidate of the grid (or ``random`` of them) as one group; returns their run ids.

    Bad input (an unknown parameter, an empty or invalid value list, a value the estimator
    refuses) raises ``InputError`` before any run exists. A set ``stop`` token (or Ctrl-C) marks the
    unfinished candidates ``cancelled`` and raises ``RunCancelled``, as ``run_baselines`` does.
    The candidates' folds run on the Dask ``cluster`` at that address when one is given. With ``queue``
    the candidates are created ``queued`` and wait their turn in the store's run queue
    (:mod:`core.store.run_queue`), as ``mlloop run --queue`` does.
    """
    from core.data.frames import feature_frame
    from core.modeling.evaluation import run_specs
    from core.modeling.specs import run_family, run_model
    from core.store.datasets import get_dataset
    from core.store.runs import get_run

    run = get_run(store, run_id)
    dataset = get_dataset(store, run.dataset_id)
    baseline = run_family(run, feature_frame(store, dataset))  # a spec: resolved from its text
    grid = _check_grid(grid, baseline, run)
    if random is not None and (isinstance(random, bool) or not isinstance(random, int) or random < 1):
        raise InputError(f"--random must be a positive number of candidates, got {random!r}")
    total = math.prod(len(v) for v in grid.values())
    if random is None and total > MAX_CANDIDATES:
        raise InputError(f"the grid has {total} candidates (more than {MAX_CANDIDATES}); sample some with --random N")
    combos = grid_candidates(grid, random, seed)
    key = key_metrics(run.task)[0]

    def record_search(group_id: int, run_ids: list[int]) -> None:
        search_store.insert(store, group_id, run.id, grid, random, seed, key.name, key.greater_is_better, time.time())

    return run_specs(
        store,
        dataset,
        [(run_model(run), {**run.params, **combo}) for combo in combos],
        folds=run.folds,
        repeats=run.repeats,
        seed=run.seed,
        sample=run.sample.size if run.sample else "all",  # the candidates fit on the run's rows
        jobs=jobs,
        on_created=on_created,
        on_progress=on_progress,
        before_start=record_search,
        stop=stop,
        cluster=cluster,
        queue=queue,
    )


def get_search(store: Store, group_id: int) -> Search:
    """A recorded search with its candidates as they stand now; ``NotFoundError`` if there is none."""
    from core.store.runs import list_runs

    stored = search_store.load(store, group_id)
    if stored is None:
        raise NotFoundError(f"no hyper-parameter search with group {group_id}")
    runs = sorted((r for r in list_runs(store, stored.dataset_id) if r.group_id == group_id), key=lambda r: r.id)
    metric = stored.metric
    candidates = tuple(
        Candidate(
            run_id=r.id,
            params=r.params,
            status=r.status,
            folds_done=r.n_folds_done,
            folds_total=r.n_folds_total,
            train_mean=r.summaries[metric].train_mean if metric in r.summaries else math.nan,
            val_mean=r.summaries[metric].val_mean if metric in r.summaries else math.nan,
            val_std=r.summaries[metric].val_std if metric in r.summaries else math.nan,
        )
        for r in runs
    )
    return Search(
        group_id=stored.group_id,
        base_run_id=stored.base_run_id,
        dataset=runs[0].dataset if runs else "?",
        model=runs[0].model if runs else "?",
        grid=stored.grid,
        random=stored.random,
        seed=stored.seed,
        metric=metric,
        greater_is_better=stored.greater_is_better,
        created_at=stored.created_at,
        candidates=candidates,
    )


def search_of_run(store: Store, run_id: int | str) -> Search | None:
    """The search a run is a candidate of, or ``None``."""
    from core.store.runs import get_run

    run = get_run(store, run_id)
    return get_search(store, run.group_id) if search_store.is_search_group(store, run.group_id) else None


def searches_from_run(store: Store, run_id: int | str) -> list[Search]:
    """The searches started from a run (it is their base run), oldest first."""
    from core.store.runs import parse_run_id

    return [get_search(store, g) for g in search_store.groups_based_on(store, parse_run_id(run_id))]


def _check_grid(grid: Mapping[str, Sequence[Any]], baseline: Any, run: Any) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise InputError("no parameter to search: give at least one NAME=v1,v2,...")
    valid = set(baseline.estimator(run.task, {}, run.seed).get_params())  # deep: a spec's Pipeline has step__param
    out: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or name not in valid:
            raise InputError(f"unknown parameter {name!r} for {run.model}; valid: {', '.join(sorted(valid))}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise InputError(f"the values of {name} must be a list")
        unique: dict[str, Any] = {}
        for v in values:
            try:
                unique.setdefault(json.dumps(v, sort_keys=True, allow_nan=False), v)
            except (TypeError, ValueError):
                raise InputError(
                    f"value {v!r} of {name} cannot be stored (use numbers, text, true/false or null)"
                ) from None
        if not unique:
            raise InputError(f"no values given for {name}")
        out[name] = list(unique.values())
    return out
