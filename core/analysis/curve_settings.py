"""What a curve is computed over: its settings (training sizes, a parameter's values) and the rules
that read them — default sizes, stratified training subsets (whole queries for ranking), the order
and labels of parameter values, which value is the run's own, and when an axis reads best as
logarithmic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.store.curve_points import value_key
from core.types import DatasetInfo, RunRecord, Task

if TYPE_CHECKING:
    import pandas as pd

LOG_X_RATIO = 20.0  # positive x values spanning this ratio or more read best on a log axis (plots and exports)
LEARNING_PARAM = "train_size"
LEARNING_QUERIES = "train_queries"  # a ranking run's learning curve: its sizes count queries
DEFAULT_POINTS = 6  # learning-curve sizes (5-8 is what people read comfortably)
MAX_POINTS = 8
MIN_ROWS = 10  # the smallest training subset
MIN_PER_CLASS = 3  # ... holds about this many rows of the rarest class (and always at least one)
MIN_QUERIES = 5  # a ranking run's smallest training subset, in queries


@dataclass(frozen=True)
class Setting:
    """One x of a curve: a training size, or one value of the parameter."""

    x: float
    label: str
    value: Any  # the training size, or the parameter value (JSON-able)


def default_sizes(
    dataset: DatasetInfo, y: Any, splits: Sequence[tuple[Any, Any]], n_points: int = DEFAULT_POINTS
) -> list[int]:
    """Log-spaced training sizes from the smallest sensible subset to the smallest fold's training rows.

    The smallest size holds about ``MIN_PER_CLASS`` rows of the rarest class (classification)
    and at least ``MIN_ROWS`` rows; the largest is the smallest fold's full training set.
    """
    import numpy as np

    n_max = min(len(train) for train, _ in splits)
    n_min = min(_min_size(dataset, y), n_max)
    sizes = sorted({int(round(v)) for v in np.geomspace(n_min, n_max, max(2, min(n_points, MAX_POINTS)))})
    if len(sizes) < 2:
        raise InputError(f"too few rows for a learning curve: the folds train on {n_max} rows")
    return sizes


def learning_param(task: Task) -> str:
    """What a learning curve's sizes count, as stored: training rows, or training queries for ranking."""
    return LEARNING_QUERIES if task == "ranking" else LEARNING_PARAM


def size_unit(task: Task) -> str:
    """How a learning curve's x reads: ``rows``, or ``queries`` for ranking."""
    return "queries" if task == "ranking" else "rows"


class TrainingSets:
    """The growing training sets of a learning curve, drawn from each fold's training rows.

    Rows (stratified for classification: :func:`training_subset`), or, given a ranking dataset's
    ``groups`` (each row's query, indexed like ``y``), whole queries: a size is then a number of
    queries, and a subset holds every training row of the queries drawn, so no query is cut.
    """

    def __init__(self, dataset: DatasetInfo, y: Any, splits: Sequence[tuple[Any, Any]], groups: Any = None) -> None:
        self.dataset, self.y, self.splits = dataset, y, splits
        self.codes = class_codes(y) if dataset.is_classification else None
        self.queries = None if groups is None else class_codes(groups.loc[y.index])  # each row's query, as a code

    def sizes(self, sizes: Sequence[Any] | None = None) -> list[int]:
        """``sizes`` checked, or by default :data:`DEFAULT_POINTS` log-spaced ones (see :func:`default_sizes`)."""
        if self.queries is None:
            if sizes is None:
                return default_sizes(self.dataset, self.y, self.splits)
            return check_sizes(sizes, self.dataset, self.y, self.splits)
        import numpy as np

        n_max = min(len(np.unique(self.queries[train])) for train, _ in self.splits)
        n_min = min(MIN_QUERIES, n_max)
        if sizes is None:
            sizes = sorted({int(round(v)) for v in np.geomspace(n_min, n_max, DEFAULT_POINTS)})
            if len(sizes) < 2:
                raise InputError(f"too few queries for a learning curve: the folds train on {n_max} queries")
            return sizes
        return _checked(sizes, n_min, n_max, "queries", "the smallest subset")

    def subset(self, train: Any, size: int, seed: tuple[int, ...]) -> Any:
        """The training rows of one size, seeded by ``seed`` (the same rows every time it is asked)."""
        if self.queries is None:
            return training_subset(train, self.codes, size, seed)
        import numpy as np

        queries = np.unique(self.queries[train])
        if size >= len(queries):
            return train
        drawn = np.random.default_rng([abs(int(s)) for s in seed]).choice(queries, size, replace=False)
        return np.sort(train[np.isin(self.queries[train], drawn)])


def knob_rank(values: Sequence[Any], value: Any) -> float:
    """Where ``value`` sits on a knob's simple → complex scale (``knob_for`` orders its values
    that way); a value between two of them ranks between, ``None`` (no limit) last."""
    for i, v in enumerate(values):
        if same_value(v, value):
            return float(i)
    numbers = [(i, v) for i, v in enumerate(values) if is_number(v)]
    if not is_number(value) or not numbers:
        return math.inf if value is None else -1.0
    ascending = numbers[0][1] <= numbers[-1][1]
    for i, v in numbers:
        if (value < v) if ascending else (value > v):
            return i - 0.5
    return numbers[-1][0] + 0.5


