"""One client's loop and one timed step of C clients (threads, or one process per client).

A client waits until its next op is due, runs it through `Scenario.run` (only the scenario's timed
window is service time: the harness's bind and canonical work is not), and records, for ops due inside
the step's window (after the burn-in):
- service time: the scenario's timed window;
- response time: actual start − intended start + service time (what the user waited: queueing included);
- client lag: actual start − the start an ideal client would have made: one with the same service
  times and no time of its own between ops (its op starts at max(intended, its previous ideal start +
  service)). Lag is therefore the load generator's own lateness, cumulated (bind and canonical work,
  sleep precision, GIL, CPU); waiting for the engine to finish the previous op is not lag, it is the
  engine's queue and belongs to the response time. The step is valid only if ≥ `on_schedule` of ops
  have lag ≤ tolerance; otherwise the step is client-bound and its figures are not the engine's.
Ops due in the window but not started before the window's end + drain are counted as `missed`.
"""

from __future__ import annotations

import resource
import threading
import time
from dataclasses import dataclass, field

from btb.workload import hdr
from btb.workload.schedule import Source


@dataclass
class Window:
    start: float  # monotonic: recording starts (after burn-in)
    end: float  # no op due at or after this is issued
    deadline: float  # no op is started after this (end + drain)
    tolerance_s: float


@dataclass
class Tally:
    """What one client (or, merged, one step) measured."""

    response: object = field(default_factory=hdr.histogram)
    service: object = field(default_factory=hdr.histogram)
    lag: object = field(default_factory=hdr.histogram)
    per_query: dict = field(default_factory=dict)  # qid -> (response, service) histograms
    statuses: dict = field(default_factory=dict)
    on_schedule: int = 0
    missed: int = 0
    skipped_refreshes: int = 0
    issued: int = 0  # every op started, burn-in included
    cpu_s: float = 0.0  # the clients' own CPU (thread or process time)
    messages: list = field(default_factory=list)

    def add(self, qid: str, status: str, response_s: float, service_s: float, lag_s: float, tol: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        hdr.record(self.lag, lag_s)
        self.on_schedule += lag_s <= tol
        if status != "ok":
            return
        hdr.record(self.response, response_s)
        hdr.record(self.service, service_s)
        r, s = self.per_query.setdefault(qid, (hdr.histogram(), hdr.histogram()))
        hdr.record(r, response_s)
        hdr.record(s, service_s)

    @property
    def measured(self) -> int:
        return sum(self.statuses.values())

    def merge(self, other: "Tally") -> None:
        for a, b in ((self.response, other.response), (self.service, other.service), (self.lag, other.lag)):
            a.add(b)
        for q, (r, s) in other.per_query.items():
            mine = self.per_query.setdefault(q, (hdr.histogram(), hdr.histogram()))
            mine[0].add(r)
            mine[1].add(s)
        for k, v in other.statuses.items():
            self.statuses[k] = self.statuses.get(k, 0) + v
        self.on_schedule += other.on_schedule
        self.missed += other.missed
        self.skipped_refreshes += other.skipped_refreshes
        self.issued += other.issued
        self.cpu_s += other.cpu_s
        self.messages = (self.messages + other.messages)[:5]

    def to_json(self) -> dict:
        return {"response": hdr.encode(self.response), "service": hdr.encode(self.service), "lag": hdr.encode(self.lag),
                "per_query": {q: [hdr.encode(r), hdr.encode(s)] for q, (r, s) in self.per_query.items()},
                "statuses": self.statuses, "on_schedule": self.on_schedule, "missed": self.missed,
                "skipped_refreshes": self.skipped_refreshes, "issued": self.issued, "cpu_s": self.cpu_s,
                "messages": self.messages}

    @classmethod
    def from_json(cls, d: dict) -> "Tally":
        t = cls(hdr.decode(d["response"]), hdr.decode(d["service"]), hdr.decode(d["lag"]),
                {q: (hdr.decode(r), hdr.decode(s)) for q, (r, s) in d["per_query"].items()})
        for k in ("statuses", "on_schedule", "missed", "skipped_refreshes", "issued", "cpu_s", "messages"):
            setattr(t, k, d[k])
        return t


def run_client(scenario, source: Source, w: Window, free: float, expect: dict | None = None) -> Tally:
    """Issue `source`'s ops against `scenario` until the window ends; `free` is when the client may start.
    `expect` ("Q6/0" -> rows) holds answers to what the load's gate validated: another row count is `invalid`."""
    t = Tally()
    cpu0 = time.thread_time()
    ideal_free = free
    while True:
        op = source.next(free)
        if op is None or op.intended >= w.end:
            break
        now = time.monotonic()
        if now >= w.deadline:
            t.missed += source.left(w.start, w.end)
            break
        if op.intended > now:
            time.sleep(op.intended - now)
        start = time.monotonic()
        out = scenario.run(op.qid, op.params)
        ideal = max(op.intended, ideal_free)
        free, ideal_free = start + out.seconds, ideal + out.seconds  # completions: this client's, the ideal one's
        intended = op.intended if op.paced else start  # closed loop: response time is service time
        t.issued += 1
        status = out.status
        want = (expect or {}).get(f"{op.qid}/{op.binding}")
        if status == "ok" and want is not None and len(out.rows or []) != want:
            status, out.message = "invalid", f"{len(out.rows or [])} rows, the load's validated answer had {want}"
        if op.intended >= w.start:
            t.add(op.qid, status, start - intended + out.seconds, out.seconds, start - ideal, w.tolerance_s)
            if status != "ok" and len(t.messages) < 5:
                t.messages.append(f"{op.qid}: {status}: {out.message}"[:300])
    t.skipped_refreshes = getattr(source, "skipped", 0)
    t.cpu_s = time.thread_time() - cpu0
    return t


def run_threads(scenarios: list, sources: list[Source], w: Window, t0: float,
                expect: dict | None = None) -> tuple[Tally, dict]:
    """Every source on its own thread with its own scenario instance (own connections), closed at the end;
    the tallies merged. Returns (tally, process CPU figures of the step: harness threads included)."""
    tallies: list[Tally | BaseException] = [Tally() for _ in sources]

    def one(i: int) -> None:
        try:
            tallies[i] = run_client(scenarios[i], sources[i], w, t0, expect)
        except BaseException as e:  # noqa: BLE001 - a client that dies is reported, the others go on
            tallies[i] = e

    ru0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    threads = [threading.Thread(target=one, args=(i,), name=f"btb-client-{i}", daemon=True) for i in range(len(sources))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ru1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    for s in scenarios:
        s.close()
    merged, died = Tally(), []
    for x in tallies:
        if isinstance(x, BaseException):
            died.append(f"{type(x).__name__}: {x}"[:300])
        else:
            merged.merge(x)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return merged, {"process_cpu_s": cpu, "wall_s": wall1 - wall0, "clients_died": died}
