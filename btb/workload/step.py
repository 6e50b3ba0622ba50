"""One load step: its plan (what to run, how long, how fast), its clients, and the record it leaves.

A step is (workload, loop, clients or rate): burn-in, then a recorded window of `duration_s`. Its record
holds the merged histograms (encoded, so steps merge again across repetitions without averaging
percentiles), their summaries, the error rate, the achieved throughput, the clients' lag and CPU, and
the verdict: `valid`, or `client-bound` when fewer than `on_schedule` of its ops started on schedule.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from btb.workload import hdr
from btb.workload.loop import Tally, Window, run_threads
from btb.workload.schedule import ClosedSource, OpenSource, Picker, SessionSource, arrivals, rng_for



@dataclass
class StepPlan:
    workload: str  # "mix" | "sessions"
    loop: str  # "open" | "closed"
    clients: int
    rate: float | None
    index: int
    seed: int
    burn_in_s: float
    duration_s: float
    drain_s: float
    tolerance_s: float
    on_schedule: float
    arrival: str = "uniform"
    weights: dict = field(default_factory=dict)
    session: dict = field(default_factory=dict)
    bindings: dict = field(default_factory=dict)
    clients_as: str = "threads"
    expect_rows: dict = field(default_factory=dict)  # "Q6/0" -> rows the load's answer gate accepted

    @property
    def label(self) -> str:
        if self.loop == "sessions":
            return f"sessions {self.clients} operator{'s' if self.clients > 1 else ''}"
        load = f"rate {self.rate:g}/s" if self.loop == "open" else f"{self.clients} client{'s' if self.clients > 1 else ''}"
        return f"{self.workload} {self.loop} {load}"

    def window(self, t0: float) -> Window:
        start = t0 + self.burn_in_s
        return Window(start, start + self.duration_s, start + self.duration_s + self.drain_s, self.tolerance_s)


def sources(plan: StepPlan, t0: float, only: int | None = None) -> list:
    """The clients' op sources (all, or client `only`'s), deterministic from (seed, step, client)."""
    from btb.workload.spec import SessionSpec

    horizon = plan.burn_in_s + plan.duration_s
    offsets = arrivals(plan.rate, horizon, plan.arrival, plan.seed, plan.index) if plan.loop == "open" else None
    out = []
    for k in range(plan.clients) if only is None else [only]:
        rng = rng_for(plan.seed, plan.index, k)
        if plan.workload == "sessions":
            spec = SessionSpec.model_validate(plan.session)
            weights = {q: 1.0 for q in spec.dashboard + spec.interactive}
            missing = [q for q in weights if not plan.bindings.get(q)]
            if missing:
                raise ValueError(f"sessions: {missing} have no binding in this dataset")
            out.append(SessionSource(t0, spec, Picker(weights, plan.bindings, rng), k, plan.clients, rng))
        elif plan.loop == "open":
            out.append(OpenSource(t0, offsets, Picker(plan.weights, plan.bindings, rng), k, plan.clients))
        else:
            out.append(ClosedSource(Picker(plan.weights, plan.bindings, rng)))
    return out


def run_step(plan: StepPlan, make_scenario: Callable[[], object], spawn: dict | None = None) -> dict:
    """Run the step on this node and return its record. `spawn` ({scenario, endpoints, options}) is what a
    client process needs to build its own scenario; with clients_as threads it is unused."""
    wall0 = time.time()
    if plan.clients_as == "processes":
        if spawn is None:
            raise ValueError("clients_as: processes needs the scenario's spawn description")
        tally, cpu = _run_processes(plan, spawn)
    else:
        scenarios = [make_scenario() for _ in range(plan.clients)]  # connected before t0, as processes are
        t0 = time.monotonic() + 0.1
        tally, cpu = run_threads(scenarios, sources(plan, t0), plan.window(t0), t0, plan.expect_rows)
    return step_record(plan, tally, cpu, wall0, time.time())


def _run_processes(plan: StepPlan, spawn: dict) -> tuple[Tally, dict]:
    """One process per client. Each builds its scenario and says `ready`; the step's t0 is set once all are,
    so process start-up (importing btb, connecting) never eats into the burn-in or the window."""
    job = json.dumps({"plan": asdict(plan)} | spawn)
    procs = []
    for k in range(plan.clients):
        p = subprocess.Popen([sys.executable, "-m", "btb.workload.client"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        p.stdin.write(json.dumps(json.loads(job) | {"k": k}) + "\n")
        p.stdin.flush()
        procs.append(p)
    died: list[str] = []
    for p in procs:
        if p.stdout.readline().strip() != "ready":
            died.append(f"client process {p.pid} did not start: {p.stderr.read()[-300:]}")
    t0 = time.monotonic() + 0.2
    for p in procs:
        try:
            p.stdin.write(f"{t0!r}\n")
            p.stdin.close()
        except OSError:
            pass
    merged, cpu = Tally(), 0.0
    limit = plan.burn_in_s + plan.duration_s + plan.drain_s + 120
    for p in procs:
        try:
            out = p.stdout.read()
            p.wait(timeout=limit)
            got = json.loads(out.strip().splitlines()[-1])
            merged.merge(Tally.from_json(got["tally"]))
            cpu += got["cpu_s"]
        except Exception as e:  # noqa: BLE001 - a client process that died is reported, not hidden
            p.kill()
            died.append(f"client process {p.pid}: {type(e).__name__}: {e}; {p.stderr.read()[-300:]}")
    return merged, {"process_cpu_s": cpu, "wall_s": time.monotonic() - t0, "clients_died": died}


def step_record(plan: StepPlan, t: Tally, cpu: dict, wall0: float, wall1: float) -> dict:
    measured = t.measured
    ok = t.statuses.get("ok", 0)
    share = t.on_schedule / measured if measured else 0.0
    valid = bool(measured) and share >= plan.on_schedule and not cpu["clients_died"]
    why = ("" if valid else "no op completed in the window" if not measured else
           f"client processes died: {cpu['clients_died'][0]}" if cpu["clients_died"] else
           f"{100 * share:.1f} % of ops started within {1000 * plan.tolerance_s:g} ms of schedule "
           f"(< {100 * plan.on_schedule:g} %): the load generator, not the engine, set the pace")
    return {
        "kind": "load_step", "workload": plan.workload, "loop": plan.loop, "clients": plan.clients,
        "rate": plan.rate, "step": plan.index, "label": plan.label, "t_start": wall0, "t_end": wall1,
        "burn_in_s": plan.burn_in_s, "duration_s": plan.duration_s, "arrival": plan.arrival,
        "clients_as": plan.clients_as, "ops": measured, "ok": ok, "missed": t.missed,
        "statuses": t.statuses, "issued": t.issued, "skipped_refreshes": t.skipped_refreshes,
        "error_rate": (measured - ok + t.missed) / (measured + t.missed) if measured + t.missed else None,
        "achieved_ops_s": ok / plan.duration_s,
        "response": hdr.encode(t.response), "service": hdr.encode(t.service), "lag": hdr.encode(t.lag),
        "per_query": {q: [hdr.encode(r), hdr.encode(s)] for q, (r, s) in sorted(t.per_query.items())},
        "summary": {"response": hdr.summary(t.response), "service": hdr.summary(t.service),
                    "lag": hdr.summary(t.lag)},
        "on_schedule_share": share, "tolerance_ms": 1000 * plan.tolerance_s, "valid": valid,
        "verdict": "valid" if valid else "client-bound", "why": why,
        "client_cpu_s": t.cpu_s, "process_cpu_s": cpu["process_cpu_s"],
        "client_cores": cpu["process_cpu_s"] / cpu["wall_s"] if cpu["wall_s"] else None,
        "messages": t.messages,
    }
