"""Weakest slices: where in the data a run is wrong more often than elsewhere.

A slice is the rows of one value of a categorical feature (missing values are a slice of their
own), or of one quantile bin of a numeric feature (a numeric feature with few distinct values is
sliced by value). Each slice of at least ``min_size`` rows is tested against the rest of the rows,
one-sided (is its error higher?):

- classification, error rate: the two-proportion z-test with the pooled rate;
- regression, absolute error: Welch's t-test (unequal variances, Welch–Satterthwaite df).

For each feature the slice with the smallest p-value (whose error is above the rest's) is kept,
and features are ranked by it. The p-values are not corrected for the number of slices tried:
``p_bonferroni`` is, over every slice tested. Pure NumPy over arrays that are already loaded (no
pandas: ``mlloop errors`` never imports it), so slicing a 50,000-row run takes milliseconds; the
Student t tail is the regularised incomplete beta function computed here (:func:`student_t_cdf`,
equal to SciPy's to 1e-12), as importing SciPy would cost a quarter of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MIN_SLICE = 30  # smaller slices are not reported: their error rate is mostly noise
QUANTILE_BINS = 5  # a numeric feature's bins: quintiles
MAX_VALUE_SLICES = 10  # a numeric feature with at most this many distinct values is sliced by value

CLASSIFICATION_TEST = "one-sided two-proportion z-test of the slice's error rate against the other rows' (pooled rate)"
REGRESSION_TEST = "one-sided Welch t-test of the slice's mean absolute error against the other rows'"


@dataclass(frozen=True)
class Slice:
    """One feature's weakest slice: ``description`` is ``= value``, ``in [a, b)`` or ``missing``."""

    feature: str
    description: str
    n: int
    error: float  # the slice's error rate or mean absolute error
    rest_error: float  # the other rows'
    statistic: float  # z or t
    p: float
    p_bonferroni: float


def weakest_slices(
    X: Any, errors: Any, classification: bool, min_size: int = MIN_SLICE, top: int = 10
) -> tuple[list[Slice], int]:
    """The ``top`` features' weakest slices, most significant first, and how many slices were tested.

    ``X`` maps each feature's name to its column for the analysed rows (:func:`core.data.frames.load_arrays`'
    features; a DataFrame does too): float64 with NaN for missing, or object for categorical values.
    ``errors`` per row: 1.0/0.0 wrong/right for classification, the absolute error for regression.
    """
    import numpy as np

    err = np.asarray(errors, dtype=np.float64)
    total, total_sq, n_all = float(err.sum()), float(np.square(err).sum()), len(err)
    candidates: list[tuple[str, str, int, float, float, float, float]] = []
    tested = 0
    for feature in X:  # a mapping's keys, a DataFrame's columns
        codes, names = _slices_of(X[feature])
        n = np.bincount(codes, minlength=len(names))
        s = np.bincount(codes, weights=err, minlength=len(names))
        sq = None if classification else np.bincount(codes, weights=err * err, minlength=len(names))
        best: tuple[str, str, int, float, float, float, float] | None = None
        eligible = np.flatnonzero((n >= min_size) & (n_all - n >= 2))
        tested += len(eligible)
        for k in eligible:
            n_s, n_r = int(n[k]), n_all - int(n[k])
            if classification:
                stat = _z_two_proportions(float(s[k]), n_s, total - float(s[k]), n_r)
            else:
                assert sq is not None
                stat = _welch(float(s[k]), float(sq[k]), n_s, total - float(s[k]), total_sq - float(sq[k]), n_r)
            if stat is None or stat[0] <= 0:
                continue
            row = (feature, names[k], n_s, float(s[k]) / n_s, (total - float(s[k])) / n_r, stat[0], stat[1])
            if best is None or (row[6], -row[3]) < (best[6], -best[3]):
                best = row
        if best is not None:
            candidates.append(best)
    candidates.sort(key=lambda c: (c[6], -c[3]))
    return [Slice(*c, p_bonferroni=min(1.0, c[6] * tested)) for c in candidates[:top]], tested


