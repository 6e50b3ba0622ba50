"""Memory gradient: which budgets to try, when to stop climbing, and the minimum viable RAM. Pure.

Levels come from the dataset's on-disk size because that is what an engine must page through; the floor
keeps levels above what an engine needs just to start. Climbing stops when a level's median no longer
beats the previous level's median beyond the previous median's distribution-free confidence interval.
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from btb.results.stats import median_ci

MiB = 1 << 20
FLOOR_BYTES = 64 * MiB
FACTORS = (0.5, 4.0)  # first and last level as multiples of the on-disk size


def auto_levels(dataset_bytes: int, n: int = 4, floor_bytes: int = FLOOR_BYTES) -> list[int]:
    """`n` ascending budgets, geometric from 0.5x to 4x the on-disk size, rounded up to MiB, >= floor.

    When the floor swallows low levels (small datasets), the missing ones continue upwards by doubling,
    so there are always `n` distinct levels.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    if dataset_bytes < 0:
        raise ValueError("dataset_bytes must be >= 0")
    lo, hi = FACTORS
    ratio = (hi / lo) ** (1 / (n - 1)) if n > 1 else 1.0
    raw = [dataset_bytes * lo * ratio**i for i in range(n)]
    levels: list[int] = []
    for b in raw:
        v = max(floor_bytes, math.ceil(b / MiB) * MiB)
        if v not in levels:
            levels.append(v)
    while len(levels) < n:
        levels.append(levels[-1] * 2)
    return sorted(levels)


def plateau_reached(prev_samples: Sequence[float], cur_samples: Sequence[float], confidence: float = 0.95) -> bool:
    """True when the median of `cur_samples` (e.g. latencies at a higher budget) does not fall below the
    lower bound of the CI of `prev_samples`' median: more memory no longer helps beyond noise.

    An empty `prev` (that level failed) or empty `cur` never counts as a plateau: keep climbing.
    """
    if not prev_samples or not cur_samples:
        return False
    lo, _ = median_ci(prev_samples, confidence)
    return not statistics.median(cur_samples) < lo


def minimum_viable(levels_status: dict[int, bool]) -> int | None:
    """Lowest level from which every tested level upwards completed (True = completed).

    A pass below a failing level is treated as luck, not viability: with {256: ok, 512: oom, 1024: ok}
    the answer is 1024. None when the highest level failed too.
    """
    viable: int | None = None
    for level in sorted(levels_status, reverse=True):
        if not levels_status[level]:
            break
        viable = level
    return viable


PASS = "completed"
FAIL = frozenset({"oom", "completed-with-errors"})  # the budget could not serve the workload


def bracket(levels: dict[float, str]) -> tuple[float | None, float | None]:
    """(highest failing budget below the minimum viable one, minimum viable budget) from {budget: status}
    (unlimited = inf). Either side is None when it does not exist (nothing failed / nothing passed)."""
    passed = minimum_viable({b: s == PASS for b, s in levels.items() if s == PASS or s in FAIL})
    if passed is None:
        return (max((b for b, s in levels.items() if s in FAIL), default=None), None)
    failed = max((b for b, s in levels.items() if s in FAIL and b < passed), default=None)
    return failed, passed


def next_bisection(levels: dict[float, str], resolution: float = 0.10, floor_bytes: int = 16 * MiB) -> int | None:
    """The budget to try next between the highest failing and the lowest passing *sized* level (geometric
    middle, rounded to MiB), or None when the bracket is already within `resolution` (or there is none).

    When every sized level passed, the search first goes down (halving, not below `floor_bytes`) until
    something fails, so that there is a bracket to refine."""
    failed, passed = bracket(levels)
    if passed is None or math.isinf(passed):
        return None
    if failed is None:
        if passed <= floor_bytes * (1 + resolution):
            return None  # serves at the floor: minimum viable RAM is at most that
        down = max(floor_bytes, round(passed / 2 / MiB) * MiB)
        return int(down) if down < passed and float(down) not in levels else None
    if passed <= failed * (1 + resolution):
        return None
    mid = max(floor_bytes, round(math.sqrt(failed * passed) / MiB) * MiB)
    return int(mid) if failed < mid < passed else None