def value_label(value: Any) -> str:
    """How a parameter value reads in a plot or table: ``None``, ``0.01``, ``balanced``."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def _min_size(dataset: DatasetInfo, y: pd.Series) -> int:
    if not dataset.is_classification:
        return MIN_ROWS
    counts = y.value_counts()
    share = counts.min() / counts.sum()
    return max(MIN_ROWS, len(counts) * MIN_PER_CLASS, math.ceil(MIN_PER_CLASS / share))


def check_sizes(sizes: Sequence[Any], dataset: DatasetInfo, y: Any, splits: Sequence[tuple[Any, Any]]) -> list[int]:
    """Whole numbers of rows between the smallest subset that holds every class and the smallest fold."""
    n_max = min(len(train) for train, _ in splits)
    return _checked(
        sizes, min(_min_size(dataset, y), n_max), n_max, "rows", "the smallest subset that holds every class"
    )


def _checked(sizes: Sequence[Any], n_min: int, n_max: int, unit: str, smallest: str) -> list[int]:
    out = set()
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not float(s).is_integer():
            raise InputError(f"a training size must be a whole number of {unit}, got {s!r}")
        s = int(s)
        if not n_min <= s <= n_max:
            raise InputError(
                f"training size {s} is outside {n_min}..{n_max} ({smallest}, up to the smallest fold's training {unit})"
            )
        out.add(s)
    if not out:
        raise InputError("no training sizes given")
    return sorted(out)


def class_codes(y: Any) -> Any:
    """Each row's class (or query) as an integer code, values compared as text: for stratified subsets."""
    import numpy as np

    return np.unique(y.to_numpy(dtype=object).astype(str), return_inverse=True)[1]


def training_subset(train: Any, codes: Any, size: int, seed: tuple[int, ...]) -> Any:
    """A seeded subset of ``size`` training rows; stratified (every class kept) for classification."""
    import numpy as np

    if size >= len(train):
        return train
    rng = np.random.default_rng([abs(int(s)) for s in seed])
    if codes is None:
        return np.sort(rng.choice(train, size, replace=False))
    labels = codes[train]
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse)
    exact = counts / counts.sum() * size
    alloc = np.minimum(np.maximum(np.floor(exact).astype(int), 1), counts)
    while alloc.sum() < size:
        room = np.where(alloc < counts, exact - alloc, -np.inf)
        alloc[int(np.argmax(room))] += 1
    while alloc.sum() > size:
        over = np.where(alloc > 1, alloc - exact, -np.inf)
        alloc[int(np.argmax(over))] -= 1
    picked = [rng.choice(train[inverse == c], alloc[c], replace=False) for c in range(len(classes))]
    return np.sort(np.concatenate(picked))


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def settings_of(values: list[Any]) -> tuple[Setting, ...]:
    numeric = all(is_number(v) for v in values)
    return tuple(Setting(float(v) if numeric else float(i), value_label(v), v) for i, v in enumerate(values))


def with_current(values: list[Any], current: Any) -> list[Any]:
    """The knob's grid with the run's own value inserted in order, if it is not there."""
    if any(same_value(v, current) for v in values) or not is_number(current):
        return values
    numbers = [v for v in values if is_number(v)]
    ascending = len(numbers) < 2 or numbers[0] <= numbers[-1]
    for i, v in enumerate(values):
        if is_number(v) and (current < v if ascending else current > v):
            return values[:i] + [current] + values[i:]
    last = max((i for i, v in enumerate(values) if is_number(v)), default=len(values) - 1)
    return values[: last + 1] + [current] + values[last + 1 :]


def ordered_values(values: list[Any], knob_values: Sequence[Any] | None) -> list[Any]:
    """A validation curve's settings in one order, computed or loaded: the knob's simple →
    complex order (so a tie for the best goes to the simplest model), else ascending numbers,
    else as given."""
    if knob_values is not None:
        return sorted(values, key=lambda v: knob_rank(knob_values, v))
    if all(is_number(v) for v in values):
        return sorted(values)
    return values


def unique_values(values: Sequence[Any], param: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InputError(f"the values of {param} must be a list")
    out: dict[str, Any] = {}
    for v in values:
        try:
            out.setdefault(value_key(v), v)
        except (TypeError, ValueError):
            raise InputError(
                f"value {v!r} of {param} cannot be stored (use numbers, text, true/false or null)"
            ) from None
    if not out:
        raise InputError(f"no values given for {param}")
    return list(out.values())


def current_value(run: RunRecord, baseline: Any, param: str | None) -> Any:
    if param is None:
        return None
    if param in run.params:
        return run.params[param]
    if run.spec is not None:  # what the spec resolved to when the run was made
        return run.spec.params.get(param)
    try:
        return baseline.estimator(run.task, {}, run.seed).get_params().get(param)
    except Exception:
        return None


def wants_log_x(settings: Sequence[Setting]) -> bool:
    values = [s.value for s in settings]
    if len(values) < 3 or not all(is_number(v) and v > 0 for v in values):
        return False
    return bool(max(values) / min(values) >= LOG_X_RATIO)


def same_value(a: Any, b: Any) -> bool:
    try:
        return value_key(a) == value_key(b)
    except (TypeError, ValueError):
        return False


def mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
