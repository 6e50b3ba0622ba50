"""The store checked after the last run too: a level is measured on the data that was validated.

The answer gate checks a load once, when it is made; a store changed afterwards (by anyone who can reach
the engine) while keeping its row counts would still be measured as valid, since the runs themselves
compare row counts only. So after a trial's last run, on the same engines and client, btb takes the store's
fingerprint again: its counts (held to the dataset's manifest, as at ingest) and, with answer validation
on, the gate's answer at a sample of bindings (each query's first, the one its cold run used) held to the
oracle. A difference ends the level `invalid`, saying what changed. It runs outside every timed window.
"""

from __future__ import annotations

import time

from btb.dataset.format import Manifest
from btb.validate import check_query
from btb.workflow.attempt import Attempt


def after_runs(att: Attempt, scenario, path, manifest: Manifest, bindings: dict[str, list[dict]]) -> str | None:
    """Why the store no longer is the one validated (recorded as the trial's `store_check`), or None."""
    from btb.dataset.oracle import answer

    t0 = time.time()
    counts = scenario.counts()
    changed = {k: [manifest.counts[k], v] for k, v in sorted(counts.items())
               if k in manifest.counts and manifest.counts[k] != v}
    answers: dict[str, str] = {}
    sampled = []
    if att.campaign.protocol.validate_answers and path is not None:
        for qid in att.campaign.query_ids:
            if not bindings.get(qid):
                continue
            att.checkpoint()
            c = check_query(scenario, qid, 0, bindings[qid][0], answer(path, qid, bindings[qid][0]))
            sampled.append(f"{qid}#0")
            if c.status == "mismatch":
                answers[f"{qid}#0"] = c.message[:500]
    parts = []
    if changed:
        parts.append("counts " + ", ".join(f"{k} {a}→{b}" for k, (a, b) in changed.items()))
    if answers:
        parts.append("answers of " + ", ".join(answers) + " differ from the oracle")
    reason = ("the store changed under the trial (after its last run): " + "; ".join(parts)) if parts else None
    att.record("store_check", {"kind": "store_check", "status": "changed" if reason else "ok",
                               "message": reason or "", "counts": counts, "counts_changed": changed,
                               "answers_sampled": sampled, "answers_changed": answers,
                               "t_start": t0, "t_end": time.time()})
    return reason
