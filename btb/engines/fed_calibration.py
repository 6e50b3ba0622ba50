"""Where the federation's two transfer paths cross, measured on the node's own engine when a hybrid is loaded.

Below the crossing the ids travel as array parameters (`ANY`: no round trip before the statement), above it
through the session table (`fed` + COPY + ANALYZE: a fixed cost of a few round trips, then a join the planner
sizes from statistics). Where they cross depends on the engine, its settings, the machine and the data, so it
is measured, not assumed: the same join of ids with `ts` over one day of the dataset, both paths interleaved,
at sizes growing 4x up to every point, for contiguous ids and for ids spread evenly over the points (a
building's or a class's points are spread among a dataset's). Each threshold is the interpolated size where
the temp table's median gets as fast as ANY's; they are stored in the series database (`btb_federation`), so
every later session of the load (every trial, after restarts) uses it, and returned for the ingest report.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import psycopg

STORE = "btb_federation"
SIZES = (16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576)
REPS = 5
CHEAP_MS = 10.0
# The calibration statement: one join of the ids with ts over a window, the shape of Q6/Q7's series part.
JOIN_SQL = ("SELECT count(*), sum(t.value) FROM fed f JOIN ts t ON t.point_id = f.idx "
            "WHERE t.time >= %(start)s AND t.time < %(end)s")


LAYOUTS = ("contiguous", "scattered")
DENSE_SPAN = 2  # ids whose range is at most this many times their number count as contiguous (`path_for`)
RATIO_NOISE = 1.1  # above the crossing, a size where the temp table is slower by more than this undoes it


@dataclass
class Calibration:
    """The measured crossings, per id layout: from `thresholds[layout]` ids on, the temp table; None: ANY was
    faster up to the largest size measured. Contiguous ids cross earlier (the planner, knowing their range
    from `fed`'s statistics, merge-joins a short stretch of the `ts` index), so the layout of an id set decides
    between the two thresholds; it is looked at only between them (`path_for`)."""

    thresholds: dict[str, int | None]
    points: int
    sizes: list[int] = field(default_factory=list)
    any_ms: dict[str, list[float]] = field(default_factory=dict)  # median per size, per layout
    temp_ms: dict[str, list[float]] = field(default_factory=dict)
    reps: int = REPS
    seconds: float = 0.0

    def path_for(self, n: int, span: Callable[[], int]) -> str:
        """The path for `n` ids; `span()` (max - min + 1 of the ids) is called only between the thresholds."""
        inf = float("inf")
        t = {k: inf if v is None else v for k, v in self.thresholds.items()}
        lo, hi = min(t.values()), max(t.values())
        if n < lo:
            return "any"
        if n >= hi:
            return "temp_table"
        layout = "contiguous" if span() <= DENSE_SPAN * n else "scattered"
        return "temp_table" if n >= t[layout] else "any"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spread_ids(n: int, points: int) -> np.ndarray:
    """n distinct ids spread evenly over 0..points-1."""
    return np.unique(np.linspace(0, points - 1, min(n, points)).round().astype(np.int32))


def layout_ids(layout: str, n: int, points: int) -> np.ndarray:
    return np.arange(min(n, points), dtype=np.int32) if layout == "contiguous" else spread_ids(n, points)


def crossing(sizes: Sequence[int], any_ms: Sequence[float], temp_ms: Sequence[float]) -> int | None:
    """The first size from which the temp table is as fast as ANY (and no larger size measured has it slower
    by more than RATIO_NOISE), interpolated in log-log between it and the size before; None if there is none."""
    ratios = [t / a for a, t in zip(any_ms, temp_ms)]
    for i, r in enumerate(ratios):
        if r <= 1.0 and all(x <= RATIO_NOISE for x in ratios[i:]):
            if i == 0:
                return int(sizes[0])
            n0, n1, r0, r1 = sizes[i - 1], sizes[i], math.log(ratios[i - 1]), math.log(r)
            frac = r0 / (r0 - r1) if r0 != r1 else 1.0
            return max(int(n0) + 1, int(round(math.exp(math.log(n0) + frac * (math.log(n1) - math.log(n0))))))
    return None


def _same(a: Any, b: Any) -> bool:
    """Equal answers, floats to 1e-9 relative (a sum's order of addition differs between plans)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _time(run: Callable[[str, np.ndarray], Any], ids: np.ndarray, reps: int) -> tuple[float, float]:
    """Medians (ms) of both paths on one id set: a warm-up each, then `reps` rounds, alternating first;
    3 x `reps` where the warm-up took under CHEAP_MS (a millisecond's median needs more rounds, and they
    cost little)."""
    got: dict[str, list[float]] = {"any": [], "temp_table": []}
    rep, rounds = 0, reps
    while rep <= rounds:
        answers = []
        for path in (("any", "temp_table") if rep % 2 else ("temp_table", "any")):
            t = time.perf_counter()
            answers.append(run(path, ids))
            ms = (time.perf_counter() - t) * 1000
            if rep:
                got[path].append(ms)
            elif ms < CHEAP_MS:
                rounds = 3 * reps
        if not _same(answers[0], answers[1]):
            raise RuntimeError(f"federation calibration: the two paths answer differently at {len(ids)} ids: {answers}")
        rep += 1
    return statistics.median(got["any"]), statistics.median(got["temp_table"])


def calibrate(points: int, run: Callable[[str, np.ndarray], Any], sizes: Sequence[int] = SIZES,
              reps: int = REPS) -> Calibration:
    """Time `run(path, ids)` ("any" / "temp_table": the same statement and answer) for each layout and each
    size up to `points` (the last size is every point); each size's rounds together (its pages warm, as in a
    run of like queries). A layout stops growing once the temp table has won two sizes in a row."""
    t_start = time.perf_counter()
    ladder = sorted({s for s in sizes if s < points} | {points})
    out = Calibration({}, points, ladder, reps=reps)
    for layout in LAYOUTS:
        a_ms, t_ms = out.any_ms.setdefault(layout, []), out.temp_ms.setdefault(layout, [])
        for n in ladder:
            a, t = _time(run, layout_ids(layout, n, points), reps)
            a_ms.append(round(a, 4))
            t_ms.append(round(t, 4))
            if len(a_ms) >= 2 and t_ms[-1] <= a_ms[-1] and t_ms[-2] <= a_ms[-2]:
                break
        out.thresholds[layout] = crossing(ladder[:len(a_ms)], a_ms, t_ms)
    out.seconds = time.perf_counter() - t_start
    return out


def store(conn: psycopg.Connection, cal: Calibration) -> None:
    """Keep the calibration with the loaded data (one row, replaced)."""
    conn.execute(f"create table if not exists {STORE} (key text primary key, value jsonb not null)")
    conn.execute(f"insert into {STORE} values ('calibration', %s) "
                 "on conflict (key) do update set value = excluded.value", (json.dumps(cal.to_dict()),))


def stored(conn: psycopg.Connection) -> Calibration | None:
    """The calibration kept with this load; None when the store has none."""
    if conn.execute("select to_regclass(%s)", (STORE,)).fetchone()[0] is None:
        return None
    row = conn.execute(f"select value from {STORE} where key = 'calibration'").fetchone()
    return Calibration(**row[0]) if row else None


def window_params(start_iso: str) -> Mapping[str, Any]:
    """The calibration window: the dataset's first day."""
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start_iso.replace("Z", "+00:00"))
    return {"start": t0, "end": t0 + timedelta(days=1)}
