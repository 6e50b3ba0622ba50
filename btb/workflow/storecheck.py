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
from btb.engines.base import QUERY_IDS
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


def after_writes(att: Attempt, scenario, path, manifest: Manifest, bindings: dict[str, list[dict]],
                 overlay) -> tuple[str | None, int]:
    """After a live write workload: the store held to the oracle *updated with what was committed*
    (`overlay`, `btb.dataset.changes.Overlay`): its samples equal the dataset's plus the appended ones, and
    every query × binding of the trial (windows stretched past the last append, so the series queries read
    the appends too) equals the overlay oracle's answer. Recorded as `store_check` (`after_writes: true`);
    a difference ends the level `invalid`, saying what changed. Returns (that reason or None, how many
    checks could not run: errors and timeouts, recorded with their messages). Runs outside every timed window."""
    from btb.validate import check_after_writes, stretched_bindings

    t0 = time.time()
    counts = scenario.counts()
    want = int(manifest.counts.get("samples") or 0) + overlay.samples
    changed = {"samples": [want, counts.get("samples")]} if counts.get("samples") != want else {}
    last = overlay.last_time_us()
    used = {q: b for q, b in bindings.items() if q in att.campaign.query_ids and b}
    checked = stretched_bindings(used, last) if last is not None else used
    att.checkpoint()
    checks = check_after_writes(scenario, path, overlay, {q: checked.get(q, []) for q in QUERY_IDS})
    answers = {f"{c.qid}#{c.binding}": c.message[:500] for c in checks if c.status == "mismatch"}
    others = {f"{c.qid}#{c.binding}": f"{c.status}: {c.message[:200]}" for c in checks
              if c.status not in ("ok", "mismatch")}
    parts = []
    if changed:
        parts.append(f"samples {want} expected (dataset + {overlay.samples} appended), store has {counts.get('samples')}")
    if answers:
        parts.append("answers of " + ", ".join(answers) + " differ from the oracle updated with the writes")
    reason = ("after the write workload: " + "; ".join(parts)) if parts else None
    att.record("store_check", {"kind": "store_check", "after_writes": True,
                               "status": "changed" if reason else ("incomplete" if others else "ok"),
                               "message": reason or "",
                               "counts": counts, "counts_changed": changed, "appended_samples": overlay.samples,
                               "changes": len(overlay.changes), "last_append_us": last,
                               "answers_sampled": [f"{c.qid}#{c.binding}" for c in checks],
                               "answers_changed": answers, "answers_not_checked": others,
                               "t_start": t0, "t_end": time.time()})
    return reason, len(others)
