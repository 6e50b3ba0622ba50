"""Generator throughput: samples/s for small-1w and medium-1w (series + files written), and peak RSS.

Each profile runs in a fresh child process (so peak RSS is that run's alone) writing into a temporary
directory, which is deleted afterwards. The machine may be shared: numbers are noisy, so each profile
is run `--repeat` times and every run is printed; CPU seconds show how much of a wall second we got.

    python benchmarks/bench_generator.py [--profiles small-1w medium-1w] [--repeat 3] [--threads 2] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from btb.dataset.generator import generate
profile, seed, out, threads = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
def cpu():  # this process and its waited-for children (the generator forks one for the binding draw)
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                                        resource.RUSAGE_CHILDREN)))
c0 = cpu()
t0 = time.perf_counter()
m = generate(profile, seed, out, threads=threads)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "cpu": cpu() - c0,
                  "samples": m.counts["samples"], "points": m.counts["points"], "bytes": m.bytes,
                  "series_s": m.generator["series_s"], "structure_s": m.generator["structure_s"]}))
"""


def run_one(profile: str, seed: int, threads: int, parent: str) -> dict:
    """Generate in a child process. Peak RSS comes from wait4() on that child alone (RUSAGE_CHILDREN
    would report the maximum over every child so far)."""
    with tempfile.TemporaryDirectory(dir=parent, prefix="btb-bench-") as tmp:
        cmd = [sys.executable, "-c", CHILD, profile, str(seed), os.path.join(tmp, "ds"), str(threads)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _, status, ru = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"{profile}: child failed with status {status}")
        res = json.loads(out.strip().splitlines()[-1])
        res["peak_rss_mib"] = ru.ru_maxrss / 1024  # Linux: KiB
        return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", nargs="+", default=["small-1w", "medium-1w"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the temporary datasets are written")
    a = ap.parse_args()
    print(f"# cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f} threads={a.threads} dir={a.dir}")
    print(f"{'profile':<11} {'run':>3} {'samples':>12} {'wall_s':>7} {'cpu_s':>6} {'M samples/s':>11} "
          f"{'series M/s':>10} {'peak_rss_MiB':>12} {'MiB':>7}")
    for profile in a.profiles:
        rates = []
        for r in range(a.repeat):
            x = run_one(profile, a.seed, a.threads, a.dir)
            rate = x["samples"] / x["wall"] / 1e6
            rates.append(rate)
            print(f"{profile:<11} {r + 1:>3} {x['samples']:>12,} {x['wall']:>7.2f} {x['cpu']:>6.2f} {rate:>11.1f} "
                  f"{x['samples'] / x['series_s'] / 1e6:>10.1f} {x['peak_rss_mib']:>12.0f} {x['bytes'] / 2**20:>7.0f}")
        print(f"{profile:<11} best {max(rates):.1f} M samples/s, median {sorted(rates)[len(rates) // 2]:.1f}"
              f" (load now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
