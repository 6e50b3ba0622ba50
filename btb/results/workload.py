"""Load-workload results: step rows, throughput–latency curves, saturation throughput, summary scores.

- A step row is one `load_step` record of one trial, its histograms kept encoded. Curves merge the rows of
  one cell (repetitions of the same step) by adding histograms, never by averaging percentiles.
- The comparison key is (machine, dataset, protocol): the node's hardware (host, CPU model, logical CPUs,
  RAM), the dataset's fingerprint, and the load protocol (workload, loop, arrival, burn-in, window,
  tolerance, client kind, mix or session digest). Rows of different keys never share a curve, a
  saturation figure or a score.
- Saturation throughput: the highest offered rate of a valid open-loop step whose response-time p95 is
  within the campaign's SLO and whose error rate (failed + missed ops) is at most 1 %. The SLO is one bound
  on the p95 of every op, or one per query class (`Slo`): a mix of dashboard tiles and week-long analytics
  held to one p95 is held to its analytics. Per class, the p95 comes from the merged per-query histograms;
  a class with too few ok ops for a p95 (< 20) in a step is held by its slowest op instead. It is `reached`
  (a measurement) only when a valid higher rate was offered and failed; when the highest rate offered
  passed, it is a lower bound and says so ("not reached below X ops/s").
- Score per scenario × level (ClickBench's rule): the geometric mean over cells of (10 ms + t) /
  (10 ms + t_best), t_best the best t of that cell among the scenarios of the same key and level; lower is
  better, 1.0 best everywhere. A cell is a load step (t = its response p95) or, for the isolated protocol,
  a query (t = its warm p50). A failed cell (an error rate over 1 %, an OOM or failed trial, a missing
  figure) counts as t = the protocol's timeout; a client-bound step says nothing of any engine, and a step
  with fewer than 20 ok ops has no p95, so such a cell is dropped for every scenario of its key and level.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

from btb.workload import hdr
from btb.workload.spec import QUERY_CLASSES

OFFSET_S = 0.010  # ClickBench's 10 ms: small times do not dominate the ratio
MAX_ERROR_RATE = 0.01


@dataclass(frozen=True)
class Slo:
    """What a step's response times are held to: one p95 bound for every op, or one per query class."""

    overall_s: float | None = None
    per_class_s: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, slo_ms: float | dict | None) -> "Slo":
        if isinstance(slo_ms, dict):
            return cls(None, {c: float(b) / 1000 for c, b in slo_ms.items()})
        return cls(float(100.0 if slo_ms is None else slo_ms) / 1000)

    @property
    def ms(self) -> float | str:
        """The bound as saturation.csv writes it: ms, or `class ms / …` per class."""
        if self.overall_s is not None:
            return 1000 * self.overall_s
        return " / ".join(f"{c} {1000 * b:g}" for c, b in self.per_class_s.items())

    @property
    def text(self) -> str:
        if self.overall_s is not None:
            return f"response p95 ≤ {1000 * self.overall_s:g} ms"
        return ("response p95 per query class ≤ " + ", ".join(f"{c} {1000 * b:g} ms" for c, b in self.per_class_s.items())
                + " (a class with fewer than 20 ok ops in a step: its slowest op)")

    def miss(self, c: dict) -> str | None:
        """Why the step's latencies miss the bound, or None when they meet it."""
        if self.overall_s is not None:
            if c["response_p95_s"] is None:
                return "too few ops for a p95"
            return None if c["response_p95_s"] <= self.overall_s else \
                f"p95 {1000 * c['response_p95_s']:.0f} ms > {1000 * self.overall_s:g} ms"
        got = c.get("classes") or {}
        if not got:
            return "no ok op with a query class (no per-query histograms)"
        for cls, bound in self.per_class_s.items():
            k = got.get(cls)
            if k and k["n"]:
                what, t = class_latency(k)
                if t > bound:
                    return f"{cls} {what} {1000 * t:.0f} ms > {1000 * bound:g} ms"
        return None


