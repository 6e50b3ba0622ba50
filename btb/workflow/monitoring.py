"""The monitor of one trial attempt, run by the node's monitor worker beside the engines.

It holds a short lease of its own (renewed every second) so the trial can see it is alive and start
another one if it died; a second copy (a redelivered message) finds the lease taken and exits, and a
copy that arrives after the trial ended finds the stop flag and exits: samples are never doubled.
Every write carries the attempt's lease token (the board's fence): a monitor of an attempt that lost its
trial has its samples refused (counted) and stops, so it never writes into the re-run's samples.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from typing import Any

from btb.results.samples import encode_block
from btb.trials.board import Claim, LeaseLost
from btb.workflow.attempt import NodeContext, monitor_lease_key

LEASE_S = 5


def monitor(ctx: NodeContext, trial_id: str, attempt: str, targets: list[dict[str, Any]], hz: float,
            token: str = "") -> dict:
    from btb.monitor.sampler import Sampler, Target

    board = ctx.board
    claim = Claim(trial_id, int(attempt.split(".")[0]), token)
    stop_flag = f"stop:{trial_id}:{attempt}"
    if board.flag(stop_flag):
        return {"samples": 0, "why": "trial attempt already ended"}
    me = uuid.uuid4().hex
    lease = monitor_lease_key(trial_id, attempt)
    if not board.r.set(lease, me, nx=True, ex=LEASE_S):
        return {"samples": 0, "why": "another monitor samples this attempt"}
    sampler = Sampler([Target(t["name"], t.get("cgroup"), tuple(t.get("pids", ())), t.get("container"))
                       for t in targets], hz=hz)
    n, why = 0, ""
    t0 = time.time()

    def stopped() -> bool:
        return bool(board.flag(stop_flag))

    def push(rows) -> int:
        if rows:
            board.push_samples(claim, encode_block([r.as_dict() for r in rows]), len(rows))
        return len(rows)

    try:
        while not stopped():
            rows = sampler.run(stop=stopped, max_seconds=1.0)
            n += push(rows)
            sampler.rows.clear()  # pushed: keep memory flat over long trials
            board.r.set(lease, me, ex=LEASE_S)
        n += push(sampler.sample_once())  # its interval peak covers the tail of the last phase
    except LeaseLost as e:  # the attempt lost its trial (its worker died or paused): nothing left to watch
        why = str(e)
    finally:
        sampler.close()
        _close(board, claim, {"hz": hz, "t_start": t0, "t_end": time.time(), "ticks": sampler.ticks,
                              "missed_ticks": sampler.missed_ticks,
                              "sources": {k: asdict(v) for k, v in sampler.info.items()}})
        board.set_flag(f"monitor-done:{trial_id}:{attempt}")
        if board.r.get(lease) == me:
            board.r.delete(lease)
    return {"samples": n, **({"why": why} if why else {})}


def _close(board, claim: Claim, info: dict) -> None:
    try:
        board.set(claim.trial_id, claim, monitor=info)
    except LeaseLost:
        pass  # refused and counted by the fence
