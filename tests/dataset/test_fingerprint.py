"""SeriesHasher: the digest is a function of the columns only, however they are chunked."""

from __future__ import annotations

import numpy as np

from btb.dataset.fingerprint import SeriesHasher
from btb.dataset.series import Task, _regular_output


def _digest(p: np.ndarray, t: np.ndarray, v: np.ndarray, cuts: list[int]) -> bytes:
    h = SeriesHasher()
    for a, b in zip([0, *cuts], [*cuts, len(p)]):
        h.update(p[a:b], t[a:b], v[a:b])
    return h.digest()


def test_chunking_does_not_matter_and_content_does() -> None:
    rng = np.random.default_rng(0)
    p = np.sort(rng.integers(0, 50, 5_000)).astype(np.int32)
    t = (np.arange(5_000, dtype=np.int64) % 37) * 60_000_000 + 1_704_067_200_000_000
    t[rng.integers(0, 5_000, 40)] += 1  # irregular deltas too
    v = rng.random(5_000, dtype=np.float32)
    ref = _digest(p, t, v, [])
    for _ in range(5):
        cuts = sorted(set(rng.integers(1, 5_000, rng.integers(1, 30)).tolist()))
        assert _digest(p, t, v, cuts) == ref
    for col in range(3):
        q, u, w = p.copy(), t.copy(), v.copy()
        (q, u, w)[col][1234] += 1
        assert _digest(q, u, w, []) != ref


def test_generator_fast_path_equals_generic_path() -> None:
    steps = 288
    z = np.random.default_rng(1).random((steps, 70), dtype=np.float32)
    fast, slow = SeriesHasher(), SeriesHasher()
    for start in (0, 70):  # two consecutive tasks of one day
        c = _regular_output(Task(0, 300, 0, start, start + 70), 3, z, None)
        assert c.runs is not None and c.time_runs is not None
        fast.update(c.point_idx, c.time, c.value, c.runs, c.time_runs)
        slow.update(c.point_idx, c.time, c.value)
    assert fast.digest() == slow.digest()
