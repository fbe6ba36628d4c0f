"""Calibrated uncertainty, by simulation: no fits, synthetic fold scores with the correlation K-fold
cross-validation gives them (training sets overlap, so fold differences share a part: correlation
1/K under Nadeau & Bengio's model, for which their corrected variance is exact)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from core.analysis.compare import corrected_std_error, corrected_t_test
from core.analysis.diagnosis import NOISE_SE

REPETITIONS = 1000


def _fold_values(rng: np.random.Generator, k: int) -> np.ndarray:
    """``REPETITIONS`` rows of ``k`` fold values with mean 0 and correlation 1/k between folds."""
    rho = 1 / k
    return math.sqrt(rho) * rng.normal(size=(REPETITIONS, 1)) + math.sqrt(1 - rho) * rng.normal(size=(REPETITIONS, k))


def test_a_null_comparison_is_significant_in_about_5_percent_of_repetitions():
    rng = np.random.default_rng(0)
    for k in (5, 10):
        diffs = _fold_values(rng, k)  # two runs with the same true score: fold differences around 0
        ratio = 1 / (k - 1)  # validation rows / training rows in K-fold
        corrected = np.mean([corrected_t_test(row, ratio)[2] < 0.05 for row in diffs])
        naive = np.mean([stats.ttest_1samp(row, 0.0).pvalue < 0.05 for row in diffs])
        assert 0.03 <= corrected <= 0.075, (k, corrected)
        assert naive > 2 * corrected, (k, naive)  # the plain paired t-test is over-confident on folds


def test_the_diagnosis_noise_guard_false_alarm_rate_is_the_stated_one():
    """diagnosis' docstring and the README: a zero gap is called large about 6% of the time at 5 folds, 4% at 10."""
    rng = np.random.default_rng(1)
    for k, stated in ((5, 0.06), (10, 0.04)):
        gaps = 0.02 * _fold_values(rng, k)  # per-fold gaps with a true mean of zero
        se = corrected_std_error(gaps.std(ddof=1, axis=1), k, 1 / (k - 1))
        rate = float(np.mean(gaps.mean(axis=1) > NOISE_SE * se))
        assert abs(rate - stated) <= 0.02, (k, rate)


def test_repeating_the_folds_does_not_shrink_the_guard_below_one_split():
    std, ratio = 0.05, 0.25  # 5 folds
    once, repeated = corrected_std_error(std, 5, ratio), corrected_std_error(std, 50, ratio)  # --repeats 10
    assert repeated >= std * math.sqrt(ratio) > 3 * std / math.sqrt(50)  # std/sqrt(n) would be 3x smaller
    assert repeated > 0.7 * once
