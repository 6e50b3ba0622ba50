"""Memory gradient rules as pure functions: levels, plateau stop, minimum viable RAM."""

from __future__ import annotations

import random

import pytest

from btb.results.gradient import FLOOR_BYTES, MiB, auto_levels, minimum_viable, plateau_reached
from btb.results.stats import median_ci


def test_auto_levels_follow_the_on_disk_size_rounded_to_mib():
    lv = auto_levels(300 * MiB)
    assert lv == [150 * MiB, 300 * MiB, 600 * MiB, 1200 * MiB]  # 0.5x .. 4x, geometric
    odd = auto_levels(1_000_000_007, n=3)
    assert all(x % MiB == 0 for x in odd) and odd == sorted(odd) and odd[0] >= 1_000_000_007 // 2


def test_auto_levels_keep_a_floor_and_still_give_n_distinct_levels():
    assert auto_levels(0) == [64 * MiB, 128 * MiB, 256 * MiB, 512 * MiB]
    small = auto_levels(50 * MiB)  # 25, 50 -> floor; 100, 200 stay
    assert small[0] == FLOOR_BYTES and len(set(small)) == 4 and small == sorted(small)
    assert auto_levels(10 * MiB, n=1) == [64 * MiB]
    with pytest.raises(ValueError):
        auto_levels(MiB, n=0)


def test_median_ci_from_order_statistics():
    x = list(range(1, 11))  # n=10: 95 % interval is [x(2), x(9)] (coverage 97.9 %)
    assert median_ci(x) == (2.0, 9.0)
    assert median_ci([5.0, 1.0, 3.0]) == (1.0, 5.0)  # n < 6: full range, no false precision


def test_plateau_when_more_memory_no_longer_beats_the_noise():
    rng = random.Random(7)
    slow = [1.0 + rng.uniform(-0.05, 0.05) for _ in range(30)]
    fast = [0.5 + rng.uniform(-0.05, 0.05) for _ in range(30)]
    same = [1.0 + rng.uniform(-0.05, 0.05) for _ in range(30)]
    assert plateau_reached(slow, fast) is False  # clear improvement: keep climbing
    assert plateau_reached(slow, same) is True  # within the CI of the previous median: stop
    assert plateau_reached(fast, slow) is True  # worse is not an improvement either


def test_plateau_is_never_claimed_from_a_failed_level():
    assert plateau_reached([], [1.0, 1.1]) is False
    assert plateau_reached([1.0, 1.1], []) is False


def test_minimum_viable_is_the_lowest_level_from_which_all_higher_complete():
    assert minimum_viable({64 * MiB: False, 128 * MiB: True, 256 * MiB: True}) == 128 * MiB
    assert minimum_viable({256: True, 512: False, 1024: True}) == 1024  # a lucky pass below a failure
    assert minimum_viable({64: False, 128: False}) is None
    assert minimum_viable({}) is None
    assert minimum_viable({64: True, 128: True}) == 64


def test_bisection_refines_between_failing_and_passing_until_the_resolution():
    from btb.results.gradient import bracket, next_bisection

    MiB = 1 << 20
    levels = {64 * MiB: "oom", 256 * MiB: "completed", float("inf"): "completed"}
    assert bracket(levels) == (64 * MiB, 256 * MiB)
    mid = next_bisection(levels, 0.10)
    assert mid == 128 * MiB  # geometric middle, on a MiB boundary
    levels[mid] = "oom"
    assert next_bisection(levels, 0.10) == 181 * MiB
    levels.update({181 * MiB: "completed", 152 * MiB: "completed", 139 * MiB: "oom", 145 * MiB: "completed"})
    assert bracket(levels) == (139 * MiB, 145 * MiB) and next_bisection(levels, 0.10) is None  # within 10 %
    # nothing passed, nothing failed, only unlimited passed: no bracket to refine
    assert next_bisection({64 * MiB: "oom"}, 0.1) is None
    # everything passed: search downwards first (halving, never below the floor), then refine
    assert next_bisection({64 * MiB: "completed", 256 * MiB: "completed"}, 0.1) == 32 * MiB
    assert next_bisection({16 * MiB: "completed", 64 * MiB: "completed"}, 0.1) is None
    assert next_bisection({64 * MiB: "oom", float("inf"): "completed"}, 0.1) is None
    # a pass below a failure is luck, not viability: the bracket sits above the failure
    assert bracket({64 * MiB: "completed", 128 * MiB: "oom", 512 * MiB: "completed"}) == (128 * MiB, 512 * MiB)
