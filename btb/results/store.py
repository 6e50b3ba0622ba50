"""The results ledger in Redis (AOF on), next to the broker: campaigns, append-only keyed records per
trial, compact monitor samples, and summaries (one per trial, merged into one per campaign).

Records are keyed deterministically (trial/query/binding/run…) and stored with HSETNX (through the
trial board's fenced write while a trial runs), so a redelivered or retried write never duplicates or
overwrites a result. Everything of one trial lives under that trial's keys: reducing a trial reads
that trial only, whatever the size of the campaign.
"""

from __future__ import annotations

import json
import time

from btb.redisconn import connect
from btb.results.samples import decode_block
from btb.trials.board import campaign_trials_key, records_key

P = "btb"


def _k(*parts: str) -> str:
    return ":".join((P, *parts))


class Ledger:
    def __init__(self, url: str):
        self.r = connect(url)
        self.rb = connect(url, binary=True)  # sample blocks are bytes

    # --- campaigns -------------------------------------------------------------------------------
    def create_campaign(self, campaign_id: str, spec: dict, n_trials: int, meta: dict) -> None:
        pipe = self.r.pipeline()
        pipe.hset(_k("campaign", campaign_id), mapping={
            "spec": json.dumps(spec), "meta": json.dumps(meta), "created": time.time(),
            "n_trials": n_trials, "status": "submitted"})
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

    def add_trial_slot(self, campaign_id: str) -> int:
        """Index of one more trial (a bisection level added while the campaign runs)."""
        return int(self.r.hincrby(_k("campaign", campaign_id), "n_trials", 1)) - 1

    def set_campaign_status(self, campaign_id: str, status: str) -> None:
        self.r.hset(_k("campaign", campaign_id), "status", status)

    def first_fingerprint(self, campaign_id: str, dataset: str, fingerprint: str) -> str:
        """The campaign's fingerprint for a dataset: the first node to prepare it sets it, others compare."""
        key = _k("campaign", campaign_id, "fingerprints")
        self.r.hsetnx(key, dataset, fingerprint)
        return self.r.hget(key, dataset)

    # --- records ---------------------------------------------------------------------------------
    def trial_records(self, trial_id: str, kind: str | None = None) -> list[dict]:
        out = [json.loads(v) for v in self.r.hvals(records_key(trial_id))]
        if kind:
            out = [r for r in out if r.get("kind") == kind]
        return sorted(out, key=lambda r: r["record_id"])

    def records(self, campaign_id: str, kind: str | None = None) -> list[dict]:
        """Every record of a campaign (reports, tests): reads each trial's hash once."""
        out: list[dict] = []
        for tid in self.r.zrange(campaign_trials_key(campaign_id), 0, -1):
            out += self.trial_records(tid, kind)
        return out

    def add_unfenced(self, trial_id: str, record_id: str, record: dict) -> bool:
        """Store once, outside a lease (a trial that ends before it was ever claimed, e.g. cancelled)."""
        return bool(self.r.hsetnx(records_key(trial_id), record_id, json.dumps(record | {"record_id": record_id})))

    # --- monitor samples (written by the monitor through the board's fence) -----------------------
    def samples(self, trial_id: str) -> list[dict]:
        out: list[dict] = []
        for blob in self.rb.lrange(_k("trial", trial_id, "samples"), 0, -1):
            out += decode_block(blob)
        return out

    def samples_bytes(self, trial_id: str) -> int:
        return sum(len(b) for b in self.rb.lrange(_k("trial", trial_id, "samples"), 0, -1))

    # --- summaries -------------------------------------------------------------------------------
    def put_trial_summary(self, trial_id: str, summary: dict) -> None:
        self.r.set(_k("trial", trial_id, "summary"), json.dumps(summary))

    def trial_summaries(self, trial_ids: list[str]) -> dict[str, dict]:
        if not trial_ids:
            return {}
        vals = self.r.mget([_k("trial", t, "summary") for t in trial_ids])
        return {t: json.loads(v) for t, v in zip(trial_ids, vals) if v}

    def put_summary(self, campaign_id: str, summary: dict) -> None:
        self.r.set(_k("campaign", campaign_id, "summary"), json.dumps(summary))

    def summary(self, campaign_id: str) -> dict | None:
        s = self.r.get(_k("campaign", campaign_id, "summary"))
        return json.loads(s) if s else None