def slice_mask(column: Any, description: str) -> Any:
    """Which rows of ``column`` are in the slice ``description`` names (to show them)."""
    import numpy as np

    codes, names = _slices_of(column)
    if description not in names:
        return np.zeros(len(column), dtype=bool)
    return codes == names.index(description)


def _slices_of(column: Any) -> tuple[Any, list[str]]:
    """Every row's slice number and the slices' descriptions."""
    import numpy as np

    values: Any = np.asarray(column)
    if values.dtype.kind in "OSU":  # categorical: one slice per value, in order of first appearance
        values = values.astype(object)
        missing = np.equal(values, np.array(None, dtype=object)) | (values != values)  # None or NaN
        first: dict[Any, int] = {}
        codes = np.zeros(len(values), dtype=np.int64)
        codes[~missing] = np.fromiter((first.setdefault(v, len(first)) for v in values[~missing]), np.int64)
        return _with_missing(codes, [f"= {v}" for v in first], missing)
    values = values.astype(np.float64)
    missing = np.isnan(values)
    present = np.sort(values[~missing])  # one sort: the distinct values and the quantiles both read it
    distinct = present[np.concatenate([[True], present[1:] != present[:-1]])] if len(present) else present
    if len(distinct) <= MAX_VALUE_SLICES:
        codes = np.searchsorted(distinct, np.where(missing, distinct[0] if len(distinct) else 0.0, values))
        return _with_missing(codes, [f"= {_num(v)}" for v in distinct], missing)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, QUANTILE_BINS + 1)))
    inner = edges[1:-1]
    codes = np.searchsorted(inner, np.where(missing, edges[0], values), side="right")
    names = [
        f"in [{_num(lo)}, {_num(hi)}{']' if i == len(edges) - 2 else ')'}"
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))
    ]
    return _with_missing(codes, names, missing)


def _with_missing(codes: Any, names: list[str], missing: Any) -> tuple[Any, list[str]]:
    import numpy as np

    codes = np.asarray(codes, dtype=np.int64).copy()
    if missing.any():
        codes[missing] = len(names)
        names = [*names, "missing"]
    return codes, names


def _z_two_proportions(k_s: float, n_s: int, k_r: float, n_r: int) -> tuple[float, float] | None:
    pooled = (k_s + k_r) / (n_s + n_r)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_r))
    if se == 0:
        return None
    z = (k_s / n_s - k_r / n_r) / se
    return z, 0.5 * math.erfc(z / math.sqrt(2))


def _welch(s_s: float, sq_s: float, n_s: int, s_r: float, sq_r: float, n_r: int) -> tuple[float, float] | None:
    m_s, m_r = s_s / n_s, s_r / n_r
    v_s = max(sq_s - n_s * m_s * m_s, 0.0) / (n_s - 1)
    v_r = max(sq_r - n_r * m_r * m_r, 0.0) / (n_r - 1)
    a, b = v_s / n_s, v_r / n_r
    if a + b == 0:
        return None
    t = (m_s - m_r) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n_s - 1) + b * b / (n_r - 1))
    return t, student_t_cdf(-t, df)


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (``scipy.special.stdtr(df, t)``)."""
    if math.isinf(t):
        return 0.0 if t < 0 else 1.0
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + t * t), t * t / (df + t * t), -math.log1p(t * t / df))
    return tail if t < 0 else 1.0 - tail


def _incomplete_beta(a: float, b: float, x: float, y: float, log_x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction (Lentz's method);
    ``y`` = 1 - x and ``log_x`` given exactly (1 - x can be far below the rounding of x)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * log_x + b * math.log(y))
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only on this side: use the symmetry
        return 1.0 - front * _beta_fraction(b, a, y) / b
    return front * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    value = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            value *= c * d
        if abs(c * d - 1.0) < 1e-16:
            break
    return value


def _num(value: float) -> str:
    return f"{value:.4g}"
