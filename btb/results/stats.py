"""Latency statistics as pure functions (no I/O), so they are tested on their own."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


def median_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics.

    The interval [x_(j), x_(k)] covers the median with probability ≥ `confidence`, where j, k come from
    the Binomial(n, 1/2) distribution (exact for n ≤ 1000, normal approximation above). For n < 6 no
    such interval reaches 95 %: the full range is returned, which is honest about the uncertainty.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return (math.nan, math.nan)
    alpha = 1.0 - confidence
    if n <= 1000:
        cdf, acc = [], 0.0
        for i in range(n + 1):
            acc += math.comb(n, i) / 2.0**n
            cdf.append(acc)
        # largest j with P(B < j) <= alpha/2  → lower order statistic index j (0-based: j-1)
        j = max([i for i in range(n + 1) if (cdf[i - 1] if i > 0 else 0.0) <= alpha / 2] or [0])
        j = max(j, 1)
    else:
        z = 1.959963984540054 if abs(confidence - 0.95) < 1e-9 else _z(confidence)
        j = max(1, int(math.floor(n / 2 - z * math.sqrt(n) / 2)))
    k = n + 1 - j
    return (float(x[j - 1]), float(x[min(k, n) - 1]))


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
