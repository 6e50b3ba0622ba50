"""Vectorised time series: one call produces a day of samples for a contiguous run of points.

Why the layout: points with the same (model, interval) have contiguous point_idx, so a task is a
2-D array (steps × points). The mean-reverting recursion loops over *steps* with whole-row numpy ops
(each sample gets the same IEEE operations whatever the task size, machine or thread), and the result
is transposed once into the (point_idx, time) order of the day files.

Determinism: noise for a block of points (rng_block) × one day comes from its own PCG64 stream keyed by
(seed, day, group, block), and the state carried across midnight lives in per-point arrays, so the
output depends on (profile, seed) only — not on chunk size or thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from btb.dataset.pointspecs import MODELS, SHAPE_FLAT, SHAPE_HVAC, SHAPE_IT, SHAPE_OCC, SHAPE_OUTDOOR, SHAPES

DAY_S = 86_400
START_S = 1_704_672_000  # 2024-01-08T00:00:00Z, the first working Monday of 2024: every dataset starts here
# Public holidays (no occupancy, plant on its weekend schedule): 1 January is never a working day.
HOLIDAY_DATES = ("2024-01-01", "2024-04-01", "2024-05-01", "2024-05-09", "2024-05-20", "2024-12-25", "2024-12-26",
                 "2025-01-01")
HOLIDAYS = frozenset((int(np.datetime64(d, "s").astype(np.int64)) - START_S) // 86_400 for d in HOLIDAY_DATES)


def working_day(day: int) -> bool:
    """Day `day` of every dataset (0 = START_S, a Monday) is Mon–Fri and not a public holiday."""
    return day % 7 < 5 and day not in HOLIDAYS
RNG_BLOCK_SAMPLES = 16_384  # one RNG stream covers ~this many samples/day: 64 points at 60 s, 128 at 900 s
MIN_TASK_POINTS = 1_024  # short-interval tasks stay wide, so the per-step Python overhead stays small
TAU_S = {60: 1_800.0, 300: 3_600.0, 900: 7_200.0, 3600: 21_600.0}  # OU correlation time per interval
TASK_SAMPLES = 1 << 20  # default work unit: about this many regular samples
M_OU, M_METER, M_DOOR, M_STATUS, M_ALARM = (MODELS.index(m) for m in ("ou", "meter", "door", "status", "alarm"))
SCHEDULE_H = {SHAPE_OCC: (7.5, 19.0), SHAPE_HVAC: (6.0, 20.0)}  # status on/off hours of scheduled equipment


@dataclass(frozen=True)
class Task:
    """A contiguous run of points [start, stop) of one (model, interval) group."""

    model: int
    interval: int
    group_start: int  # first point_idx of the group (RNG blocks count from here)
    start: int
    stop: int

    @property
    def group_key(self) -> int:
        return self.model * 100_000 + self.interval


@dataclass(frozen=True)
class Chunk:
    """Samples of one task: columns of the day file, plus point_idx as runs when known for free."""

    point_idx: np.ndarray  # int32
    time: np.ndarray  # int64 UTC epoch µs
    value: np.ndarray  # float64 (sensor values are float32 numbers; meters use the full float64)
    runs: tuple[np.ndarray, np.ndarray] | None = None  # (point_idx int32, run length int64)
    time_runs: tuple[np.ndarray, np.ndarray] | None = None  # np.diff(time) as (delta µs, run length)


@dataclass
class SeriesState:
    """Per-point state carried from one day to the next."""

    z: np.ndarray  # float32 OU state, in value units (std = params['noise'])
    meter: np.ndarray  # float64 cumulative meter reading
    last: np.ndarray  # float32 last value kept by the deadband (nan: none yet)

    @classmethod
    def initial(cls, seed: int, params: dict[str, np.ndarray]) -> "SeriesState":
        n = len(params["model"])
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xC0FFEE])))
        z = rng.standard_normal(n, dtype=np.float32) * params["noise"]
        return cls(z=z, meter=params["init"].astype(np.float64).copy(), last=np.full(n, np.nan, np.float32))


def rng_block(interval: int) -> int:
    """Points per RNG stream for an interval: a multiple of 64 covering ~RNG_BLOCK_SAMPLES samples/day.
    Fixed by the format (not by tasks or threads), which is what makes the output deterministic."""
    steps = DAY_S // interval
    return max(64, -(-RNG_BLOCK_SAMPLES // steps) // 64 * 64)


def plan_tasks(params: dict[str, np.ndarray], chunk_points: int | None = None) -> list[Task]:
    """Split every (model, interval) group into tasks of whole RNG blocks, in point_idx order."""
    model, interval = params["model"], params["interval"]
    n = len(model)
    tasks: list[Task] = []
    if n == 0:
        return tasks
    key = model.astype(np.int64) * 100_000 + interval
    bounds = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    stops = np.concatenate([bounds, [n]]).tolist()
    for g0, g1 in zip(starts, stops):
        steps = DAY_S // int(interval[g0])
        blk = rng_block(int(interval[g0]))
        if int(model[g0]) == M_METER:  # meters sum their children: the whole metering tree is one task
            tasks.append(Task(int(model[g0]), int(interval[g0]), g0, g0, g1))
            continue
        want = chunk_points if chunk_points else max(MIN_TASK_POINTS, TASK_SAMPLES // steps)
        per = max(blk, (want + blk - 1) // blk * blk)
        for a in range(g0, g1, per):
            tasks.append(Task(int(model[g0]), int(interval[g0]), g0, a, min(a + per, g1)))
    return tasks


def day_shapes(day: int, interval: int) -> np.ndarray:
    """(n_shapes, steps) float32 daily profiles; piecewise linear so every machine computes the same."""
    steps = DAY_S // interval
    h = np.arange(steps, dtype=np.float64) * (interval / 3600.0)
    weekday = working_day(day)
    out = np.zeros((5, steps), dtype=np.float64)
    ramp_up = lambda a, b: np.clip((h - a) / (b - a), 0.0, 1.0)  # noqa: E731
    if weekday:
        occ = ramp_up(7.0, 9.0) * (1.0 - ramp_up(17.0, 19.0))
        occ *= 1.0 - 0.2 * (ramp_up(12.0, 12.5) * (1.0 - ramp_up(13.0, 13.5)))  # lunch dip
        out[SHAPE_OCC] = occ
        out[SHAPE_HVAC] = ramp_up(5.5, 6.5) * (1.0 - ramp_up(19.5, 20.5))
    else:
        out[SHAPE_OCC] = 0.03
        out[SHAPE_HVAC] = 0.15 * ramp_up(7.0, 8.0) * (1.0 - ramp_up(17.0, 18.0))
    tri = np.abs(((h - 15.0) % 24.0) - 12.0) / 6.0 - 1.0  # triangle wave in [-1, 1]: max 15:00, min 03:00
    out[SHAPE_OUTDOOR] = tri
    out[SHAPE_IT] = 0.5 + 0.5 * out[SHAPE_OCC]
    out[SHAPE_FLAT] = 0.0
    return out.astype(np.float32)


def _bitgen(seed: int, day: int, task: Task, block: int) -> np.random.PCG64:
    return np.random.PCG64(np.random.SeedSequence([seed, day, task.group_key, block]))


def _rng(seed: int, day: int, task: Task, block: int) -> np.random.Generator:
    return np.random.Generator(_bitgen(seed, day, task, block))


def _u16(bitgen: np.random.PCG64, shape: tuple[int, int]) -> np.ndarray:
    """Uniform 16-bit draws straight from raw 64-bit outputs (little-endian split, same on every host)."""
    n = shape[0] * shape[1]
    raw = bitgen.random_raw((n + 3) // 4).astype("<u8", copy=False)
    return raw.view("<u2")[:n].reshape(shape)


def _blocks(task: Task):
    """(block number, slice start, slice stop) of each RNG block in the task, relative to the task."""
    blk = rng_block(task.interval)
    for a in range(task.start, task.stop, blk):
        yield (a - task.group_start) // blk, a - task.start, min(a + blk, task.stop) - task.start


U16_MID = np.float32(32767.5)
U16_SCALE = math.sqrt(12.0) / 65536.0  # uniform 16-bit draws -> unit variance innovations


def _ou(task: Task, day: int, seed: int, params: dict[str, np.ndarray], state: SeriesState) -> np.ndarray:
    """Mean-reverting noise (discretised OU, std = params['noise']) as (steps, points) from state.z.

    Innovations are uniform 16-bit draws (a fraction of the cost of normal draws); the AR(1) sum of
    many of them is close to Gaussian, which is all a synthetic sensor needs.
    """
    steps, n = DAY_S // task.interval, task.stop - task.start
    sl = slice(task.start, task.stop)
    a = math.exp(-task.interval / TAU_S[task.interval])
    k = (params["noise"][sl] * np.float32(math.sqrt(1.0 - a * a) * U16_SCALE)).astype(np.float32)
    a32 = np.float32(a)
    z = np.empty((steps, n), dtype=np.float32)
    for block, s0, s1 in _blocks(task):
        np.subtract(_u16(_bitgen(seed, day, task, block), (steps, s1 - s0)), U16_MID, out=z[:, s0:s1])
    z *= k
    tmp = np.empty(n, dtype=np.float32)
    np.multiply(state.z[sl], a32, out=tmp)
    z[0] += tmp
    for t in range(1, steps):
        np.multiply(z[t - 1], a32, out=tmp)
        np.add(z[t], tmp, out=z[t])
    state.z[sl] = z[-1]
    return z


def _add_levels(task: Task, day: int, z: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """z += base + amp·shape, in place on (steps, points).

    Points of a group are ordered by shape (structure.point_params), so a task holds a few contiguous runs of
    one shape each: one outer product per run, no gather and no BLAS (whose threads and kernels vary).
    """
    sl = slice(task.start, task.stop)
    amp, shape = params["amp"][sl], params["shape"][sl]
    if np.any(amp != 0):
        shapes = day_shapes(day, task.interval)
        cuts = np.flatnonzero(np.diff(shape)) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(shape)]):
            z[:, a:b] += np.multiply.outer(shapes[int(shape[a])], amp[a:b])
    z += params["base"][sl]
    return z


_TIMES: dict[tuple[int, int, int], np.ndarray] = {}


def _times(day: int, interval: int, n: int) -> np.ndarray:
    """time column of n points × one day, shared read-only by the tasks of a day (most have one size)."""
    key = (day, interval, n)
    arr = _TIMES.get(key)
    if arr is None:
        steps = DAY_S // interval
        row = (START_S + np.int64(day) * DAY_S + np.arange(steps, dtype=np.int64) * interval) * 1_000_000
        arr = np.empty((n, steps), dtype=np.int64)
        arr[:] = row
        arr = arr.reshape(-1)
        arr.flags.writeable = False
        for k in [k for k in list(_TIMES) if k[0] < day - 2]:  # days already written: drop
            _TIMES.pop(k, None)
        _TIMES[key] = arr
    return arr


_PIDX: dict[tuple[int, int, int], np.ndarray] = {}
PIDX_CACHE_BYTES = 64 << 20  # small and medium keep every task's column; larger scales cache their first tasks


def _pidx(task: Task, steps: int) -> np.ndarray:
    """point_idx column of a task's full day (each point repeated `steps` times). It is the same every
    day, so it is built once and shared read-only (else ~4 fresh bytes a sample, every day), within a
    byte budget so the cache never grows with the scale. clear_caches() empties it."""
    key = (task.start, task.stop, steps)
    arr = _PIDX.get(key)
    if arr is None:
        arr = np.repeat(np.arange(task.start, task.stop, dtype=np.int32), steps)
        if sum(a.nbytes for a in list(_PIDX.values())) + arr.nbytes <= PIDX_CACHE_BYTES:
            arr.flags.writeable = False
            _PIDX[key] = arr
    return arr


def clear_caches() -> None:
    """Drop the shared time/point_idx columns (the generator calls it when a dataset is written)."""
    _PIDX.clear()
    _TIMES.clear()


def _regular_output(task: Task, day: int, v: np.ndarray, keep: np.ndarray | None) -> Chunk:
    """Samples in (point, time) order from a (steps, points) value array."""
    steps, n = v.shape
    values = np.empty((n, steps), np.float64)
    values[...] = v.T
    values = values.reshape(-1)
    pidx = _pidx(task, steps)
    times = _times(day, task.interval, n)
    if keep is not None:
        m = np.ascontiguousarray(keep.T).reshape(-1)
        return Chunk(pidx[m], times[m], values[m])
    # every point holds the same full day: deltas are `interval` within a point, then one jump back
    dt = np.int64(task.interval) * 1_000_000
    tv, tl = np.empty(2 * n - 1, np.int64), np.empty(2 * n - 1, np.int64)
    tv[0::2], tl[0::2] = dt, steps - 1
    tv[1::2], tl[1::2] = -(steps - 1) * dt, 1
    return Chunk(pidx, times, values, (np.arange(task.start, task.stop, dtype=np.int32), np.full(n, steps, np.int64)),
                 (tv, tl))


def _deadband(task: Task, v: np.ndarray, params: dict[str, np.ndarray], state: SeriesState, deadband: float):
    """Change-of-value filter as BMS historians do: keep a sample when it moved ≥ deadband·sigma."""
    sl = slice(task.start, task.stop)
    thr = (params["sigma"][sl] * np.float32(deadband)).astype(np.float32)
    last = state.last[sl].copy()
    keep = np.empty(v.shape, dtype=bool)
    for t in range(v.shape[0]):
        k = ~(np.abs(v[t] - last) < thr)  # nan last -> keep
        keep[t] = k
        last = np.where(k, v[t], last)
    state.last[sl] = last
    return keep


def _events(task: Task, day: int, seed: int, params: dict[str, np.ndarray]):
    """Sparse event series on a slot grid of the point's interval, so gaps are ≥ interval."""
    steps = DAY_S // task.interval
    sl = slice(task.start, task.stop)
    day_us = (START_S + np.int64(day) * DAY_S) * 1_000_000
    dt_us = np.int64(task.interval) * 1_000_000
    pidx_l, slot_l, val_l = [], [], []
    if task.model == M_STATUS:
        amp, shape = params["amp"][sl], params["shape"][sl]
        on_h = np.array([SCHEDULE_H.get(s, (0, 0))[0] for s in range(len(SHAPES))]) * 3600 // task.interval
        off_h = np.array([SCHEDULE_H.get(s, (0, 0))[1] for s in range(len(SHAPES))]) * 3600 // task.interval
        scheduled_shape = np.isin(np.arange(len(SHAPES)), list(SCHEDULE_H))
        for block, s0, s1 in _blocks(task):
            rng = _rng(seed, day, task, block)
            m = s1 - s0
            jit = rng.integers(-3, 4, size=(m, 2))
            fault = rng.random(m) < 0.03
            fslot = rng.integers(0, steps // 2, size=m) * 2
            sh = shape[s0:s1].astype(np.intp)
            sched = (amp[s0:s1] > 0) & scheduled_shape[sh] & working_day(day)
            flt = (amp[s0:s1] == 0) & fault
            slots = np.where(sched[:, None], np.stack([on_h[sh] + jit[:, 0], off_h[sh] + jit[:, 1]], axis=1),
                             np.stack([fslot, fslot + 1], axis=1))
            vals = np.where(sched[:, None], np.float64([1.0, 0.0]), np.float64([0.0, 1.0]))
            rows = sched | flt
            pidx_l.append(np.repeat(np.arange(task.start + s0, task.start + s1, dtype=np.int32)[rows], 2))
            slot_l.append(slots[rows].reshape(-1).astype(np.int64))
            val_l.append(vals[rows].reshape(-1))
    else:  # door / alarm: Bernoulli per pair of slots -> (1 at 2m, 0 at 2m+1)
        pairs = steps // 2
        shapes = day_shapes(day, task.interval)[:, 0:steps:2]  # (n_shapes, pairs)
        base, amp, shape = params["base"][sl], params["amp"][sl], params["shape"][sl].astype(np.intp)
        for block, s0, s1 in _blocks(task):
            u = _rng(seed, day, task, block).random((s1 - s0, pairs), dtype=np.float32)
            prob = base[s0:s1, None] + amp[s0:s1, None] * shapes[shape[s0:s1]]
            pj, m = np.nonzero(u < prob)
            k = len(pj)
            pidx_l.append(np.repeat((pj + task.start + s0).astype(np.int32), 2))
            sl2 = np.empty(2 * k, np.int64)
            sl2[0::2], sl2[1::2] = 2 * m, 2 * m + 1
            slot_l.append(sl2)
            vals = np.empty(2 * k, np.float64)
            vals[0::2], vals[1::2] = 1.0, 0.0
            val_l.append(vals)
    if not pidx_l:
        return Chunk(np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.float64))
    return Chunk(np.concatenate(pidx_l), day_us + np.concatenate(slot_l) * dt_us, np.concatenate(val_l))