def machine_key(env: dict | None) -> str:
    e = env or {}
    ram = round((e.get("ram_bytes") or 0) / 2**30)
    return f"{e.get('host', '?')}/{e.get('cpu_model', '?')}/{e.get('cpu_logical', '?')}cpu/{ram}GiB"


def protocol_key(rec: dict, spec: dict) -> str:
    w = spec.get("workload") or {}
    what = w.get("mix") if rec.get("workload") == "mix" else w.get("sessions")
    digest = hashlib.sha256(json.dumps([what, w.get("seed"), spec.get("queries")], sort_keys=True).encode()).hexdigest()[:8]
    return (f"{rec.get('workload')}/{rec.get('loop')}/{rec.get('arrival')}/burn{rec.get('burn_in_s'):g}s/"
            f"{rec.get('duration_s'):g}s/tol{rec.get('tolerance_ms'):g}ms/{rec.get('clients_as')}/{digest}")


def campaign_protocol(spec: dict) -> str:
    """The key a score is read under: every step of one campaign's workload section (its loops, rates,
    clients, timing, mix and seed) — a score mixes the cells of one protocol, never two."""
    w = spec.get("workload") or {}
    digest = hashlib.sha256(json.dumps([w, spec.get("queries")], sort_keys=True, default=str).encode()).hexdigest()[:8]
    reads = w.get("read", "isolated")
    return f"load/{'+'.join(reads) if isinstance(reads, list) else reads}/{digest}"


def step_rows(records: list[dict]) -> list[dict]:
    """A trial's load steps as rows (what the trial summary keeps: encoded histograms, no samples)."""
    keep = ("workload", "loop", "clients", "rate", "step", "label", "burn_in_s", "duration_s", "arrival", "clients_as",
            "ops", "ok", "missed", "statuses", "error_rate", "achieved_ops_s", "response", "service", "lag",
            "per_query", "on_schedule_share", "tolerance_ms", "valid", "verdict", "why", "client_cores", "skipped_refreshes",
            "scenario", "dataset", "level", "node", "trial", "t_start", "t_end")
    return [{k: r.get(k) for k in keep} for r in records if r.get("kind") == "load_step"]


def ingest_rows(records: list[dict]) -> list[dict]:
    """A trial's live-ingest steps: offered vs achieved samples/s, write service and freshness summaries."""
    keep = ("step", "label", "beside", "status", "ops", "batches", "changes", "offered_samples_per_s",
            "achieved_samples_per_s", "errors", "service_summary", "freshness_summary", "start_lag_summary",
            "probe_failures", "scenario", "dataset", "level", "node", "trial", "message")
    return [{k: r.get(k) for k in keep} for r in records if r.get("kind") == "ingest_step"]


