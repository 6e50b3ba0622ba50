"""The figures `btb plan` sizes campaigns from, measured on this machine: per dataset, generation and oracle
time, samples and Parquet bytes; per scenario and dataset, engine start, ingest, store bytes on disk (as the ingest reports it, what relative
levels resolve against) and the engines' whole directory (what the disk must hold), counts,
each query's first run (the gate) and warm runs, and the restarts a trial makes (park → resume under a budget,
clean restart + page-cache drop before each cold run). Written to btb/conf/plan_rates.json (the planner's
defaults; a campaign's own earlier ingest records override them).

    XDG_STATE_HOME=/tmp/x BTB_ENGINES_DIR=/var/lib/btb/x python benchmarks/bench_plan_rates.py \
        [--profiles tiny-1d small-1d tiny-1w] [--scenarios P1 P2 F1 F2 O1 O2 D1 D2] [--warm 3] [--out FILE]
    python benchmarks/bench_plan_rates.py --datasets-only --profiles small-1w medium-1w   # merged into FILE

Three datasets so the planner can separate growth with the number of points (tiny-1d → small-1d) from growth
with the span (tiny-1d → tiny-1w). Engines run unlimited on the local provider, one scenario at a time.
`--datasets-only` measures generation and the oracle alone (larger profiles: their fixed costs no longer
dominate) and merges them into the existing file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from btb.config import get_settings
from btb.dataset.answer_store import ensure_answers
from btb.dataset.format import load_bindings
from btb.dataset.generator import generate
from btb.engines.base import QUERY_IDS, RunOptions
from btb.engines.registry import engines_of, scenario_class
from btb.infra.local import LocalProvider

OUT = Path(__file__).resolve().parents[1] / "btb" / "conf" / "plan_rates.json"


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def measure_dataset(profile: str, seed: int, root: Path) -> tuple[Path, dict]:
    out = root / f"{profile}-s{seed}"
    manifest, gen_s = timed(generate, profile, seed, out)
    answers, oracle_s = timed(ensure_answers, out)
    c = manifest.counts
    return out, {"samples": int(c["samples"]), "points": int(c["points"]), "buildings": int(c.get("Building", 1)),
                 "tenants": int(c.get("Tenant", 1)),
                 "days": manifest.days, "parquet_bytes": manifest.bytes, "generate_s": round(gen_s, 4),
                 "oracle_s": round(oracle_s, 4)}


def dir_bytes(path: Path) -> int:
    """Apparent size of every file under `path` (as `du -sb`): the engines' whole footprint on disk — data,
    WAL, catalogs, logs — beside the store size the ingest reports."""
    total = 0
    for top, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(top, f)).st_size
            except OSError:
                pass
    return total


def measure_scenario(provider: LocalProvider, sid: str, path: Path, warm: int) -> dict:
    cls = scenario_class(sid)
    bindings = load_bindings(path)
    run_id = f"planrates-{sid}-{uuid.uuid4().hex[:6]}"
    try:
        started, start_s = timed(provider.start, run_id, tuple(engines_of(sid)), None)
        sc = cls(started.endpoints, RunOptions(timeout_s=120))
        report, ingest_s = timed(sc.ingest, path)
        _, counts_s = timed(sc.counts)
        loaded_dir = dir_bytes(provider._dir(run_id))
        queries = {}
        for qid in QUERY_IDS:
            params = bindings[qid][:2]
            first = [sc.run(qid, p) for p in params]
            runs = [sc.run(qid, p) for p in params for _ in range(warm)]
            bad = [o.status for o in first + runs if o.status != "ok"]
            queries[qid] = {"first_s": round(statistics.median(o.seconds for o in first), 5),
                            "warm_s": round(statistics.median(o.seconds for o in runs), 5),
                            **({"not_ok": bad} if bad else {})}
        sc.close()
        _, park_s = timed(provider.park, run_id)
        parked_dir = dir_bytes(provider._dir(run_id))
        _, resume_s = timed(provider.resume, run_id, None, "scaled")
        restarts = []
        for _ in range(2):
            t0 = time.perf_counter()
            provider.restart(run_id, clean=True)
            provider.drop_cache(run_id)
            restarts.append(time.perf_counter() - t0)
        return {"start_s": round(start_s, 4), "ingest_s": round(ingest_s, 4), "counts_s": round(counts_s, 4),
                "bytes_on_disk": int(report.bytes_on_disk or 0), "backend": report.backend,
                "dir_bytes": max(loaded_dir, parked_dir),
                "park_s": round(park_s, 4), "resume_s": round(resume_s, 4),
                "restart_s": round(statistics.median(restarts), 4), "queries": queries}
    finally:
        provider.stop(run_id)


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profiles", nargs="+", default=["tiny-1d", "small-1d", "tiny-1w"])
    ap.add_argument("--scenarios", nargs="+", default=["P1", "P2", "F1", "F2", "O1", "O2", "D1", "D2"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warm", type=int, default=3, help="warm runs per query and binding (2 bindings)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--datasets-only", action="store_true", help="generation and oracle only, merged into --out")
    a = ap.parse_args()
    if a.datasets_only:
        a.scenarios = []
    settings = get_settings()
    tmp = Path(tempfile.mkdtemp(prefix="btb-planrates-", dir=settings.state_dir if settings.state_dir.exists() else None))
    provider = LocalProvider(settings.engine_root, f"planrates-{uuid.uuid4().hex[:6]}", settings)
    datasets, scenarios = {}, {sid: {} for sid in a.scenarios}
    t_all = time.time()
    try:
        for prof in a.profiles:
            path, datasets[prof] = measure_dataset(prof, a.seed, tmp)
            print(f"{prof}: {datasets[prof]}", flush=True)
            for sid in a.scenarios:
                scenarios[sid][prof] = m = measure_scenario(provider, sid, path, a.warm)
                print(f"  {sid}: ingest {m['ingest_s']:.2f} s, {m['bytes_on_disk'] / 2**20:.1f} MiB (dir {m['dir_bytes'] / 2**20:.1f} MiB), start "
                      f"{m['start_s']:.2f} s, resume {m['resume_s']:.2f} s, restart {m['restart_s']:.2f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.datasets_only:
        doc = json.loads(a.out.read_text())
        doc["datasets_command"] = "python benchmarks/bench_plan_rates.py --datasets-only --profiles " + " ".join(a.profiles)
        doc["datasets"].update({k: v | {"datasets_only": True} for k, v in datasets.items()})
        a.out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"merged {', '.join(datasets)} into {a.out}")
        return
    doc = {"command": "python benchmarks/bench_plan_rates.py " + " ".join(
               ["--profiles", *a.profiles, "--scenarios", *a.scenarios, "--warm", str(a.warm)]),
           "measured": {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "host": socket.gethostname(),
                        "cpus": os.cpu_count(), "git": _git_rev(), "seconds": round(time.time() - t_all, 1),
                        "provider": "local", "pg_timescale": os.environ.get("BTB_PG_TIMESCALE", "auto")},
           "seed": a.seed, "datasets": datasets, "scenarios": scenarios}
    a.out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {a.out} ({doc['measured']['seconds']} s)")


if __name__ == "__main__":
    main()
