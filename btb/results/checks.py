"""Self-checks run on every report: what must hold for the figures to be trusted. Pure (bundle in, checks
out). A failed check is printed in red at the top of the HTML report and of the terminal summary.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from btb.results.files import P95_MIN_N, P99_MIN_N, Bundle

PAGE = 4096
# memory.current may pass memory.max by what the kernel charges in one batch per CPU (64 pages) before it
# reclaims; anything beyond that means the limit was not the one applied
LIMIT_TOLERANCE_BYTES = 64 * PAGE
MEASURED = ("completed", "completed-with-errors")
_EPS = 1e-9  # relative: float noise between two ways of computing the same order statistic


@dataclass
class Check:
    name: str
    ok: bool
    detail: str  # what was checked, in one line
    failures: list[str] = field(default_factory=list)  # one line each (first 20 kept)
    info: bool = False  # informational: never fails

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "failures": self.failures,
                "info": self.info}


def _check(name: str, detail: str, failures: list[str], info: bool = False) -> Check:
    return Check(name, not failures, detail, failures[:20] + ([f"... and {len(failures) - 20} more"]
                                                               if len(failures) > 20 else []), info)


def _measured_runs(b: Bundle) -> Iterator[dict]:
    """The run records that count as measured: neither warm-ups nor cold runs (those are summarised apart)."""
    return (r for r in b.records if r.get("kind") == "run" and not r.get("warmup") and not r.get("cold"))


def _measured_seconds(b: Bundle) -> dict[tuple[str, str], list[float]]:
    """(trial, query) → the seconds of its measured ok runs, straight from the run records."""
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in _measured_runs(b):
        if r.get("status") == "ok":
            out[(r["trial"], r["query"])].append(float(r["seconds"]))
    return out


def _rank_bounds(xs: list[float], q: float) -> tuple[float, float]:
    """The two order statistics a q-quantile by linear interpolation lies between (xs sorted)."""
    h = (len(xs) - 1) * q
    return xs[math.floor(h)], xs[math.ceil(h)]


def percentile_order(b: Bundle) -> Check:
    """Recomputed from the raw run records, not read back from the summary: n, min and max exact, the
    median by `statistics.median`, p95/p99 between the order statistics that bracket their rank, the median
    inside its CI. A summary that does not describe its records (stale, or reduced wrongly) fails here."""
    raw = _measured_seconds(b)
    bad = []
    for r in b.summary.get("rows", []):
        if not r.get("n"):
            continue
        where = f"{r['trial']} {r['query']}"
        xs = sorted(raw.get((r["trial"], r["query"]), []))
        if len(xs) != r["n"]:
            bad.append(f"{where}: summary n {r['n']}, records hold {len(xs)} ok run(s)")
            continue
        want = {"min": (xs[0], xs[0]), "p50": (statistics.median(xs),) * 2, "p95": _rank_bounds(xs, 0.95),
                "p99": _rank_bounds(xs, 0.99), "max": (xs[-1], xs[-1])}
        for k, (lo, hi) in want.items():
            v = r.get(k)
            if v is None or not (lo - _EPS * abs(lo) - 1e-15 <= v <= hi + _EPS * abs(hi) + 1e-15):
                bad.append(f"{where}: {k} {v} but the records give {lo if lo == hi else f'[{lo}, {hi}]'}")
        lo, hi = r.get("median_ci_low"), r.get("median_ci_high")
        if lo is not None and hi is not None and not (lo <= r["p50"] <= hi):
            bad.append(f"{where}: median {r['p50']} outside its CI [{lo}, {hi}]")
    return _check("percentiles ordered", "recomputed from the run records: n, min, p50, p95, p99, max of every "
                  "row match them (so min ≤ p50 ≤ p95 ≤ p99 ≤ max), and the median lies inside its CI", bad)


def _bindings_available(b: Bundle) -> dict[str, dict[str, int]]:
    """Per trial, how many bindings each query has in the dataset it ran on (its `dataset` record)."""
    out: dict[str, dict[str, int]] = {}
    for r in b.records:
        if r.get("kind") == "dataset" and isinstance(r.get("bindings"), dict):
            out.setdefault(r.get("trial"), {k: int(v) for k, v in r["bindings"].items()})
    return out


def run_counts(b: Bundle) -> Check:
    """Per trial (each repetition is its own trial) and query: runs × the bindings that query has there —
    the protocol's `bindings`, or fewer where the dataset has fewer (Q5 has one; an imported model may have
    fewer than asked). Cold runs are counted apart."""
    p = b.campaign["spec"].get("protocol", {})
    if (b.campaign["spec"].get("workload") or {}).get("read", "isolated") != "isolated":
        return _check("runs × bindings", "a load workload runs timed steps, not runs × bindings (see load steps)", [],
                      info=True)
    runs, asked = int(p.get("runs", 0)), int(p.get("bindings", 0))
    per: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for r in _measured_runs(b):
        per[(r["trial"], r["query"])][r["binding"]] += 1
    rows = {(r["trial"], r["query"]): r for r in b.summary.get("rows", [])}
    # an imported model's query with no possible binding is reported, not measured (docs/brick-import.md)
    unbound = {(r.get("trial"), r["query"]) for r in b.records if r.get("kind") == "unbound"}
    available = _bindings_available(b)
    bad = []
    for tid, t in sorted(b.trials.items()):
        if t.get("status") not in MEASURED:
            continue
        if tid not in available:
            bad.append(f"{tid}: no record of how many bindings its dataset has (the dataset record's `bindings`)")
            continue
        for q in b.query_ids():
            if (tid, q) in unbound:
                continue
            want = min(asked, available[tid].get(q, 0))
            got = per.get((tid, q), {})
            n = sum(got.values())
            if sorted(got) != list(range(want)) or any(v != runs for v in got.values()):
                bad.append(f"{tid} {q}: {n} measured runs over {len(got)} binding(s), expected {runs} × {want} "
                           f"({available[tid].get(q, 0)} in the dataset, {asked} asked)")
            row = rows.get((tid, q))
            if row and row.get("n_runs") != n:
                bad.append(f"{tid} {q}: summary counts {row.get('n_runs')} runs, records hold {n}")
    return _check("runs × bindings", f"every measured query of a completed trial has runs ({runs}) × bindings "
                  f"(min of {asked} asked and what its dataset has) records, and the summary counts the same", bad)


def peak_within_limit(b: Bundle) -> Check:
    """Per trial, samples are compared with the limit in force when they were taken: the ingest's limit
    before the level's `provision` record (when the engines were loaded under another budget), else the
    limit applied for the trial."""
    limits: dict[str, list[tuple[float, int | None]]] = defaultdict(list)
    for r in b.records:
        if r.get("kind") == "ingest":
            limits[r["trial"]].append((float("-inf"), r.get("applied_limit")))
        elif r.get("kind") == "provision":
            limits[r["trial"]].append((float(r.get("t") or r.get("t_start") or float("-inf")), r.get("applied_limit")))
    bad, n = [], 0
    for tid, lims in sorted(limits.items()):
        lims.sort(key=lambda x: x[0])
        if not any(lim for _, lim in lims):
            continue
        n += 1
        worst = None
        for s in b.samples.get(tid, []):
            t = s.get("t") or 0.0
            lim = None
            for since, lv in lims:
                if t >= since:
                    lim = lv
            if not lim:
                continue
            used = max(s.get("mem_bytes") or 0, s.get("mem_peak_bytes") or 0)
            if used > lim + LIMIT_TOLERANCE_BYTES and (worst is None or used - lim > worst[0] - worst[1]):
                worst = (used, lim)
        if worst:
            bad.append(f"{tid}: peak {worst[0]} B > applied limit {worst[1]} B + {LIMIT_TOLERANCE_BYTES} B")
    return _check("peak ≤ applied limit", f"the engines' working set never passed the limit applied to them "
                  f"(+{LIMIT_TOLERANCE_BYTES // 1024} KiB: 64 pages, the kernel's per-CPU charge batch); "
                  f"{n} limited trial(s)", bad)


def ingested_counts(b: Bundle) -> Check:
    manifest = {}  # by dataset: every trial records the manifest it used; a load may be shared by trials
    for r in b.records:
        if r.get("kind") == "dataset" and r.get("counts"):
            manifest.setdefault(r.get("dataset"), r["counts"])
    bad = []
    for r in b.records:
        if r.get("kind") != "ingest" or r.get("status") != "ok":
            continue
        want = manifest.get(r.get("dataset"), {})
        got = r.get("counts") or {}
        diff = {k: (got.get(k), v) for k, v in want.items() if k in got and got[k] != v}
        if not want:
            bad.append(f"{r['trial']}: no dataset manifest counts recorded")
        elif not got:
            bad.append(f"{r['trial']}: the engine's stored counts were not recorded")
        elif diff:
            bad.append(f"{r['trial']}: stored ≠ manifest {diff}")
    return _check("ingested = manifest", "every successful ingest stored exactly the manifest's counts", bad)


def queries_validated(b: Bundle) -> Check:
    validate = b.campaign["spec"].get("protocol", {}).get("validate", True)
    # keyed by (dataset, scenario, query): one load and its answer gate may serve several levels' trials
    checked: dict[tuple, list[bool]] = defaultdict(list)
    for r in b.records:
        if r.get("kind") == "validation":
            checked[(r.get("dataset"), r.get("scenario"), r["query"])].append(bool(r.get("match")))
    measured = {(r.get("dataset"), r.get("scenario"), r["query"]) for r in b.records
                if r.get("kind") == "run" and not r.get("warmup")}
    bad = []
    if not validate:
        bad.append("protocol.validate is false: answers were not checked against the oracle")
    else:
        for key in sorted(measured):
            v = checked.get(key)
            if not v:
                bad.append(f"{key[0]} {key[1]} {key[2]}: measured without an answer check")
            elif not all(v):
                bad.append(f"{key[0]} {key[1]} {key[2]}: {v.count(False)} of {len(v)} answer(s) differ from the oracle")
    return _check("every measured query validated", "each measured (dataset, scenario, query) had its answers checked against "
                  "the oracle, and they matched", bad)


def one_engine_version(b: Bundle) -> Check:
    versions: dict[tuple, set] = defaultdict(set)
    for r in b.records:
        if r.get("kind") in ("ingest", "provision"):
            for kind, e in (r.get("engines") or {}).items():
                versions[(r.get("scenario"), kind)].add(str((e or {}).get("version")))
    bad = [f"{sc} {kind}: {', '.join(sorted(v))}" for (sc, kind), v in sorted(versions.items()) if len(v) > 1]
    return _check("one engine version per scenario", "every trial of a scenario ran the same engine version(s)", bad)


def monitor_complete(b: Bundle) -> Check:
    bad = [f"{tid}: {t.get('status')} with no monitor sample" for tid, t in sorted(b.trials.items())
           if t.get("status") in MEASURED and not b.samples.get(tid)]
    return _check("resources measured", "every completed trial has monitor samples", bad)


def percentile_support(b: Bundle) -> Check:
    rows = [r for r in b.summary.get("rows", []) if r.get("n")]
    no99 = sum(r["n"] < P99_MIN_N for r in rows)
    no95 = sum(r["n"] < P95_MIN_N for r in rows)
    c = _check("percentiles backed by n", f"p95 shown where n ≥ {P95_MIN_N}, p99 where n ≥ {P99_MIN_N}: "
               f"p95 hidden in {no95}, p99 hidden in {no99} of {len(rows)} row(s)", [], info=True)
    return c


def load_steps(b: Bundle) -> Check:
    """Every step of a completed load trial: as many ops in its histograms as it counts ok, percentiles in
    order, and the steps the campaign asked for all there (closed loop by clients, open loop by rate)."""
    from btb.workload import hdr

    from btb.workload.spec import WorkloadSpec

    w = WorkloadSpec.model_validate(b.campaign["spec"].get("workload") or {})
    if not w.reads:
        return _check("load steps", "no read load workload in this campaign", [], info=True)
    want = w.steps
    steps: dict[str, list[dict]] = defaultdict(list)
    for r in b.records:
        if r.get("kind") == "load_step":
            steps[r["trial"]].append(r)
    bad = []
    for tid, t in sorted(b.trials.items()):
        if t.get("status") not in MEASURED:
            continue
        if len(steps.get(tid, [])) != want:
            bad.append(f"{tid}: {len(steps.get(tid, []))} load steps recorded, the campaign asks for {want}")
        for r in steps.get(tid, []):
            resp, serv = hdr.decode(r["response"]), hdr.decode(r["service"])
            if not resp.get_total_count() == serv.get_total_count() == r["ok"]:
                bad.append(f"{tid} {r['label']}: histograms hold {resp.get_total_count()}/{serv.get_total_count()} "
                           f"ops, the step counts {r['ok']} ok")
            s = r["summary"]["response"]
            ps = [s[k] for k in ("p50", "p95", "p99") if s.get(k) is not None]
            if ps != sorted(ps):
                bad.append(f"{tid} {r['label']}: response percentiles out of order {ps}")
    return _check("load steps", f"each measured load trial has its {want} step(s); each step's histograms hold its ok "
                  "ops and its percentiles are ordered", bad)


def answers_after_writes(b: Bundle) -> Check:
    """With live ingest, every measured trial held its store, after its last step, to the oracle updated with
    what it committed (a `store_check` record with `after_writes`, status ok)."""
    if not (b.campaign["spec"].get("workload") or {}).get("ingest"):
        return _check("answers after writes", "no live ingest in this campaign", [], info=True)
    checks = {r["trial"]: r for r in b.records if r.get("kind") == "store_check"}
    wrote = {r["trial"] for r in b.records if r.get("kind") == "ingest_step"}
    bad, unchecked = [], []
    for tid, t in sorted(b.trials.items()):
        c = checks.get(tid)
        if t.get("status") not in MEASURED:
            if tid in wrote and c is None:
                unchecked.append(f"{tid} ({t.get('status')})")
            continue
        if c is None or not c.get("after_writes"):
            bad.append(f"{tid}: measured with live ingest but its store was not checked against the updated oracle")
        elif c.get("status") != "ok":
            bad.append(f"{tid}: store check {c.get('status')}: {c.get('message') or c.get('answers_not_checked')}"[:300])
    never = f"; not checked: {', '.join(unchecked)}, which took writes and ended before the check" if unchecked else ""
    return _check("answers after writes", "each measured trial with live ingest: after its last step, every query × "
                  "binding equals the oracle updated with its appends and changes, samples = dataset + appended" + never,
                  bad)


ALL = (percentile_order, run_counts, load_steps, answers_after_writes, peak_within_limit, ingested_counts, queries_validated, one_engine_version,
       monitor_complete, percentile_support)


def run_checks(b: Bundle) -> list[Check]:
    out = []
    for fn in ALL:
        try:
            out.append(fn(b))
        except Exception as e:  # noqa: BLE001 - a check that cannot run is itself a failed check
            out.append(Check(fn.__name__, False, "the check could not run", [f"{type(e).__name__}: {e}"]))
    return out