def curves(rows: list[dict], trials: dict, environment: dict, fingerprints: dict, spec: dict) -> list[dict]:
    """One row per (key, scenario, level, step): repetitions merged by histogram, percentiles from the merge."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        key = (machine_key(environment.get(r.get("node"))), fingerprints.get(r.get("dataset"), r.get("dataset")),
               protocol_key(r, spec))
        groups[key + (r["scenario"], r["level"], r["loop"], r["clients"], r["rate"])].append(r)
    out = []
    for (machine, ds, proto, sc, level, loop, clients, rate), rs in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        resp, serv, lag = (hdr.merge(r[k] for r in rs) for k in ("response", "service", "lag"))
        ops, ok, missed = (sum(r[k] for r in rs) for k in ("ops", "ok", "missed"))
        s_r, s_s, s_l = hdr.summary(resp), hdr.summary(serv), hdr.summary(lag)
        out.append({
            "machine": machine, "dataset_fingerprint": ds, "protocol": proto, "dataset": rs[0]["dataset"],
            "scenario": sc, "level": level, "budget": trials.get(rs[0]["trial"], {}).get("budget"),
            "workload": rs[0]["workload"], "loop": loop, "clients": clients, "offered_ops_s": rate,
            "achieved_ops_s": sum(r["achieved_ops_s"] for r in rs) / len(rs), "repetitions": len(rs),
            "ops": ops, "ok": ok, "missed": missed,
            "error_rate": (ops - ok + missed) / (ops + missed) if ops + missed else None,
            "valid": all(r["valid"] for r in rs), "verdict": "valid" if all(r["valid"] for r in rs) else "client-bound",
            **{f"response_{p}_s": s_r.get(p) for p in ("p50", "p95", "p99", "max")},
            **{f"service_{p}_s": s_s.get(p) for p in ("p50", "p95", "p99", "max")},
            "lag_p99_s": s_l.get("p99"), "client_cores": max((r["client_cores"] or 0) for r in rs),
            "classes": class_stats(rs), "response": hdr.encode(resp), "service": hdr.encode(serv)})
    return out


def class_stats(rs: list[dict]) -> dict[str, dict]:
    """Per query class with ok ops: n, p95 and max of the response times, from the merged per-query histograms."""
    out = {}
    for cls, qids in QUERY_CLASSES.items():
        parts = [r["per_query"][q][0] for r in rs for q in qids if q in (r.get("per_query") or {})]
        if parts:
            s = hdr.summary(hdr.merge(parts))
            out[cls] = {"n": s["n"], "p95_s": s["p95"], "max_s": s["max"]}
    return out


def class_latency(k: dict) -> tuple[str, float]:
    """What stands for a class in a step: ("p95", its p95), or ("max of n", its slowest op) when n < 20."""
    return ("p95", k["p95_s"]) if k["p95_s"] is not None else (f"max of {k['n']}", k["max_s"])


def class_text(classes: dict) -> str:
    """`dashboard 120, analytics 3,200 (max of 6)` ms: each class's p95, or its max when too few ops."""
    out = []
    for c, k in classes.items():
        if k["n"]:
            what, t = class_latency(k)
            out.append(f"{c} {1000 * t:,.0f}" + ("" if what == "p95" else f" ({what})"))
    return ", ".join(out)


def _order(k: tuple) -> tuple:
    return tuple("" if x is None else x for x in k[:5]) + (k[5], k[6] or 0, k[7] or 0)


def _meets(c: dict, slo: Slo) -> bool:
    return c["valid"] and (c["error_rate"] or 0) <= MAX_ERROR_RATE and slo.miss(c) is None


def _why_not(c: dict, slo: Slo) -> str:
    """Why a step is past saturation (or says nothing): the first reason that holds."""
    if not c["valid"]:
        return "client-bound"
    if (c["error_rate"] or 0) > MAX_ERROR_RATE:
        return f"{100 * c['error_rate']:.0f} % failed or missed"
    return slo.miss(c) or "met"


