"""Where the federation's two transfer paths cross, measured on the node's own engine when a hybrid is loaded.

Below the crossing the ids travel as array parameters (`ANY`: no round trip before the statement), above it
through the session table (`fed` + COPY + ANALYZE: a fixed cost of a few round trips, then a join the planner
sizes from statistics). Where they cross depends on the engine, its settings, the machine and the data, so it
is measured, not assumed: the same join of ids with `ts` over one day of the dataset, for contiguous ids and
for ids spread evenly over the points (a building's or a class's points are spread among a dataset's), at
sizes growing 4x up to every point. Each size: a warm-up pair, then interleaved rounds (both paths a round,
the order alternating; as many rounds as fit in `SIZE_SECONDS`, at least `reps`, at most `MAX_ROUNDS`; the
garbage collector off meanwhile, as in timeit), each round giving one time of each. `fed_crossing.read` turns
them (the median of the rounds' ratios) into a threshold, the band where
either path is right to within 5 %, and a status; the size between the two around the crossing is measured
too (4x steps become 2x there), and sizes whose verdict contradicts the crossing are measured once more
before the reading is final. Stored in the series database (`btb_federation`), so every later session of the
load (every trial, after restarts) uses it, and returned for the ingest report.
"""

from __future__ import annotations

import gc
import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import psycopg

from btb.engines import fed_crossing

STORE = "btb_federation"
SIZES = (16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576)
REPS = 9  # rounds at least, per size
MAX_ROUNDS = 101
SIZE_SECONDS = 0.6  # rounds per size: as many as take about this long, within [reps, MAX_ROUNDS]
# The calibration statement: one join of the ids with ts over a window, the shape of Q6/Q7's series part.
JOIN_SQL = ("SELECT count(*), sum(t.value) FROM fed f JOIN ts t ON t.point_id = f.idx "
            "WHERE t.time >= %(start)s AND t.time < %(end)s")


LAYOUTS = ("contiguous", "scattered")
DENSE_SPAN = 2  # ids whose range is at most this many times their number count as contiguous (`path_for`)


