"""The load generator's own ceiling on this machine, so every measured rate can be shown below it.

    python benchmarks/bench_loadgen.py [--duration 3] [--open-clients 4] [--rates 1000 2000 ...] [--pg]

1. No-op engine (btb.workload.noop): closed loop, 1 and 4 clients, as threads and as processes: the ops/s
   the harness issues when the engine answers at once (per op: schedule, Scenario.run's bind / timed /
   canonical and watchdog, six histogram records).
2. Open loop against the no-op engine at rising rates: the highest rate at which ≥ 95 % of ops still start
   within the tolerance of schedule (the step is `valid`), threads and processes side by side, with
   `--open-clients` clients (a campaign's `mix.open_clients`: workloads-small.yaml uses 16).
3. With --pg: a real PostgreSQL (started by the local provider) answering `pg_sleep(10 ms)`, closed loop at
   1, 4 and 16 clients as threads and as processes: if psycopg releases the GIL while it waits on the
   socket, threads scale like processes (≈ clients × 100 ops/s) — the measurement behind `clients_as: threads`
   being the default.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Mapping

from btb.engines.base import Answer, IngestReport, Scenario
from btb.workload.noop import NoopScenario
from btb.workload.step import StepPlan, run_step

NOOP = {"scenario": "btb.workload.noop:NoopScenario", "endpoints": {}, "options": {}}
BINDINGS = {"Q1": [{}], "Q6": [{}], "Q12": [{}]}


class PgSleep(Scenario):
    """Every query is `select pg_sleep(0.01)`: 10 ms of waiting on the socket, no work on the client."""

    id = "pgsleep"
    engines = ("postgres",)

    def __init__(self, endpoints, options=None):
        import psycopg

        super().__init__(endpoints, options)
        self._c = psycopg.connect(self.endpoints["postgres"].dsn, autocommit=True)

    def ingest(self, dataset_dir) -> IngestReport:
        return IngestReport(0.0, {}, 0, "none")

    def counts(self) -> dict[str, int]:
        return {}

    def execute(self, qid: str, params: Mapping[str, Any]) -> Answer:
        self._c.execute("select pg_sleep(0.01)")
        return Answer([])

    def close(self) -> None:
        self._c.close()
        super().close()


def step(loop: str, clients: int, rate: float | None, how: str, duration: float, make, spawn) -> dict:
    plan = StepPlan("mix", loop, clients, rate, 0, seed=1, burn_in_s=0.5, duration_s=duration, drain_s=1.0,
                    tolerance_s=0.05, on_schedule=0.95, weights={"Q1": 1, "Q6": 1, "Q12": 1}, bindings=BINDINGS,
                    clients_as=how)
    return run_step(plan, make, spawn)


def line(what: str, r: dict) -> str:
    s = r["summary"]
    p99 = s["response"]["p99"]
    return (f"{what:34} achieved {r['achieved_ops_s']:9.0f} ops/s  {r['verdict']:12} on-schedule "
            f"{100 * r['on_schedule_share']:5.1f} %  lag p99 {1e3 * (s['lag']['p99'] or 0):7.2f} ms  response p99 "
            f"{'—' if p99 is None else f'{1e3 * p99:7.2f} ms'}  client cores {r['client_cores'] or 0:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--rates", type=float, nargs="*", default=[1000, 2000, 5000, 10000, 20000])
    ap.add_argument("--open-clients", type=int, default=4, help="clients of the open-loop steps")
    ap.add_argument("--pg", action="store_true", help="also threads vs processes against a real PostgreSQL")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} logical CPUs; window {a.duration:g} s per step after 0.5 s burn-in")
    make = lambda: NoopScenario({})  # noqa: E731
    print("— closed loop, no-op engine")
    for how in ("threads", "processes"):
        for c in (1, 4):
            print(line(f"closed {c} client(s) {how}", step("closed", c, None, how, a.duration, make, NOOP)), flush=True)
    print(f"— open loop, no-op engine ({a.open_clients} clients)")
    for how in ("threads", "processes"):
        for rate in a.rates:
            r = step("open", a.open_clients, rate, how, a.duration, make, NOOP)
            print(line(f"open {rate:g}/s {how}", r), flush=True)
    if a.pg:
        pg_side(a.duration)


def pg_side(duration: float) -> None:
    from btb.infra.local import LocalProvider

    root = Path(tempfile.mkdtemp(prefix="btb-bench-loadgen-"))
    root.chmod(0o755)
    provider = LocalProvider(root, "benchloadgen")
    tid = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        ep = provider.start(tid, ("postgres",), None).endpoints["postgres"]
        from dataclasses import asdict

        os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
        spawn = {"scenario": "bench_loadgen:PgSleep", "endpoints": {"postgres": asdict(ep)}, "options": {}}
        print("— closed loop, PostgreSQL pg_sleep(10 ms): does the GIL hold threads back?")
        for c in (1, 4, 16):
            for how in ("threads", "processes"):
                r = step("closed", c, None, how, duration, lambda: PgSleep({"postgres": ep}), spawn)
                print(line(f"closed {c} client(s) {how}", r), flush=True)
    finally:
        provider.stop(tid)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