def saturation(curve: list[dict], slo: Slo) -> list[dict]:
    """Per (key, scenario, level, workload): the highest valid offered rate with p95 ≤ SLO and ≤ 1 % errors.
    `reached` says whether it is a measurement: a valid rate above it was offered and failed (the curve
    bent between the two, `past_ops_s`); otherwise the highest rate offered passed, and the figure is only
    a lower bound ("not reached below X ops/s"), or no rate passed (saturation below the lowest offered)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for c in curve:
        if c["loop"] == "open":
            groups[(c["machine"], c["dataset_fingerprint"], c["protocol"], c["scenario"], c["level"], c["workload"])].append(c)
    out = []
    for (machine, ds, proto, sc, level, wl), cs in sorted(groups.items()):
        cs = sorted(cs, key=lambda c: c["offered_ops_s"])
        best = max((c for c in cs if _meets(c, slo)), key=lambda c: c["offered_ops_s"], default=None)
        floor = best["offered_ops_s"] if best else 0.0
        past = next((c for c in cs if c["offered_ops_s"] > floor and c["valid"] and not _meets(c, slo)), None)
        if best and past:
            note = (f"reached: met at {floor:g} ops/s (achieved {best['achieved_ops_s']:.1f}), "
                    f"not at {past['offered_ops_s']:g} ({_why_not(past, slo)}; achieved {past['achieved_ops_s']:.1f})")
        elif best:
            above = [c["offered_ops_s"] for c in cs if c["offered_ops_s"] > floor]
            note = (f"not reached below {floor:g} ops/s" if not above else
                    f"not measured: every rate above {floor:g} ops/s was client-bound")
        else:
            note = (f"below the lowest rate: no valid rate offered met {slo.text}"
                    + (f" ({cs[0]['offered_ops_s']:g} ops/s: {_why_not(cs[0], slo)})" if cs else ""))
        out.append({"machine": machine, "dataset_fingerprint": ds, "protocol": proto, "scenario": sc, "level": level,
                    "workload": wl, "slo_ms": slo.ms,
                    "saturation_ops_s": best["offered_ops_s"] if best else None,
                    "reached": bool(best and past) or (best is None and bool(cs) and cs[0]["valid"]),
                    "achieved_ops_s": best["achieved_ops_s"] if best else None,
                    "past_ops_s": past["offered_ops_s"] if past else None,
                    "peak_achieved_ops_s": max((c["achieved_ops_s"] for c in cs if c["valid"]), default=None),
                    "note": note,
                    "rates_offered": [c["offered_ops_s"] for c in cs],
                    "client_bound_rates": [c["offered_ops_s"] for c in cs if not c["valid"]]})
    return out


def cells_from_curves(curve: list[dict], spec: dict) -> dict[tuple, dict[tuple, dict[str, float | str]]]:
    """(machine, dataset, protocol, level) → {scenario: {cell: t | 'failed' | 'client-bound'}} of load steps."""
    proto = campaign_protocol(spec)
    out: dict = defaultdict(lambda: defaultdict(dict))
    for c in curve:
        cell = f"{c['workload']} {c['loop']} " + (f"{c['offered_ops_s']:g}/s" if c["loop"] == "open" else f"{c['clients']}c")
        t = ("client-bound" if not c["valid"] else "failed" if (c["error_rate"] or 0) > MAX_ERROR_RATE or not c["ok"]
             else "thin" if c["response_p95_s"] is None else c["response_p95_s"])
        out[(c["machine"], c["dataset_fingerprint"], proto, c["level"])][c["scenario"]][cell] = t
    return out


def scores(cells: dict, timeout_s: float, failed_trials: dict[tuple, set] | None = None) -> list[dict]:
    """ClickBench's geometric mean of (10 ms + t)/(10 ms + t_best) per scenario at each (key, level)."""
    out = []
    for key, per in sorted(cells.items()):
        names = sorted({c for v in per.values() for c in v})
        dropped = [c for c in names if any(v.get(c) in ("client-bound", "thin") for v in per.values())]
        used = [c for c in names if c not in dropped]
        for sc in (failed_trials or {}).get(key, set()):
            per.setdefault(sc, {})
        best = {c: min((v[c] for v in per.values() if isinstance(v.get(c), float)), default=timeout_s) for c in used}
        for sc, v in sorted(per.items()):
            ts = {c: v[c] if isinstance(v.get(c), float) else timeout_s for c in used}
            ratios = [(OFFSET_S + ts[c]) / (OFFSET_S + best[c]) for c in used]
            out.append({"machine": key[0], "dataset_fingerprint": key[1], "protocol": key[2], "level": key[3],
                        "scenario": sc, "cells": len(used),
                        "failed_cells": sum(1 for c in used if not isinstance(v.get(c), float)),
                        "dropped_cells": len(dropped),
                        "score": math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None,
                        "rule": f"geomean (10 ms + t)/(10 ms + t_best), t = response p95 (isolated: warm p50); a failed "
                                f"cell (> 1 % failed or missed ops, or its trial failed) counts t = timeout {timeout_s:g} s; a "
                                "cell client-bound or with too few ops for a p95 (< 20) in any scenario is dropped for all"})
    return out


