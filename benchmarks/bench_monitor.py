"""The monitor's own CPU cost: 4 engines, each a real process in its own real cgroup (btb-test-bench-*),
sampled at 10 Hz and then at 1 Hz. Cost = CPU time of this process / wall time, as % of one core.

    python benchmarks/bench_monitor.py [--seconds 20] [--engines 4] [--source auto|psutil]

Engines are `sleep` processes: the cost of a tick is the files read per target, not what the engine
does. `--source psutil` watches the same processes by pid only (the fallback path), for comparison.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

from btb.cgroups import create_slot
from btb.monitor.sampler import Sampler, Target
from btb.monitor.sources import ORDER


def measure(targets: list[Target], hz: float, seconds: float, order: tuple[str, ...]) -> dict:
    with Sampler(targets, hz=hz, order=order) as s:
        c0, w0 = time.process_time(), time.monotonic()
        rows = s.run(lambda: False, seconds)
        cpu, wall = time.process_time() - c0, time.monotonic() - w0
        sources = sorted({i.source or "none" for i in s.info.values()})
    return {"hz": hz, "wall_s": wall, "cpu_s": cpu, "pct_core": 100 * cpu / wall, "rows": len(rows),
            "ticks_per_s": len(rows) / len(targets) / wall, "sources": sources}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--engines", type=int, default=4)
    ap.add_argument("--source", choices=["auto", "psutil"], default="auto")
    a = ap.parse_args()
    slots, procs = [], []
    try:
        for i in range(a.engines):
            slot = create_slot(f"btb-test-bench-{os.getpid()}-{i}", 256 << 20)
            slots.append(slot)
            procs.append(subprocess.Popen(slot.wrap(["sleep", str(3 * a.seconds + 30)])))
        time.sleep(0.3)
        targets = [Target(f"engine{i}", str(s.memory_dir), (p.pid,))
                   for i, (s, p) in enumerate(zip(slots, procs))]
        print(f"{a.engines} engines, cgroup {slots[0].version}, limit {slots[0].applied_limit}, source {a.source}")
        for hz in (10.0, 1.0):
            r = measure(targets, hz, a.seconds, ("psutil",) if a.source == "psutil" else ORDER)
            print(f"{r['hz']:>5.1f} Hz: monitor CPU {r['cpu_s']:.3f} s over {r['wall_s']:.1f} s wall = "
                  f"{r['pct_core']:.3f} % of one core  ({r['rows']} samples, {r['ticks_per_s']:.2f} ticks/s, "
                  f"sources {r['sources']})")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for s in slots:
            s.remove()


if __name__ == "__main__":
    main()
