"""Bounded reads of a dataset's series for the oracle: filtered scans and streaming reductions.

The oracle must answer at any dataset size without holding a whole series table (or even all samples
of a query's points over its window) in memory. `scan` yields the samples of some points in a window one
record batch at a time: only the day files the window overlaps, only the row groups whose point_idx
statistics overlap the points (day files are sorted by point_idx), at most BATCH_ROWS rows decoded at
once. The reductions below keep one small accumulator per point or group, never the samples, so memory
is O(points asked for), not O(samples).

They are written for the oracle alone: mean/variance by Chan's pairwise merge of (n, mean, M2), sums by
math.fsum per run combined exactly (Shewchuk partials) — not the sum/sum-of-squares or per-group array
reductions the engines' queries compute, so a slip in one cannot agree with itself here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np
import pyarrow.parquet as pq

from btb.dataset.format import SERIES_DIR, US_PER_DAY

BATCH_ROWS = 1 << 16  # rows decoded at a time: ~1.3 MiB of (int32, int64, float64) per batch


def _row_groups(pf: pq.ParquetFile, lo_idx: int, hi_idx: int) -> list[int]:
    """Row groups whose point_idx range overlaps [lo_idx, hi_idx] (all when a group has no statistics)."""
    col = pf.schema_arrow.get_field_index("point_idx")
    keep = []
    for rg in range(pf.num_row_groups):
        st = pf.metadata.row_group(rg).column(col).statistics
        if st is not None and st.has_min_max and (st.max < lo_idx or st.min > hi_idx):
            continue
        keep.append(rg)
    return keep


Appended = Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]]  # day -> (point_idx, time_us, value) appended


def _appended_batch(appended: Appended | None, day: int, idxs: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The samples of `idxs` appended to `day` after the dataset was written, sorted by (point, time)."""
    extra = appended.get(day) if appended else None
    if extra is None or not len(idxs):
        return None
    p, t, v = (np.asarray(a) for a in extra)
    m = np.isin(p, idxs)
    if not m.any():
        return None
    p, t, v = p[m].astype(np.int32), t[m].astype(np.int64), v[m].astype(np.float64)
    order = np.lexsort((t, p))
    return p[order], t[order], v[order]


def scan_day(directory: Path | str, day: int, idxs: np.ndarray, appended: Appended | None = None
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(point_idx int32[], time_us int64[], value float64[]) batches of one day file, rows of `idxs` only;
    then, as one more batch, the day's samples appended after the dataset (a write workload's overlay)."""
    yield from _file_batches(directory, day, idxs)
    extra = _appended_batch(appended, day, idxs)
    if extra is not None:
        yield extra


def _file_batches(directory: Path | str, day: int, idxs: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    f = Path(directory) / SERIES_DIR / f"day-{day:04d}.parquet"
    if not len(idxs) or not f.exists():
        return
    pf = pq.ParquetFile(f)
    groups = _row_groups(pf, int(idxs[0]), int(idxs[-1]))
    if not groups:
        return
    for b in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=groups, columns=["point_idx", "time", "value"],
                             use_threads=False):
        p = b.column(0).to_numpy()
        m = np.isin(p, idxs, assume_unique=False)
        if m.any():
            yield (p[m].astype(np.int32), b.column(1).cast("int64").to_numpy()[m],
                   b.column(2).to_numpy().astype(np.float64)[m])


def scan(directory: Path | str, start_us: int, days: int, idxs: Iterable[int], lo: int, hi: int,
         appended: Appended | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of the samples with lo <= time < hi of the given points, day by day (dataset starting at
    start_us, `days` long). Within a batch, samples of one point are contiguous and in time order."""
    want = np.array(sorted({int(i) for i in idxs}), dtype=np.int32)
    first = max(0, (lo - start_us) // US_PER_DAY)
    last = min(days - 1, (hi - 1 - start_us) // US_PER_DAY)
    for day in range(first, last + 1):
        for p, t, v in scan_day(directory, day, want, appended):
            keep = (t >= lo) & (t < hi)
            if keep.all():
                yield p, t, v
            elif keep.any():
                yield p[keep], t[keep], v[keep]


def runs(p: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(point_idx, lo, hi) of each run of equal point_idx in a batch."""
    if not len(p):
        return
    cuts = np.flatnonzero(np.diff(p)) + 1
    for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(p)].tolist()):
        yield int(p[lo]), lo, hi


class ExactSum:
    """A float sum with no rounding until `value()` (Shewchuk's partials, as in math.fsum)."""

    def __init__(self) -> None:
        self.partials: list[float] = []

    def add(self, x: float) -> None:
        i = 0
        for y in self.partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                self.partials[i] = lo
                i += 1
            x = hi
        self.partials[i:] = [x]

    def value(self) -> float:
        return math.fsum(self.partials)


@dataclass
class Moments:
    """Count, min, max, mean and M2 (sum of squared deviations) of a stream, merged run by run (Chan et
    al.'s pairwise update), and the run sums combined exactly for a mean that does not drift."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    total: ExactSum = field(default_factory=ExactSum)

    def add(self, v: np.ndarray) -> None:
        k = len(v)
        if not k:
            return
        mean_b = math.fsum(v.tolist()) / k
        m2_b = math.fsum(((v - mean_b) ** 2).tolist())
        n = self.n + k
        delta = mean_b - self.mean
        self.m2 += m2_b + delta * delta * self.n * k / n
        self.mean += delta * k / n
        self.n = n
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        self.total.add(math.fsum(v.tolist()))

    def stddev(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan

    def exact_mean(self) -> float:
        return self.total.value() / self.n


def moments_per_point(batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[int, Moments]:
    """One Moments per point_idx over all batches."""
    out: dict[int, Moments] = {}
    for p, _, v in batches:
        for i, lo, hi in runs(p):
            out.setdefault(i, Moments()).add(v[lo:hi])
    return out


def last_before(directory: Path | str, start_us: int, days: int, idxs: Iterable[int], end_us: int,
                appended: Appended | None = None) -> dict[int, tuple[int, float]]:
    """Latest (time, value) before end_us per point (ties on time: the larger value): day files read
    backwards, one batch at a time, until every point is found."""
    todo = {int(i) for i in idxs}
    found: dict[int, tuple[int, float]] = {}
    last_day = min(days - 1, (end_us - 1 - start_us) // US_PER_DAY)
    for day in range(last_day, -1, -1):
        if not todo:
            break
        best: dict[int, tuple[int, float]] = {}
        for p, t, v in scan_day(directory, day, np.array(sorted(todo), dtype=np.int32), appended):
            keep = t < end_us
            p, t, v = p[keep], t[keep], v[keep]
            for i, lo, hi in runs(p):
                tt, vv = t[lo:hi], v[lo:hi]
                k = int(tt.max())
                cand = (k, float(vv[tt == k].max()))
                if i not in best or cand > best[i]:
                    best[i] = cand
        for i, tv in best.items():
            found[i] = tv
            todo.discard(i)
    return found
