"""The results ledger: append-only, keyed records in Redis (AOF on), next to the broker.

Every record has a deterministic key (trial/query/binding/run…); `add` uses HSETNX, so a task that is
redelivered after a worker crash can write again without ever duplicating or overwriting a result.
State that legitimately changes (trial status, campaign status) lives in separate hashes.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

PREFIX = "btb"


def _k(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


class Ledger:
    def __init__(self, url: str):
        self.r = redis.Redis.from_url(url, decode_responses=True)

    # --- campaigns -------------------------------------------------------------------------------
    def create_campaign(self, campaign_id: str, spec: dict, trials: list[dict], meta: dict) -> None:
        pipe = self.r.pipeline()
        pipe.hset(_k("campaign", campaign_id), mapping={
            "spec": json.dumps(spec), "meta": json.dumps(meta), "created": time.time(),
            "n_trials": len(trials), "status": "submitted",
        })
        for t in trials:
            pipe.hset(_k("campaign", campaign_id, "trials"), t["id"], json.dumps(t | {"status": "queued"}))
        pipe.zadd(_k("campaigns"), {campaign_id: time.time()})
        pipe.execute()

    def campaign(self, campaign_id: str) -> dict | None:
        h = self.r.hgetall(_k("campaign", campaign_id))
        if not h:
            return None
        return {"id": campaign_id, "spec": json.loads(h["spec"]), "meta": json.loads(h.get("meta", "{}")),
                "created": float(h["created"]), "n_trials": int(h["n_trials"]), "status": h.get("status", "")}

    def campaigns(self, limit: int = 20) -> list[str]:
        return list(self.r.zrevrange(_k("campaigns"), 0, limit - 1))

    def latest_campaign(self) -> str | None:
        ids = self.campaigns(1)
        return ids[0] if ids else None

    def set_campaign_status(self, campaign_id: str, status: str) -> None:
        self.r.hset(_k("campaign", campaign_id), "status", status)

    # --- trials (mutable state) ----------------------------------------------------------------
    def trials(self, campaign_id: str) -> dict[str, dict]:
        return {k: json.loads(v) for k, v in self.r.hgetall(_k("campaign", campaign_id, "trials")).items()}

    def update_trial(self, campaign_id: str, trial_id: str, **fields: Any) -> dict:
        key = _k("campaign", campaign_id, "trials")
        cur = json.loads(self.r.hget(key, trial_id) or "{}")
        cur.update(fields, updated=time.time())
        self.r.hset(key, trial_id, json.dumps(cur))
        return cur

    # --- records (append-only) -----------------------------------------------------------------
    def add(self, campaign_id: str, record_id: str, record: dict) -> bool:
        """Store once. Returns False when a record with this key already exists (redelivered task)."""
        return bool(self.r.hsetnx(_k("campaign", campaign_id, "records"), record_id,
                                  json.dumps(record | {"record_id": record_id})))

    def has(self, campaign_id: str, record_id: str) -> bool:
        return bool(self.r.hexists(_k("campaign", campaign_id, "records"), record_id))

    def records(self, campaign_id: str, kind: str | None = None) -> list[dict]:
        out = [json.loads(v) for v in self.r.hvals(_k("campaign", campaign_id, "records"))]
        if kind:
            out = [r for r in out if r.get("kind") == kind]
        return sorted(out, key=lambda r: r["record_id"])

    # --- monitor samples -----------------------------------------------------------------------
    def push_samples(self, trial_id: str, rows: list[dict]) -> None:
        if rows:
            self.r.rpush(_k("samples", trial_id), *[json.dumps(r) for r in rows])

    def samples(self, trial_id: str) -> list[dict]:
        return [json.loads(x) for x in self.r.lrange(_k("samples", trial_id), 0, -1)]

    def set_flag(self, name: str, value: str = "1", ttl_s: int | None = None) -> None:
        self.r.set(_k("flag", name), value, ex=ttl_s)

    def flag(self, name: str) -> str | None:
        return self.r.get(_k("flag", name))

    # --- summaries -----------------------------------------------------------------------------
    def put_summary(self, campaign_id: str, summary: dict) -> None:
        self.r.set(_k("campaign", campaign_id, "summary"), json.dumps(summary))

    def summary(self, campaign_id: str) -> dict | None:
        s = self.r.get(_k("campaign", campaign_id, "summary"))
        return json.loads(s) if s else None

    # --- node locks: one trial at a time per node ---------------------------------------------
    def acquire_node(self, node: str, trial_id: str, ttl_s: int) -> bool:
        key = _k("node", node, "trial")
        if self.r.set(key, trial_id, nx=True, ex=ttl_s):
            return True
        if self.r.get(key) == trial_id:  # re-entrant for the same trial (redelivered task)
            self.r.expire(key, ttl_s)
            return True
        return False

    def node_trial(self, node: str) -> str | None:
        return self.r.get(_k("node", node, "trial"))

    def release_node(self, node: str, trial_id: str) -> None:
        key = _k("node", node, "trial")
        if self.r.get(key) == trial_id:
            self.r.delete(key)
