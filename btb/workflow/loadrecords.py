"""A load's own records — its ingest and its answer gate — kept by the load, not only by the attempt
that made it.

One load (per campaign × dataset × scenario on a node) serves every level's trials, but its ingest and
validation records are written by the attempt that loaded it. When that attempt is lost after the load
was ready (its worker killed while measuring), the re-run drops the attempt's partial records and reuses
the load: without a copy, the load's answer check would be gone and the scenario measured unchecked. So
every record written while loading is also kept under the load's key, and a re-run of the loading trial
that reuses the load writes them back into its trial (fenced like any record, marked `restored_by_attempt`).
The ingest's resources (its memory peak, CPU, IO) come from the loading attempt's monitor samples, which
go with that attempt: they are kept in the load's ingest record once the load is ready (`keep_resources`),
so a restored ingest still has its peak.
"""

from __future__ import annotations

import json

from btb.workflow.attempt import Attempt


def records_key(load_key: str) -> str:
    return f"{load_key}:records"


def start(att: Attempt, load_key: str) -> None:
    """A new load begins: what an earlier, half-made one kept goes, and this attempt's load records are kept."""
    att.ctx.board.r.delete(records_key(load_key))
    att.load_records_key = records_key(load_key)


def stop(att: Attempt) -> None:
    att.load_records_key = ""


def keep_resources(att: Attempt, load_key: str) -> dict | None:
    """The ingest phase's resources from this attempt's samples, kept in the load's own ingest record
    (after the load's monitor stopped, so its last samples are in); returns them (None: no ingest kept)."""
    from btb.results.aggregate import trial_resources

    key = records_key(load_key)
    raw = att.ctx.board.r.hget(key, "ingest")
    if not raw:
        return None
    rec = json.loads(raw)
    res = trial_resources(att.ctx.ledger.samples(att.tid), [("ingest", rec["t_start"], rec["t_end"])]).get("ingest")
    if res:
        att.ctx.board.r.hset(key, "ingest", json.dumps(rec | {"resources": res}))
    return res


def restore(att: Attempt, load_key: str) -> int:
    """Write the load's records into this attempt's trial (those it has not already); returns how many."""
    n = 0
    for rid, v in sorted(att.ctx.board.r.hgetall(records_key(load_key)).items()):
        if att.ctx.board.add_record(att.claim, rid, json.loads(v) | {"restored_by_attempt": att.claim.attempt}):
            n += 1
    if n:
        att.set(load_records_restored=n)
    return n
