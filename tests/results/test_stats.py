import numpy as np
import pytest

from btb.results.stats import median_ci, summarize


def test_summary_matches_numpy():
    x = np.random.default_rng(1).lognormal(size=200)
    s = summarize(x)
    assert s.n == 200
    assert s.p50 == pytest.approx(np.median(x))
    assert s.p95 == pytest.approx(np.percentile(x, 95))
    assert s.min <= s.p50 <= s.p95 <= s.p99 <= s.max
    assert s.stdev == pytest.approx(np.std(x, ddof=1))
    assert s.median_ci_low <= s.p50 <= s.median_ci_high


def test_median_ci_small_samples_are_the_full_range():
    assert median_ci([3.0, 1.0, 2.0]) == (1.0, 3.0)


def test_median_ci_coverage_is_about_95_percent():
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(400):
        lo, hi = median_ci(rng.exponential(size=31))
        hits += lo <= np.log(2) <= hi
    assert 0.92 <= hits / 400 <= 0.995


def test_empty_is_none():
    assert summarize([]) is None
