"""Trial state, plan-ordered pending queues, leases and the node registry, in Redis.

- Trial state is one hash per trial, updated **per field** (HSET), never read-modify-written whole.
- Pending trials wait in one sorted set per engine set, scored by plan order: a free node *pulls* the
  lowest score it can run (`claim`), so trials start in plan order and nothing bounces between nodes.
- A node holds its trial by a **lease** (a key with a TTL of tens of seconds) that a heartbeat renews.
  A lease that lapses (worker or node died) puts the trial back in its queue with its original score,
  to be re-run once; a second loss ends it `error`. Every lease operation is a compare-and-set in Lua.
- The lease token also *fences* every write of an attempt (`btb.trials.fence`): records, samples, state
  fields, counters and drops are stored only while the writer's lease is current, in the same Lua step,
  and a refused write is counted in the trial, so a zombie attempt can never mix into the re-run's.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from btb.redisconn import connect
from btb.trials import fence, lifecycle

P = "btb"
RUNNING = f"{P}:running"  # hash: trial id -> "<pending key>|<score>" (where to put it back)
MAX_ATTEMPTS = 2  # the first run and one re-run


def trial_key(tid: str) -> str:
    return f"{P}:trial:{tid}"


def lease_key(tid: str) -> str:
    return f"{P}:lease:{tid}"


def pending_key(eset: str) -> str:
    return f"{P}:pending:{eset}"


def campaign_trials_key(cid: str) -> str:
    return f"{P}:campaign:{cid}:trialids"


def records_key(tid: str) -> str:
    return f"{P}:trial:{tid}:records"


def samples_key(tid: str) -> str:
    return f"{P}:trial:{tid}:samples"


def _who(claim: "Claim | None") -> str:
    return f"attempt {claim.attempt}" if claim else "a writer without a lease"


_CLAIM = """
local m = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #m == 0 then return false end
local tid, score = m[1], m[2]
redis.call('ZREM', KEYS[1], tid)
local tkey = 'btb:trial:' .. tid
local attempt = redis.call('HINCRBY', tkey, 'attempt', 1)
local token = ARGV[1] .. '/' .. attempt .. '/' .. ARGV[3]
redis.call('SET', 'btb:lease:' .. tid, token, 'PX', ARGV[2])
redis.call('HSET', KEYS[2], tid, KEYS[1] .. '|' .. score)
redis.call('HSET', tkey, 'status', '"claimed"', 'node', cjson.encode(ARGV[1]), 'claimed_at', ARGV[4])
return {tid, attempt, token}
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1]); redis.call('HDEL', KEYS[2], ARGV[2]); return 1
end
return 0
"""
# the lease owner gives its trial back (node drained by `btb down`): not counted as an attempt
_GIVE_BACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local v = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1]); redis.call('HDEL', KEYS[2], ARGV[2])
if not v then return 0 end
local sep = string.find(v, '|', 1, true)
redis.call('ZADD', string.sub(v, 1, sep - 1), string.sub(v, sep + 1), ARGV[2])
redis.call('HINCRBY', KEYS[3], 'attempt', -1)
redis.call('HSET', KEYS[3], 'status', '"queued"', 'message', cjson.encode(ARGV[3]))
return 1
"""
# a lapsed lease (no heartbeat): the trial is queued again with its plan score, or ends after MAX_ATTEMPTS
_REAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local st = redis.call('HGET', KEYS[3], 'status')
if st and string.find(ARGV[5], '|' .. st .. '|', 1, true) then return 0 end  -- ended before its release
local attempt = tonumber(redis.call('HGET', KEYS[3], 'attempt') or '0')
if attempt >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[3], 'status', '"error"', 'message', cjson.encode(ARGV[4]))
  return 2
