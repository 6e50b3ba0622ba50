"""Where the federation's two paths cross, read from noisy paired timings (`fed_calibration` measures them).

Input: per size, the times of both paths in interleaved rounds (one run of each a round, the order
alternating). The statistic is the median over the rounds of each round's ratio temp_table / any (`paired_ratio_ci`):
the two runs of a round are neighbours in time, so a change of load between rounds cancels in the round's
ratio, and near the crossing, where the two paths take about as long, another job's time slices hit either
run alike, so the median of the paired ratios is unbiased there and, unlike the ratio of the fastest runs
(`ratio_ci`, the statistic until wave 4: an extreme value, one lucky run away from another reading; the
thresholds of loads of the same data differed by up to 14x with it on this shared machine), steadier from
load to load. Its 95 % interval by bootstrap over the
rounds (seeded, so a reading repeats), and a verdict: `any` (the interval lies above 1: ANY faster), `temp`
(below 1) or `tie`.
Across sizes the log of the ratios is fitted non-increasing (pool-adjacent-violators, weighted by rounds:
the temp table's fixed cost matters less the more ids there are), so one noisy size cannot move the crossing
far. The threshold is where the fit crosses 1 (log-log interpolation between the sizes around it); the
*band* is where it lies within ±`TOL` of 1, the sizes at which either path is right to within `TOL`.
No threshold (ANY everywhere) unless the temp table is clearly faster at some size. A verdict on the wrong
side of the threshold after the calibration's re-measurement makes the reading `unresolved`, said in its
status (the threshold stays the fit's, between measured sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

TOL = 0.05  # paths within 5 % of each other: either is right
CONFIDENCE = 0.95
QUANTILE = 0.0  # the statistic of a path's runs: this quantile of them (0: the fastest)
BOOTSTRAP = 400


def low(xs: Sequence[float], q: float = QUANTILE) -> float:
    """The statistic of one path's runs: their `q` quantile (linear interpolation; default the fastest)."""
    return float(np.quantile(np.asarray(xs, float), q))


def ratio_ci(num: Sequence[float], den: Sequence[float], seed: int = 0, q: float = QUANTILE
             ) -> tuple[float, float, float]:
    """(low, ratio, high): low(num, q) / low(den, q) and its `CONFIDENCE` bootstrap interval, resampling the
    rounds (num[i] and den[i] ran in the same round and stay together)."""
    a, b = np.asarray(num, float), np.asarray(den, float)
    if len(a) != len(b) or not len(a):
        raise ValueError("ratio_ci: one time of each path a round needed")
    idx = np.random.default_rng(seed).integers(0, len(a), (BOOTSTRAP, len(a)))
    boot = np.quantile(a[idx], q, axis=1) / np.quantile(b[idx], q, axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return float(lo), low(a, q) / low(b, q), float(hi)


def paired_ratio_ci(num: Sequence[float], den: Sequence[float], seed: int = 0) -> tuple[float, float, float]:
    """(low, ratio, high): the median over the rounds of num[i] / den[i] (the two ran in round i) and its
    `CONFIDENCE` bootstrap interval over the rounds."""
    a, b = np.asarray(num, float), np.asarray(den, float)
    if len(a) != len(b) or not len(a):
        raise ValueError("paired_ratio_ci: one time of each path a round needed")
    r = np.log(a / b)
    idx = np.random.default_rng(seed).integers(0, len(r), (BOOTSTRAP, len(r)))
    boot = np.median(r[idx], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.exp(np.percentile(boot, [tail, 100 - tail]))
    return float(lo), float(np.exp(np.median(r))), float(hi)


def verdict(low: float, high: float) -> str:
    return "any" if low > 1.0 else "temp" if high < 1.0 else "tie"


def monotone(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The weighted least-squares non-increasing fit of `values` (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return [m for m, _, c in blocks for _ in range(c)]


def level_crossing(sizes: Sequence[int], fit: Sequence[float], level: float) -> float | None:
    """The size where the fitted log ratio first reaches `level` or below (log-log interpolation from the
    size before); the first size if it starts there; None if it never does."""
    for i, f in enumerate(fit):
        if f <= level:
            if i == 0:
                return float(sizes[0])
            f0, n0, n1 = fit[i - 1], math.log(sizes[i - 1]), math.log(sizes[i])
            frac = (f0 - level) / (f0 - f) if f0 != f else 1.0
            return math.exp(n0 + frac * (n1 - n0))
    return None


@dataclass
class Reading:
    """One layout's reading: threshold (ids; None: ANY at every size measured), band (low, high; None:
    beyond the largest size), status ("resolved", "any: ...", "unresolved: ..."), per size the ratio of the
    median of the rounds' ratios temp / any with its interval, and the verdicts."""

    threshold: int | None
    band: tuple[float | None, float | None]
    status: str
    ratio: list[float]
    ratio_ci: list[tuple[float, float]]
    verdicts: list[str]
    wrong_side: list[int]  # sizes whose verdict contradicts the threshold


def read(sizes: Sequence[int], runs: Sequence[tuple[Sequence[float], Sequence[float]]], tol: float = TOL
         ) -> Reading:
    """The crossing of one layout from the (any, temp) times of the rounds measured at `sizes` (ascending)."""
    if len(sizes) != len(runs) or not sizes or any(not a or len(a) != len(t) for a, t in runs):
        raise ValueError("read: per size, one time of each path a round needed")
    if any(x <= 0 for a, t in runs for x in (*a, *t)):
        raise ValueError("read: times must be positive")
    stats = [paired_ratio_ci(t, a, seed=i) for i, (a, t) in enumerate(runs)]
    med = [m for _, m, _ in stats]
    ci = [(lo, hi) for lo, _, hi in stats]
    v = [verdict(lo, hi) for lo, hi in ci]
    fit = monotone([math.log(m) for m in med], [len(a) for a, _ in runs])
    level = math.log(1 + tol)
    band = (level_crossing(sizes, fit, level), level_crossing(sizes, fit, -level))
    cross = level_crossing(sizes, fit, 0.0)
    if "temp" not in v or cross is None:
        wrong = [s for s, x in zip(sizes, v) if x == "temp"]
        status = ("unresolved: the temp table clearly faster at " + ", ".join(map(str, wrong)) +
                  " ids, ANY not slower in the fit" if wrong else
                  "any: the temp table never clearly faster (largest size: ratio "
                  f"{med[-1]:.2f}, interval {ci[-1][0]:.2f}-{ci[-1][1]:.2f})")
        return Reading(None, band, status, med, ci, v, wrong)
    threshold = max(int(sizes[0]), int(round(cross)))
    wrong = [s for s, x in zip(sizes, v) if (s < threshold and x == "temp") or (s >= threshold and x == "any")]
    status = "resolved" if not wrong else (
        "unresolved: verdicts on the wrong side of the crossing at " + ", ".join(map(str, wrong)) + " ids")
    return Reading(threshold, band, status, med, ci, v, wrong)
