"""Reducing one trial must not cost more in a big campaign than in a small one (issue 13).

Fills a scratch Redis ledger with N trials of realistic size (13 queries × 5 bindings × 31 runs of run
records, plus 10 Hz samples for the trial's duration), then times `reduce_trial` of one trial with the
ledger holding 1 trial vs 500 trials, interleaved, and prints the medians and their ratio (target ≤ 1.5).

    python benchmarks/bench_aggregate.py [--big 500] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _records(tid: str, rng) -> dict[str, dict]:
    out = {}
    t = 1.7e9
    for q in range(1, 14):
        out[f"batch/Q{q}"] = {"kind": "batch", "query": f"Q{q}", "t_start": t, "t_end": t + 10, "trial": tid}
        for b in range(5):
            for r in range(31):
                out[f"run/Q{q}/b{b}/r{r}"] = {"kind": "run", "trial": tid, "query": f"Q{q}", "binding": b,
                                              "warmup": r == 0, "run": r, "status": "ok",
                                              "seconds": float(rng.lognormal(-6, 0.3)), "n_rows": 10,
                                              "phases": {}, "message": "", "t_start": t, "t_end": t + 0.01}
        t += 10
    out["ingest"] = {"kind": "ingest", "trial": tid, "t_start": 1.7e9 - 30, "t_end": 1.7e9, "status": "ok",
                     "node": "n", "fingerprint": "x", "seconds": 30.0, "rows_per_s": 1e6, "bytes_on_disk": 1 << 30}
    return out


def _samples(n: int) -> list[dict]:
    return [{"target": "postgres", "source": "cgroup_v1", "peak_scope": "interval", "t": 1.7e9 - 30 + i / 10,
             "mem_bytes": 200_000_000 + i, "mem_peak_bytes": 210_000_000 + i, "cpu_s": i / 100, "oom_kills": 0,
             "io_read_bytes": i, "io_write_bytes": i, "extra": {}} for i in range(n)]


def fill(ledger, board, cid: str, n_trials: int) -> str:
    import json

    from btb.trials.board import records_key

    rng = np.random.default_rng(1)
    trials = [{"id": f"{cid}.t{i:04d}", "campaign_id": cid, "index": i, "scenario": "P1", "dataset": "d",
               "level": "unlimited", "level_rank": 0, "profile": "tiny-1d", "seed": 1} for i in range(n_trials)]
    ledger.create_campaign(cid, {"name": cid}, n_trials, {})
    board.add_trials(cid, trials, {t["id"]: f"bench{cid}" for t in trials})
    samples = _samples(1600)  # ~160 s of a trial at 10 Hz
    for t in trials:
        recs = _records(t["id"], rng)
        board.r.hset(records_key(t["id"]), mapping={k: json.dumps(v | {"record_id": k}) for k, v in recs.items()})
        for i in range(0, len(samples), 10):
            ledger.push_samples(t["id"], samples[i:i + 10])
    return trials[0]["id"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    state = Path(tempfile.mkdtemp(prefix="btb-bench-agg-"))
    from btb.infra.ports import free_port

    os.environ.update(BTB_STATE_DIR=str(state), BTB_REDIS_PORT=str(free_port(23000)))
    from btb.config import get_settings
    from btb.infra import stack
    from btb.results.aggregate import reduce_trial
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    s = get_settings()
    stack.start_redis(s)
    try:
        ledger, board = Ledger(s.redis_url), TrialBoard(s.redis_url)
        t0 = time.perf_counter()
        small = fill(ledger, board, "small", 1)
        big = fill(ledger, board, "big", a.big)
        print(f"filled {1 + a.big} trials ({sum(ledger.r.hlen(f'btb:trial:{t}:records') for t in board.trial_ids('big')):,}"
              f" records in the big campaign) in {time.perf_counter() - t0:.1f} s")
        times = {"1 trial": [], f"{a.big} trials": []}
        for _ in range(a.repeat):  # interleaved: machine noise hits both sides alike
            for label, tid in (("1 trial", small), (f"{a.big} trials", big)):
                t0 = time.perf_counter()
                reduce_trial(ledger, board, tid)
                times[label].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        for k, v in med.items():
            print(f"reduce one trial, ledger holding {k:>11}: median {v * 1e3:7.1f} ms over {a.repeat} runs")
        ratio = med[f"{a.big} trials"] / med["1 trial"]
        print(f"ratio {ratio:.2f} (target <= 1.5)")
        return 0 if ratio <= 1.5 else 1
    finally:
        stack.stop_redis(s)


if __name__ == "__main__":
    sys.exit(main())
