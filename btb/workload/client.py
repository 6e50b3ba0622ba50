"""One load client as its own process (`clients_as: processes`): reads its job (JSON) on stdin, builds its
scenario and its op source exactly as a thread would, runs the step, prints its tally (JSON) on stdout.

Processes sidestep the GIL for paradigms whose client-side work is Python (decoding chunk samples); the
job names the scenario class and its endpoints, so the child needs nothing but btb installed.
"""

from __future__ import annotations

import json
import resource
import sys

from btb.engines.base import Endpoint, RunOptions
from btb.engines.registry import load, scenario_class
from btb.workload.loop import run_client
from btb.workload.step import StepPlan, sources


def main() -> None:
    """Job line in → "ready" out (scenario built, btb imported) → the step's t0 line in → tally out."""
    job = json.loads(sys.stdin.readline())
    plan = StepPlan(**job["plan"])
    ref = job["scenario"]
    cls = load(ref) if ":" in ref else scenario_class(ref)
    endpoints = {k: Endpoint(**e) for k, e in job["endpoints"].items()}
    scenario = cls(endpoints, RunOptions(**job["options"]))
    print("ready", flush=True)
    t0 = float(sys.stdin.readline())
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru0.ru_utime + ru0.ru_stime
    try:
        tally = run_client(scenario, sources(plan, t0, only=job["k"])[0], plan.window(t0), t0, plan.expect_rows)
    finally:
        scenario.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime - cpu0  # the step's CPU, start-up (imports, connecting) left out
    print(json.dumps({"tally": tally.to_json(), "cpu_s": cpu}))


if __name__ == "__main__":
    main()
