"""Latency statistics as pure functions (no I/O), so they are tested on their own."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


def _ci_rank(n: int, confidence: float) -> int:
    """j (1-based) such that [x_(j), x_(n+1-j)] is the narrowest order-statistic interval covering the median
    with probability ≥ `confidence`, or 1 (the full range) where none reaches it."""
    alpha = 1.0 - confidence
    if n <= 1000:
        cdf, acc = [], 0.0
        for i in range(n + 1):
            acc += math.comb(n, i) / 2.0**n
            cdf.append(acc)
        # largest j with P(B < j) <= alpha/2  → lower order statistic index j (0-based: j-1)
        j = max([i for i in range(n + 1) if (cdf[i - 1] if i > 0 else 0.0) <= alpha / 2] or [0])
        return max(j, 1)
    z = 1.959963984540054 if abs(confidence - 0.95) < 1e-9 else _z(confidence)
    return max(1, int(math.floor(n / 2 - z * math.sqrt(n) / 2)))


def median_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics.

    The interval [x_(j), x_(k)] covers the median with probability ≥ `confidence`, where j, k come from
    the Binomial(n, 1/2) distribution (exact for n ≤ 1000, normal approximation above). For n < 6 no
    such interval reaches 95 %: the full range is returned, whose real coverage `median_ci_coverage` says.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return (math.nan, math.nan)
    j = _ci_rank(n, confidence)
    k = n + 1 - j
    return (float(x[j - 1]), float(x[min(k, n) - 1]))


def median_ci_coverage(n: int, confidence: float = 0.95) -> float:
    """The probability that the interval `median_ci` returns for n values covers the median: 1 − 2·P(B < j),
    B ~ Binomial(n, 1/2) — at least `confidence` where n allows it, less for small n (the full range of n
    values covers it with 1 − 2^(1−n): 75 % for 3, 87.5 % for 4, 93.75 % for 5)."""
    if n < 1:
        return 0.0
    j = _ci_rank(n, confidence)
    if n <= 1000:
        below = sum(math.comb(n, i) for i in range(j)) / 2.0**n
    else:  # normal approximation with continuity correction
        below = 0.5 * (1 + math.erf(((j - 0.5) - n / 2) / (math.sqrt(n) / 2) / math.sqrt(2)))
    return 1.0 - 2.0 * below


def coverage_label(coverage: float) -> str:
    """A coverage as a report shows it: 95 % reads "95%", 0.9375 reads "93.75%"."""
    return f"{coverage * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _z(confidence: float) -> float:
    # inverse normal CDF by bisection on erf; only for unusual confidence levels
    lo, hi = 0.0, 10.0
    target = confidence
    for _ in range(80):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class LatencySummary:
    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    stdev: float
    min: float
    max: float
    median_ci_low: float
    median_ci_high: float

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(seconds) -> LatencySummary | None:
    """n, percentiles (linear interpolation), mean, sample stdev, extremes and the median's CI."""
    x = np.asarray(list(seconds), dtype=float)
    if x.size == 0:
        return None
    p50, p95, p99 = np.percentile(x, [50, 95, 99])
    lo, hi = median_ci(x)
    return LatencySummary(
        n=int(x.size), p50=float(p50), p95=float(p95), p99=float(p99), mean=float(x.mean()),
        stdev=float(x.std(ddof=1)) if x.size > 1 else 0.0, min=float(x.min()), max=float(x.max()),
        median_ci_low=lo, median_ci_high=hi,
    )