def generate_task(task: Task, day: int, seed: int, params: dict[str, np.ndarray], state: SeriesState,
                  deadband: float = 0.0) -> Chunk:
    """Samples of one task for one day, in (point_idx, time) order."""
    if task.model in (M_DOOR, M_STATUS, M_ALARM):
        return _events(task, day, seed, params)
    sl = slice(task.start, task.stop)
    z = _add_levels(task, day, _ou(task, day, seed, params, state), params)
    if task.model == M_METER:
        return _regular_output(task, day, _meters(task, z, params, state), None)
    np.maximum(z, params["lo"][sl], out=z)
    np.minimum(z, params["hi"][sl], out=z)
    keep = _deadband(task, z, params, state, deadband) if deadband > 0 else None
    return _regular_output(task, day, z, keep)


def _meters(task: Task, z: np.ndarray, params: dict[str, np.ndarray], state: SeriesState) -> np.ndarray:
    """Power and energy of every meter, as (steps, points) float64.

    z holds each meter's own load (kW). A meter's power is its own load (≥ 0) plus its child meters'
    power, summed bottom-up, so Σ children ≤ parent at every sample; its register adds power × interval
    (the demand of the interval ending at the sample) to a float64 running total, so register deltas are
    the integral of the power point to float64 rounding, with sub-Wh resolution over any span.
    """
    sl = slice(task.start, task.stop)
    mpower, mparent = params["mpower"][sl], params["mparent"][sl]
    v = np.maximum(z, params["lo"][sl]).astype(np.float64)  # own load > 0: power is positive, registers rise
    vt = v.T  # (points, steps) view: rows are meters
    is_power = mpower < 0
    parent = np.where(mparent >= 0, mparent - task.start, -1)
    depth = np.zeros(len(parent), np.int32)  # depth in the tree, so children are added before parents
    for _ in range(64):
        nd = np.where(parent >= 0, depth[np.maximum(parent, 0)] + 1, 0)
        nd[~is_power] = 0
        if np.array_equal(nd, depth):
            break
        depth = nd
    for d in range(int(depth.max(initial=0)), 0, -1):
        kids = np.flatnonzero((depth == d) & (parent >= 0))
        np.add.at(vt, parent[kids], vt[kids])
    energy = np.flatnonzero(~is_power)
    if len(energy):
        cum = np.cumsum(v[:, mpower[energy] - task.start] * (task.interval / 3600.0), axis=0)
        cum += state.meter[task.start + energy]
        state.meter[task.start + energy] = cum[-1]
        v[:, energy] = cum
    return v
