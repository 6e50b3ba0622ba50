"""What each client issues and when it is due: the seeded query sequence and the intended start times.

A client asks its `Source` for the next operation given the time it became free; the source answers with
the query, its binding and the op's *intended* start. Open loop: due times are fixed in advance at the
offered rate (op i of the step is client i mod C's), whatever the engine does. Closed loop: the next op is
due the moment the previous one completes. Sessions: an operator's dashboard is due on a refresh grid
and drill-down queries after a think time. Everything is deterministic from (seed, step, client), so a
client process rebuilds exactly the schedule a thread would have run.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Op:
    qid: str
    binding: int
    params: dict
    intended: float  # monotonic seconds
    kind: str = "query"  # "query", "refresh" (a dashboard panel), "interactive"
    paced: bool = True  # False in a closed loop: no schedule, the op is due when its client sends it


class Picker:
    """Draws (query, binding) by weight: the seeded sequence of a mix."""

    def __init__(self, weights: dict[str, float], bindings: dict[str, list[dict]], rng: np.random.Generator):
        self.qids = [q for q in weights if bindings.get(q)]
        if not self.qids:
            raise ValueError("workload: no query of the mix has a binding in this dataset")
        w = np.cumsum([weights[q] for q in self.qids], dtype=float)
        self.cum = (w / w[-1]).tolist()
        self.bindings, self.rng = bindings, rng

    def pick(self, qid: str | None = None) -> tuple[str, int, dict]:
        """Two uniform draws per op (bisect on the cumulative weights: a few µs, not numpy's choice)."""
        u, v = self.rng.random(2)
        q = qid or self.qids[min(bisect.bisect_right(self.cum, u), len(self.qids) - 1)]
        bi = int(v * len(self.bindings[q]))
        return q, bi, self.bindings[q][bi]


ARRIVALS_STREAM = 2**20  # the arrival times' own random stream, apart from every client's (0..255)


def rng_for(seed: int, step: int, client: int) -> np.random.Generator:
    return np.random.default_rng([seed, step, client])


def arrivals(rate: float, horizon_s: float, arrival: str, seed: int, step: int) -> np.ndarray:
    """Intended start offsets (s from the step's start) of every op of an open-loop step."""
    if arrival == "uniform":
        return np.arange(int(math.ceil(rate * horizon_s))) / rate
    rng = rng_for(seed, step, ARRIVALS_STREAM)
    n = int(rate * horizon_s * 1.2 + 10 * math.sqrt(rate * horizon_s) + 10)
    t = np.cumsum(rng.exponential(1.0 / rate, n))
    return t[t < horizon_s]


class Source(Protocol):
    def next(self, free: float) -> Op | None: ...

    def left(self, start: float, end: float) -> int: ...


@dataclass
class OpenSource:
    """Client k of C: ops k, k+C, k+2C, … of the step's arrival schedule."""

    t0: float
    offsets: np.ndarray
    picker: Picker
    k: int
    clients: int
    _i: int = -1

    def __post_init__(self):
        self._i = self.k - self.clients

    def next(self, free: float) -> Op | None:
        self._i += self.clients
        if self._i >= len(self.offsets):
            return None
        q, bi, params = self.picker.pick()
        return Op(q, bi, params, self.t0 + float(self.offsets[self._i]))

    def left(self, start: float, end: float) -> int:
        """Ops of this client not started (the current one included) that were due in [start, end)."""
        mine = self.offsets[self._i::self.clients] + self.t0
        return int(np.count_nonzero((mine >= start) & (mine < end)))


@dataclass
class ClosedSource:
    """The next op is due when the previous one completes (no think time)."""

    picker: Picker

    def next(self, free: float) -> Op | None:
        q, bi, params = self.picker.pick()
        return Op(q, bi, params, free, paced=False)

    def left(self, start: float, end: float) -> int:
        return 0


@dataclass
class SessionSource:
    """One operator: the dashboard's panels are due on a refresh grid (staggered across operators) and run
    one after another; between refreshes the operator cycles through interactive queries, each due a
    think time (exponential, seeded) after the previous answer. A refresh the operator could not start
    before the next one fell due is skipped and counted: a dashboard does not queue refreshes."""

    t0: float
    spec: Any  # btb.workload.spec.SessionSpec
    picker: Picker
    k: int
    operators: int
    rng: np.random.Generator
    skipped: int = 0
    _panels: list = field(default_factory=list)
    _due: float = 0.0
    _cursor: int = 0
    _first: bool = True

    def __post_init__(self):
        self._due = self.t0 + self.spec.refresh_s * self.k / self.operators

    def next(self, free: float) -> Op | None:
        if self._panels:
            q = self._panels.pop(0)
            return self._op(q, free, "refresh")
        think = float(self.rng.exponential(self.spec.think_s)) if self.spec.think_s > 0 else 0.0
        interactive_due = free + think if not self._first else self._due + self.spec.refresh_s / 2
        self._first = False
        if self.spec.dashboard and (self._due <= interactive_due or not self.spec.interactive):
            late = int((free - self._due) // self.spec.refresh_s) if free > self._due else 0
            self.skipped += late
            due = self._due + late * self.spec.refresh_s
            self._due = due + self.spec.refresh_s
            self._panels = list(self.spec.dashboard)
            return self._op(self._panels.pop(0), due, "refresh")
        q = self.spec.interactive[self._cursor % len(self.spec.interactive)]
        self._cursor += 1
        return self._op(q, interactive_due, "interactive")

    def _op(self, qid: str, intended: float, kind: str) -> Op:
        q, bi, params = self.picker.pick(qid)
        return Op(q, bi, params, intended, kind)

    def left(self, start: float, end: float) -> int:
        return 0