@dataclass
class Calibration:
    """The measured crossings, per id layout: from `thresholds[layout]` ids on, the temp table; None: ANY was
    not clearly slower up to the largest size measured. Contiguous ids cross earlier (the planner, knowing
    their range from `fed`'s statistics, merge-joins a short stretch of the `ts` index), so the layout of an
    id set decides between the two thresholds; it is looked at only between them (`path_for`). Per layout
    and size measured: the median runs of both paths (ms), the median of the rounds' ratios temp / any with its 95 % interval,
    the rounds; the band (ids) where the paths are within 5 %; the status of the reading."""

    thresholds: dict[str, int | None]
    points: int
    sizes: dict[str, list[int]] = field(default_factory=dict)
    any_ms: dict[str, list[float]] = field(default_factory=dict)  # median run per size, per layout
    temp_ms: dict[str, list[float]] = field(default_factory=dict)
    ratio: dict[str, list[float]] = field(default_factory=dict)
    ratio_ci: dict[str, list[list[float]]] = field(default_factory=dict)
    rounds: dict[str, list[int]] = field(default_factory=dict)
    band: dict[str, list[float | None]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    reps: int = REPS
    clock: str = "wall"  # what a run's time is: "wall", or "wall - run-queue waits" (`run_queue_clock`)
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


def _same(a: Any, b: Any) -> bool:
    """Equal answers, floats to 1e-9 relative (a sum's order of addition differs between plans)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@dataclass
class Timed:
    """One size's interleaved rounds: ms per path."""

    any_ms: list[float] = field(default_factory=list)
    temp_ms: list[float] = field(default_factory=list)


Queued = Callable[[], float]  # seconds our processes have waited for a CPU so far (`run_queue_clock`)


def run_queue_clock(conn: psycopg.Connection) -> Queued | None:
    """Where the session's backend runs on this host (its /proc entry is a postgres process of this user and
    database): a clock of the run-queue waits of this thread and that backend (/proc/<pid>/schedstat, 2nd
    field, ns), the time other jobs took from a run; None elsewhere (a container's own pid space, no
    schedstat). Not used by a load's calibration: measured in a 1M-point run, the fastest of "wall - waits"
    read 0.02-0.1 ms at 1k-4k ids (waits over-subtracted), so its statistic stays on wall clock."""
    pid = conn.info.backend_pid
    paths = ("/proc/thread-self/schedstat", f"/proc/{pid}/schedstat")
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        for path in paths:
            int(open(path).read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    if not cmd.startswith("postgres:") or conn.info.user not in cmd or conn.info.dbname not in cmd:
        return None

    def clock() -> float:
        total = 0
        for path in paths:
            with open(path) as f:
                total += int(f.read().split()[1])
        return total / 1e9

    return clock


def _pair(run: Callable[[str, np.ndarray], Any], ids: np.ndarray, first: str, queued: Queued | None = None
          ) -> dict[str, float]:
    """One round: both paths on `ids`, `first` first; their ms (less the run-queue waits, with `queued`);
    the answers checked equal."""
    out, answers = {}, []
    for path in (first, "any" if first == "temp_table" else "temp_table"):
        q = queued() if queued else 0.0
        t = time.perf_counter()
        answers.append(run(path, ids))
        wall = time.perf_counter() - t
        waited = queued() - q if queued else 0.0
        out[path] = max(wall - waited, wall * 0.01) * 1000
    if not _same(answers[0], answers[1]):
        raise RuntimeError(f"federation calibration: the two paths answer differently at {len(ids)} ids: {answers}")
    return out


def _time(run: Callable[[str, np.ndarray], Any], ids: np.ndarray, reps: int, into: Timed | None = None,
          queued: Queued | None = None) -> Timed:
    """A warm-up pair, then interleaved rounds (the order alternating): as many as take about SIZE_SECONDS
    by the warm-up's time, within [reps, MAX_ROUNDS]; added to `into` when given (a re-measurement)."""
    got = into if into is not None else Timed()
    warm = _pair(run, ids, "temp_table", queued)
    rounds = min(MAX_ROUNDS, max(reps, int(SIZE_SECONDS * 1000 / max(sum(warm.values()), 1e-3))))
    rounds += rounds % 2  # as many rounds with each path first
    was_on = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for rep in range(rounds):
            ms = _pair(run, ids, "any" if rep % 2 else "temp_table", queued)
            got.any_ms.append(ms["any"])
            got.temp_ms.append(ms["temp_table"])
    finally:
        if was_on:
            gc.enable()
    return got


def _ladder(layout: str, run, points: int, ladder: Sequence[int], reps: int, queued: Queued | None
            ) -> dict[int, Timed]:
    """The sizes of `ladder` in order, until the temp table has clearly won two sizes in a row."""
    timed: dict[int, Timed] = {}
    wins = 0
    for n in ladder:
        timed[n] = _time(run, layout_ids(layout, n, points), reps, queued=queued)
        lo, _, hi = fed_crossing.paired_ratio_ci(timed[n].temp_ms, timed[n].any_ms)
        wins = wins + 1 if fed_crossing.verdict(lo, hi) == "temp" else 0
        if wins >= 2:
            break
    return timed


def _reading(timed: Mapping[int, Timed]) -> tuple[list[int], fed_crossing.Reading]:
    sizes = sorted(timed)
    return sizes, fed_crossing.read(sizes, [(timed[n].any_ms, timed[n].temp_ms) for n in sizes])


def calibrate_layout(layout: str, run, points: int, ladder: Sequence[int], reps: int, queued: Queued | None = None
                     ) -> tuple[dict[int, Timed], fed_crossing.Reading]:
    """One layout: the ladder; the size between the two around the crossing; the wrong-side sizes again."""
    timed = _ladder(layout, run, points, ladder, reps, queued)
    sizes, r = _reading(timed)
    if r.threshold is not None:
        above = next((i for i, n in enumerate(sizes) if n >= r.threshold), None)
        if above:
            mid = int(round(math.sqrt(sizes[above - 1] * sizes[above])))
            if sizes[above] / sizes[above - 1] > 2.5 and mid not in timed:
                timed[mid] = _time(run, layout_ids(layout, mid, points), reps, queued=queued)
                sizes, r = _reading(timed)
    if r.wrong_side:
        for n in r.wrong_side:
            _time(run, layout_ids(layout, n, points), reps, into=timed[n], queued=queued)
        sizes, r = _reading(timed)
    return timed, r


def calibrate(points: int, run: Callable[[str, np.ndarray], Any], sizes: Sequence[int] = SIZES,
              reps: int = REPS, queued: Queued | None = None) -> Calibration:
    """Time `run(path, ids)` ("any" / "temp_table": the same statement and answer) for each layout at
    `sizes` up to `points` (the last size is every point); each size's rounds together (its pages warm, as
    in a run of like queries). With `queued` (`run_queue_clock`) a run's time is its wall clock less the
    run-queue waits of client and backend during it: what the path costs, not what other jobs took."""
    t_start = time.perf_counter()
    ladder = sorted({s for s in sizes if s < points} | {points})
    out = Calibration({}, points, reps=reps, clock="wall - run-queue waits" if queued else "wall")
    for layout in LAYOUTS:
        timed, r = calibrate_layout(layout, run, points, ladder, reps, queued)
        ns = sorted(timed)
        out.thresholds[layout] = r.threshold
        out.sizes[layout] = ns
        out.any_ms[layout] = [round(fed_crossing.low(timed[n].any_ms, 0.5), 4) for n in ns]
        out.temp_ms[layout] = [round(fed_crossing.low(timed[n].temp_ms, 0.5), 4) for n in ns]
        out.ratio[layout] = [round(x, 4) for x in r.ratio]
        out.ratio_ci[layout] = [[round(lo, 4), round(hi, 4)] for lo, hi in r.ratio_ci]
        out.rounds[layout] = [len(timed[n].any_ms) for n in ns]
        out.band[layout] = [None if b is None else round(b) for b in r.band]
        out.status[layout] = r.status
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