def cells_from_isolated(rows: list[dict], trials: dict, environment: dict, fingerprints: dict, spec: dict) -> dict:
    """The isolated protocol's cells: one per query, t = the median over repetitions of its warm p50."""
    p = spec.get("protocol") or {}
    proto = f"isolated/runs{p.get('runs')}/warmups{p.get('warmups')}/bindings{p.get('bindings')}/{p.get('prepare')}"
    got: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in rows:
        node = trials.get(r.get("trial"), {}).get("node")
        key = (machine_key(environment.get(node)), fingerprints.get(r.get("dataset"), r.get("dataset")), proto, r["level"])
        ok = r.get("n") and set(r.get("statuses") or {}) <= {"ok"}
        got[key][r["scenario"]][r["query"]].append(r["p50"] if ok else "failed")
    out: dict = defaultdict(lambda: defaultdict(dict))
    for key, per in got.items():
        for sc, qs in per.items():
            for q, vs in qs.items():
                out[key][sc][q] = "failed" if "failed" in vs else sorted(vs)[len(vs) // 2]
    return out


def failed_trials(trials: dict, environment: dict, fingerprints: dict, keys: list[tuple]) -> dict[tuple, set]:
    """Scenarios whose trial at a level failed (oom, error, invalid) without leaving a figure: every cell of
    theirs at that key and level is failed, not silently absent."""
    bad = {"oom", "error", "invalid", "timeout", "lost"}
    out: dict[tuple, set] = defaultdict(set)
    for t in trials.values():
        if t.get("status") in bad:
            for key in keys:
                if key[0] == machine_key(environment.get(t.get("node"))) and key[3] == t.get("level") \
                        and key[1] == fingerprints.get(t.get("dataset"), t.get("dataset")):
                    out[key].add(t["scenario"])
    return out


def tables(spec: dict, summary: dict, trials: dict) -> dict:
    """Everything the report shows of workloads: curves, saturation, scores (isolated and load)."""
    env = summary.get("environment") or {}
    fps = {i.get("dataset"): i.get("fingerprint") for i in summary.get("ingest") or [] if i.get("fingerprint")}
    w = spec.get("workload") or {}
    slo = Slo.of(w.get("slo_ms"))
    timeout_s = float((spec.get("protocol") or {}).get("timeout_s", 60.0))
    curve = curves(summary.get("load") or [], trials, env, fps, spec)
    cells = cells_from_curves(curve, spec) if curve else cells_from_isolated(summary.get("rows") or [], trials, env, fps, spec)
    return {"curves": curve, "saturation": saturation(curve, slo), "slo_ms": None if slo.overall_s is None else 1000 * slo.overall_s,
            "slo_text": slo.text,
            "scores": scores(cells, timeout_s, failed_trials(trials, env, fps, list(cells)))}


CURVE_COLUMNS = ["machine", "dataset", "dataset_fingerprint", "protocol", "scenario", "level", "budget", "workload", "loop",
                 "clients", "offered_ops_s", "achieved_ops_s", "repetitions", "ops", "ok", "missed", "error_rate",
                 "verdict", "response_p50_ms", "response_p95_ms", "response_p99_ms", "response_max_ms",
                 "service_p50_ms", "service_p95_ms", "service_p99_ms", "service_max_ms", "lag_p99_ms", "client_cores",
                 "class_response_p95_ms"]
SATURATION_COLUMNS = ["machine", "dataset_fingerprint", "protocol", "scenario", "level", "workload", "slo_ms",
                      "saturation_ops_s", "reached", "achieved_ops_s", "past_ops_s", "peak_achieved_ops_s",
                      "rates_offered", "client_bound_rates", "note"]
SCORE_COLUMNS = ["machine", "dataset_fingerprint", "protocol", "level", "scenario", "score", "cells", "failed_cells",
                 "dropped_cells", "rule"]


def curve_csv_rows(curve: list[dict]) -> list[dict]:
    """Curve rows with latencies in ms (column names carry their unit), histograms left out."""
    out = []
    for c in curve:
        row = {k: v for k, v in c.items() if not k.endswith("_s") or k in ("offered_ops_s", "achieved_ops_s")}
        row["class_response_p95_ms"] = class_text(c.get("classes") or {})
        row.update({k[:-2] + "_ms": (None if v is None else 1000 * v) for k, v in c.items()
                    if k.endswith("_s") and k not in ("offered_ops_s", "achieved_ops_s")})
        out.append(row)
    return out