end
local sep = string.find(v, '|', 1, true)
redis.call('ZADD', string.sub(v, 1, sep - 1), string.sub(v, sep + 1), ARGV[1])
redis.call('HSET', KEYS[3], 'status', '"queued"', 'message', cjson.encode(ARGV[3]))
return 1
"""
_FINAL = "|" + "|".join(sorted(json.dumps(v) for v in lifecycle.FINAL_VALUES)) + "|"


class LeaseLost(RuntimeError):
    """This attempt no longer holds its trial (lease lapsed and re-claimed, or cancelled)."""


@dataclass(frozen=True)
class Claim:
    trial_id: str
    attempt: int
    token: str


def _enc(v: Any) -> str:
    return json.dumps(v.value if isinstance(v, lifecycle.TrialStatus) else v)


class TrialBoard:
    def __init__(self, url: str):
        self.r = connect(url)
        self._claim = self.r.register_script(_CLAIM)
        self._renew = self.r.register_script(_RENEW)
        self._release = self.r.register_script(_RELEASE)
        self._give_back = self.r.register_script(_GIVE_BACK)
        self._reap = self.r.register_script(_REAP)
        self._fenced_add = self.r.register_script(fence.FENCED_ADD)
        self._fenced_set = self.r.register_script(fence.FENCED_SET)
        self._fenced_incr = self.r.register_script(fence.FENCED_INCR)
        self._fenced_samples = self.r.register_script(fence.FENCED_SAMPLES)
        self._fenced_drop = self.r.register_script(fence.FENCED_DROP)

    # --- trials ---------------------------------------------------------------------------------
    def add_trials(self, cid: str, trials: list[dict], engine_sets: dict[str, str]) -> None:
        """Register a campaign's trials (plan order) and queue them; `engine_sets[tid]` routes each."""
        seq = self.r.incr(f"{P}:campaign-seq")
        pipe = self.r.pipeline()
        for t in trials:
            tid = t["id"]
            state = {**t, "status": "queued", "attempt": 0, "engine_set": engine_sets[tid], "queued_at": time.time()}
            pipe.hset(trial_key(tid), mapping={k: _enc(v) for k, v in state.items()})
            pipe.zadd(campaign_trials_key(cid), {tid: t["index"]})
            pipe.zadd(pending_key(engine_sets[tid]), {tid: seq * 100_000 + t["index"]})
        pipe.execute()

    def trial(self, tid: str) -> dict:
        return {k: json.loads(v) for k, v in self.r.hgetall(trial_key(tid)).items()}

    def trial_ids(self, cid: str) -> list[str]:
        return list(self.r.zrange(campaign_trials_key(cid), 0, -1))

    def trials(self, cid: str) -> dict[str, dict]:
        ids = self.trial_ids(cid)
        pipe = self.r.pipeline()
        for tid in ids:
            pipe.hgetall(trial_key(tid))
        return {tid: {k: json.loads(v) for k, v in h.items()} for tid, h in zip(ids, pipe.execute())}

    def set(self, tid: str, claim: Claim | None = None, **fields: Any) -> None:
        """Per-field update under `claim`'s lease (None: only while nobody holds the trial). A status change
        is checked against the lifecycle and written only if the status is still the one checked."""
        fields["updated"] = time.time()
        token = claim.token if claim else ""
        kind = "status" if "status" in fields else "fields"
        for _ in range(5):
            expected = ""
            if "status" in fields:
                old = self.r.hget(trial_key(tid), "status")
                try:
                    lifecycle.check(json.loads(old) if old else None, str(fields["status"]))
                except lifecycle.BadTransition:  # a writer without the lease hears that first (and is counted)
                    expected = "\0never"
                else:
                    expected = old or "-"
            res = self._fenced_set(keys=[lease_key(tid), trial_key(tid)],
                                   args=[token, kind, expected, *fence.encode_fields(fields)])
            if res == -2 and expected == "\0never":
                lifecycle.check(json.loads(old) if old else None, str(fields["status"]))
            if res == -1:
                raise LeaseLost(f"trial {tid}: {_who(claim)} does not hold the trial: {kind} write refused")
            if res == 1:
                return
        raise RuntimeError(f"trial {tid}: its status kept changing under a compare-and-set")

    def incr(self, claim: Claim, field: str, by: int = 1) -> int:
        ok, value = self._fenced_incr(keys=[lease_key(claim.trial_id), trial_key(claim.trial_id)],
                                      args=[claim.token, field, by])
        if not ok:
            raise LeaseLost(f"trial {claim.trial_id}: {_who(claim)} lost its lease: counter {field} refused")
        return int(value)

    def push_samples(self, claim: Claim, block: bytes, n_rows: int) -> None:
        """One compact block of monitor samples, under the attempt's lease (and its sample count with it)."""
        res = self._fenced_samples(keys=[lease_key(claim.trial_id), samples_key(claim.trial_id),
                                         trial_key(claim.trial_id)], args=[claim.token, block, n_rows])
        if res == -1:
            raise LeaseLost(f"trial {claim.trial_id}: {_who(claim)} lost its lease: samples refused")

    # --- claiming and leases --------------------------------------------------------------------
    def claim(self, eset: str, node: str, ttl_s: float) -> Claim | None:
        """The next pending trial of this engine set in plan order, leased to `node`; None if none."""
        out = self._claim(keys=[pending_key(eset), RUNNING],
                          args=[node, int(ttl_s * 1000), uuid.uuid4().hex[:8], time.time()])
        return Claim(out[0], int(out[1]), out[2]) if out else None

    def renew(self, claim: Claim, ttl_s: float) -> bool:
        return bool(self._renew(keys=[lease_key(claim.trial_id)], args=[claim.token, int(ttl_s * 1000)]))

    def holds(self, claim: Claim) -> bool:
        return self.r.get(lease_key(claim.trial_id)) == claim.token

    def release(self, claim: Claim) -> bool:
        return bool(self._release(keys=[lease_key(claim.trial_id), RUNNING], args=[claim.token, claim.trial_id]))

    def give_back(self, claim: Claim, why: str) -> bool:
        return bool(self._give_back(keys=[lease_key(claim.trial_id), RUNNING, trial_key(claim.trial_id)],
                                    args=[claim.token, claim.trial_id, why]))

    def reap(self) -> list[tuple[str, str]]:
        """Trials whose lease lapsed: re-queued (`requeued`) or ended (`error`). Safe on every node at once."""
        out = []
        for tid in self.r.hkeys(RUNNING):
            a = self.trial(tid).get("attempt", 0)
            res = self._reap(keys=[lease_key(tid), RUNNING, trial_key(tid)], args=[
                tid, MAX_ATTEMPTS,
                f"attempt {a} lost its node (no heartbeat): re-run",
                f"attempt {a} lost its node (no heartbeat) and the re-run was already spent", _FINAL])
            if res:
                out.append((tid, "requeued" if res == 1 else "error"))
        return out

    def running(self) -> list[str]:
        return list(self.r.hkeys(RUNNING))

    def pending(self, eset: str) -> list[str]:
        return list(self.r.zrange(pending_key(eset), 0, -1))

    def pending_sets(self) -> list[str]:
        return [k.split(":", 2)[2] for k in self.r.scan_iter(f"{P}:pending:*") if self.r.zcard(k)]

    def cancel_pending(self, cid: str) -> int:
        n = 0
        for tid in self.trial_ids(cid):
            eset = self.trial(tid).get("engine_set", "")
            if self.r.zrem(pending_key(eset), tid):
                self.set(tid, status="cancelled", message="cancelled before it started")
                n += 1
        return n

    # --- records written under a lease (fenced) ---------------------------------------------------
    def add_record(self, claim: Claim, record_id: str, record: dict) -> bool:
        """Store once under the trial; raises LeaseLost when this attempt no longer holds the trial."""
        res = self._fenced_add(keys=[lease_key(claim.trial_id), records_key(claim.trial_id), trial_key(claim.trial_id)],
                               args=[claim.token, record_id, json.dumps(record | {"record_id": record_id})])
        if res == -1:
            raise LeaseLost(f"trial {claim.trial_id}: attempt {claim.attempt} lost its lease")
        return bool(res)

    def has_record(self, tid: str, record_id: str) -> bool:
        return bool(self.r.hexists(records_key(tid), record_id))

    def drop_records(self, tid: str, claim: Claim | None = None) -> int:
        """A lost attempt's partial records go before the re-run writes its own: by the re-run, under its
        lease, or (claim None: `btb resume`) only while nobody holds the trial."""
        n = self._fenced_drop(keys=[lease_key(tid), records_key(tid), samples_key(tid), trial_key(tid)],
                              args=[claim.token if claim else ""])
        if n == -1:
            raise LeaseLost(f"trial {tid}: {_who(claim)} does not hold the trial: drop refused")
        return int(n)

    # --- nodes ----------------------------------------------------------------------------------
    def register_node(self, node: str, info: dict, ttl_s: float) -> None:
        self.r.set(f"{P}:node:{node}", json.dumps(info | {"seen": time.time()}), ex=max(1, int(ttl_s)))

    def nodes(self) -> dict[str, dict]:
        out = {}
        for k in self.r.scan_iter(f"{P}:node:*"):
            v = self.r.get(k)
            if v:
                out[k.split(":", 2)[2]] = json.loads(v)
        return out

    # --- flags (drain a node, stop a monitor) ----------------------------------------------------
    def set_flag(self, name: str, value: str = "1", ttl_s: int | None = 7 * 24 * 3600) -> None:
        self.r.set(f"{P}:flag:{name}", value, ex=ttl_s)

    def flag(self, name: str) -> str | None:
        return self.r.get(f"{P}:flag:{name}")

    def clear_flag(self, name: str) -> None:
        self.r.delete(f"{P}:flag:{name}")


def engine_sets_for(trials: Iterable[dict]) -> dict[str, str]:
    from btb.routing import scenario_engine_set

    return {t["id"]: scenario_engine_set(t["scenario"]) for t in trials}
