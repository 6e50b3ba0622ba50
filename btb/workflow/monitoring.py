"""The monitor of one trial attempt, run by the node's monitor worker beside the engines.

It holds a short lease of its own (renewed every second) so the trial can see it is alive and start
another one if it died; a second copy (a redelivered message) finds the lease taken and exits, and a
copy that arrives after the trial ended finds the stop flag and exits: samples are never doubled.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from typing import Any

from btb.workflow.attempt import NodeContext, monitor_lease_key

LEASE_S = 5


def monitor(ctx: NodeContext, trial_id: str, attempt: str, targets: list[dict[str, Any]], hz: float) -> dict:
    from btb.monitor.sampler import Sampler, Target

    board, ledger = ctx.board, ctx.ledger
    stop_flag = f"stop:{trial_id}:{attempt}"
    if board.flag(stop_flag):
        return {"samples": 0, "why": "trial attempt already ended"}
    me = uuid.uuid4().hex
    lease = monitor_lease_key(trial_id, attempt)
    if not board.r.set(lease, me, nx=True, ex=LEASE_S):
        return {"samples": 0, "why": "another monitor samples this attempt"}
    sampler = Sampler([Target(t["name"], t.get("cgroup"), tuple(t.get("pids", ())), t.get("container"))
                       for t in targets], hz=hz)
    n = 0
    t0 = time.time()

    def stopped() -> bool:
        return bool(board.flag(stop_flag))

    try:
        while not stopped():
            rows = sampler.run(stop=stopped, max_seconds=1.0)
            ledger.push_samples(trial_id, [r.as_dict() for r in rows])
            sampler.rows.clear()  # pushed: keep memory flat over long trials
            n += len(rows)
            board.r.set(lease, me, ex=LEASE_S)
            board.incr(trial_id, "monitor_samples", len(rows))
            if not board.r.exists(f"btb:lease:{trial_id}"):
                break  # the trial's own lease is gone (its worker died): nothing left to watch
        final = sampler.sample_once()  # its interval peak covers the tail of the last phase
        ledger.push_samples(trial_id, [r.as_dict() for r in final])
        board.incr(trial_id, "monitor_samples", len(final))
        n += len(final)
    finally:
        sampler.close()
        board.set(trial_id, monitor={"hz": hz, "t_start": t0, "t_end": time.time(), "ticks": sampler.ticks,
                                     "missed_ticks": sampler.missed_ticks,
                                     "sources": {k: asdict(v) for k, v in sampler.info.items()}})
        board.set_flag(f"monitor-done:{trial_id}:{attempt}")
        if board.r.get(lease) == me:
            board.r.delete(lease)
    return {"samples": n}
