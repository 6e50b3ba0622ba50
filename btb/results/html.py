"""report.html: one self-contained page (inline CSS and SVG, no script, no network) that answers "which
paradigm, at what budget": failed self-checks first, then the winners, the plots, the tables, one
timeline per trial, and the environment.

The markup lives in templates/ (jinja2, autoescaped: a name or message from a campaign file is text,
never markup); this module only turns a bundle into the values those templates print. The SVG plots are
the one thing marked safe: matplotlib writes them and escapes the text inside.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from btb.results import hotset, plots
from btb.results.aggregate import level_sort_key
from btb.results.files import P95_MIN_N, P99_MIN_N, Bundle, ingest_rows, level_label, minimum_viable_rows


@dataclass(frozen=True)
class Span:
    """A table cell's text in a styled span (`ok`, `fail`, `muted`)."""

    cls: str
    text: str
    kind = "span"


@dataclass(frozen=True)
class Bold:
    text: str
    kind = "b"


@dataclass(frozen=True)
class Winner:
    """A winners-table cell: the fastest scenario, its p50, and the runners-up its median CI overlaps."""

    scenario: str
    ms: str
    ties: str
    kind = "winner"


@dataclass(frozen=True)
class Table:
    """Rows of cells (plain values or the cells above); the first `left` columns are left-aligned."""

    head: list[str]
    rows: list[list]
    left: int = 1


def _blank_none(value):
    """None prints as nothing (jinja2 would print "None")."""
    return "" if value is None else value


_ENV = Environment(loader=PackageLoader("btb.results", "templates"), autoescape=True, finalize=_blank_none,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _ms(x) -> str:
    return "—" if x is None else (f"{x * 1e3:.3g}" if x * 1e3 < 10 else f"{x * 1e3:.1f}")


def _mib(x) -> str:
    return "—" if not x else f"{x / 2**20:.1f}"


def _status(ok: bool, text) -> Span:
    return Span("ok" if ok else "fail", text)


def winners(b: Bundle) -> list[tuple[str, Table]]:
    """Per dataset: rows queries, columns levels; the scenario with the lowest p50 among those that completed
    every run; '≈' names a runner-up whose median CI overlaps the winner's (not a clear win)."""
    rows = b.summary.get("rows", [])
    out = []
    for ds in sorted({t.get("dataset") for t in b.trials.values()}):
        lowest: dict = {}  # a relative level resolves to other bytes per scenario: one column per label
        for t in b.trials.values():
            if t.get("dataset") == ds:
                lv, bud = t.get("level"), t.get("budget")
                lowest[lv] = bud if lowest.get(lv) is None else min(lowest[lv], bud if bud is not None else lowest[lv])
        levels = sorted(lowest.items(), key=lambda kv: level_sort_key(kv[0], kv[1]))
        cells = defaultdict(list)
        for r in rows:
            if r.get("dataset") == ds and r.get("n") and r.get("statuses", {}).get("ok") == r.get("n_runs"):
                cells[(r["query"], r["level"])].append(r)
        body = []
        for q in b.query_ids():
            line: list = [Bold(q)]
            for lv, _ in levels:
                cand = sorted(cells.get((q, lv), []), key=lambda r: r["p50"])
                if not cand:
                    line.append(Span("fail", "none completed"))
                    continue
                w = cand[0]
                ties = [r["scenario"] for r in cand[1:] if r["median_ci_low"] <= w["median_ci_high"]]
                line.append(Winner(w["scenario"], _ms(w["p50"]), ", ".join(ties)))
            body.append(line)
        out.append((ds, Table(["query"] + [lv for lv, _ in levels], body)))
    return out


def latency_table(b: Bundle) -> Table:
    head = ["dataset", "scenario", "level", "query", "status", "ok/runs", "p50 ms", "CI low", "CI high", "p95 ms",
            "p99 ms", "max ms", "peak MiB"]
    rows = []
    by = {(r["trial"], r["query"]): r for r in b.summary.get("rows", [])}
    for tid, t in sorted(b.trials.items(), key=lambda kv: (kv[1].get("dataset"), kv[1].get("scenario"),
                                                           level_sort_key(kv[1].get("level", ""), kv[1].get("budget")))):
        for q in b.query_ids():
            r = by.get((tid, q))
            base = [t.get("dataset"), t.get("scenario"), level_label(t.get("level", ""), t.get("budget")), q]
            if not r:
                rows.append(base + [Span("fail", t.get("status"))] + ["—"] * 8)
                continue
            n = r.get("n", 0)
            st = r.get("statuses", {})
            ok = st.get("ok", 0) == r.get("n_runs")
            status = "ok" if ok else ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
            p95 = _ms(r.get("p95")) if n >= P95_MIN_N else Span("muted", f"n<{P95_MIN_N}")
            p99 = _ms(r.get("p99")) if n >= P99_MIN_N else Span("muted", f"n<{P99_MIN_N}")
            rows.append(base + [_status(ok, status), f"{st.get('ok', 0)}/{r.get('n_runs')}", _ms(r.get("p50")),
                                _ms(r.get("median_ci_low")), _ms(r.get("median_ci_high")), p95, p99,
                                _ms(r.get("max")), _mib(r.get("res_peak_bytes"))])
    return Table(head, rows, left=5)


def ingest_table(b: Bundle) -> Table:
    rows = []
    for r in ingest_rows(b):
        rows.append([r["dataset"], r["scenario"], r["level"], _status(r["status"] == "ok", r["status"]),
                     "—" if r["ingest_s"] is None else f"{r['ingest_s']:.2f}",
                     "—" if r["rows_per_s"] is None else f"{r['rows_per_s']:,.0f}", _mib(r["bytes_on_disk"]),
                     "—" if r.get("bytes_per_sample") is None else f"{r['bytes_per_sample']:.1f}",
                     "—" if r.get("x_dataset") is None else f"{r['x_dataset']:.1f}×",
                     _mib(r["peak_working_set_bytes"]), _mib(r["applied_limit_bytes"]), _mib(r.get("btb_rss_peak_bytes")),
                     r["node"], (r["message"] or "")[:160]])
    return Table(["dataset", "scenario", "level", "status", "seconds", "rows/s", "on disk MiB", "B/sample",
                  "× dataset", "peak MiB", "limit MiB", "btb RSS peak MiB", "node", "message"], rows, left=14)


def min_viable_table(b: Bundle) -> Table:
    rows = [[r["dataset"], r["scenario"], Bold(r["minimum_viable_level"]),
             ", ".join(f"{k}: {v}" for k, v in json.loads(r["level_statuses"]).items())]
            for r in minimum_viable_rows(b)]
    return Table(["dataset", "scenario", "minimum viable", "every level"], rows, left=4)


def cold_warm_table(b: Bundle) -> Table | None:
    """Cold runs (engine restarted, page cache dropped) against warm measured runs, from the records; None
    when the protocol measured warm runs only."""
    acc: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: {"cold": [], "warm": []})
    for r in b.records:
        if r.get("kind") == "run" and r.get("status") == "ok" and not r.get("warmup") and r.get("seconds") is not None:
            acc[(r.get("dataset"), r.get("scenario"), r.get("level"), r["query"])][
                "cold" if r.get("cold") else "warm"].append(r["seconds"])
    keys = [k for k, v in acc.items() if v["cold"]]
    if not keys:
        return None
    budgets = {t.get("level"): t.get("budget") for t in b.trials.values()}
    rows = []
    for k in sorted(keys, key=lambda k: (k[0], k[1], level_sort_key(k[2], budgets.get(k[2])), int(k[3][1:]))):
        c, w = acc[k]["cold"], acc[k]["warm"]
        mc, mw = statistics.median(c), (statistics.median(w) if w else None)
        rows.append([*k, f"{_ms(mc)} (n={len(c)})", f"{_ms(mw)} (n={len(w)})" if mw is not None else "—",
                     f"{mc / mw:.1f}×" if mw else "—"])
    return Table(["dataset", "scenario", "level", "query", "cold p50 ms", "warm p50 ms", "cold / warm"], rows, left=4)


def hot_set_table(b: Bundle) -> Table | None:
    """Per (dataset, scenario, query, level): the hot set and where it comes from, budget ÷ hot set, the p50,
    and what the query read at that level (btb.results.hotset); None without a sized level."""
    rows = hotset.ratio_rows(b.summary.get("rows", []), plots.store_sizes(b))
    if not rows:
        return None
    rows.sort(key=lambda r: (r["dataset"], r["scenario"], int(r["query"][1:]), r["budget"]))
    return Table(["dataset", "scenario", "query", "level", "budget MiB", "hot set MiB", "hot set from",
                  "budget ÷ hot set", "p50 ms", "read MiB (this level)", "hit MiB", "read from"],
                 [[r["dataset"], r["scenario"], r["query"], r["level"], _mib(r["budget"]), _mib(r["hot_set_bytes"]),
                   r["hot_set_source"], f"{r['ratio']:.3g}",
                   _ms(r["p50"]) if r["p50"] is not None else _status(False, r["status"]),
                   "—" if r["read_bytes"] is None else f"{r['read_bytes'] / 2**20:.2f}",
                   "—" if r["hit_bytes"] is None else f"{r['hit_bytes'] / 2**20:.2f}", r["read_source"] or "—"]
                  for r in rows], left=4)


def trials_table(b: Bundle) -> Table:
    rows = []
    for tid, t in sorted(b.trials.items()):
        st = t.get("status") or ""
        rows.append([tid, t.get("dataset"), t.get("scenario"), t.get("level"), _status(st == "completed", st),
                     t.get("node"), t.get("attempt"), str(t.get("message") or "")[:200]])
    return Table(["trial", "dataset", "scenario", "level", "status", "node", "attempt", "message"], rows, left=8)


def workload_section(b: Bundle) -> dict:
    """The load workloads' curves, saturation table and the summary scores (btb/results/workload.py)."""
    from btb.results import workload as w
    from btb.results.workload_plots import throughput_latency

    t = w.tables(b.campaign.get("spec", {}), b.summary, b.trials)
    sat = Table(["scenario", "level", "workload", "saturation ops/s", "reached", "peak achieved ops/s", "rates offered",
                 "client-bound", "note", "key"],
                [[r["scenario"], r["level"], r["workload"], _blank_none(r["saturation_ops_s"]),
                  "yes" if r["reached"] else "no (a bound)",
                  "" if r["peak_achieved_ops_s"] is None else f"{r['peak_achieved_ops_s']:.1f}", ", ".join(f"{x:g}" for x in r["rates_offered"]), ", ".join(f"{x:g}" for x in r["client_bound_rates"]),
                  r["note"], f"{r['machine']} · {r['protocol']}"] for r in t["saturation"]], left=3)
    steps = Table(["scenario", "level", "step", "offered", "achieved", "resp p50", "resp p95", "resp p99", "serv p99",
                   "errors", "verdict", "resp p95 per class (ms)"],
                  [[c["scenario"], c["level"], f"{c['workload']} {c['loop']} {c['clients']}c",
                    _blank_none(c["offered_ops_s"]), f"{c['achieved_ops_s']:.1f}", _ms(c["response_p50_s"]),
                    _ms(c["response_p95_s"]), _ms(c["response_p99_s"]), _ms(c["service_p99_s"]),
                    "" if c["error_rate"] is None else f"{100 * c['error_rate']:.1f} %",
                    _status(c["valid"], c["verdict"]), w.class_text(c.get("classes") or {})] for c in t["curves"]],
                  left=3)
    scores = Table(["scenario", "level", "score", "cells", "failed", "dropped", "key"],
                   [[r["scenario"], r["level"], "" if r["score"] is None else f"{r['score']:.2f}", r["cells"],
                     r["failed_cells"], r["dropped_cells"], f"{r['machine']} · {r['protocol']}"]
                    for r in t["scores"]], left=2)
    live = b.summary.get("live_ingest") or []
    fresh = [(r.get("freshness_summary") or {}) for r in live]
    ingest = Table(["scenario", "level", "beside", "offered samples/s", "achieved samples/s", "append p99",
                    "freshness p50", "freshness p95", "freshness p99", "errors"],
                   [[r["scenario"], r["level"], r["label"], f"{r.get('offered_samples_per_s') or 0:.0f}",
                     f"{r.get('achieved_samples_per_s') or 0:.0f}", _ms((r.get("service_summary") or {}).get("p99")),
                     _ms(f.get("p50")), _ms(f.get("p95")), _ms(f.get("p99")),
                     r.get("errors") if r.get("status") != "error" else r.get("message")] for r, f in zip(live, fresh)],
                   left=3)
    return {"live_ingest": ingest if live else None, "store_checks": store_checks(b), "ingest_trials": ingest_trials(b),
            "load_plots": _svgs(throughput_latency(t["curves"], t["slo_ms"])) if t["curves"] else [],
            "saturation": sat if t["curves"] else None, "load_steps": steps if t["curves"] else None,
            "scores": scores, "score_rule": t["scores"][0]["rule"] if t["scores"] else "", "slo_text": t["slo_text"]}


def ingest_trials(b: Bundle) -> Table | None:
    """Live ingest per trial, every step merged (btb/results/liveingest.py), with its store check's outcome."""
    from btb.results.liveingest import trial_rows

    rows = trial_rows(b.records, b.trials)
    if not rows:
        return None
    return Table(["scenario", "level", "offered samples/s", "achieved samples/s", "append p95", "start lag p95",
                  "freshness n", "p50", "p95", "p99", "write errors", "answers after writes"],
                 [[r["scenario"], r["level"], f"{r['offered_samples_per_s']:.0f}", f"{r['achieved_samples_per_s']:.0f}",
                   *(_ms(None if r[k] is None else r[k] / 1e3) for k in ("append_p95_ms", "start_lag_p95_ms")),
                   r["freshness_n"], *(_ms(None if r[k] is None else r[k] / 1e3) for k in
                                       ("freshness_p50_ms", "freshness_p95_ms", "freshness_p99_ms")), r["write_errors"],
                   _status(r["store_check"].startswith("ok"), r["store_check"] if r["store_check"].startswith("not run")
                           else f"{r['store_check']}: {r['answers_checked']} answers, {r['answers_changed']} differ")]
                  for r in rows], left=2)


def store_checks(b: Bundle) -> Table | None:
    """The store check after each trial's last run (btb/workflow/storecheck.py): after live writes, every
    query × binding against the oracle updated with what was committed, and the sample count."""
    recs = [r for r in b.records if r.get("kind") == "store_check"]
    if not recs:
        return None
    return Table(["trial", "scenario", "level", "held to", "appended samples", "changes", "answers checked",
                  "outcome"],
                 [[r["trial"], r["scenario"], b.trials.get(r["trial"], {}).get("level", ""),
                   "oracle + writes" if r.get("after_writes") else "oracle", _blank_none(r.get("appended_samples")),
                   _blank_none(r.get("changes")), len(r.get("answers_sampled") or []),
                   _status(r.get("status") == "ok", r.get("message") or r.get("status"))]
                  for r in sorted(recs, key=lambda r: r["trial"])], left=3)


def _svgs(items: list[tuple[str, str]]) -> list[tuple[str, Markup]]:
    return [(title, Markup(svg)) for title, svg in items]


def timelines(b: Bundle) -> list[tuple[str, Markup | None]]:
    """(title, SVG or None) per trial, in trial order."""
    out = []
    for tid in sorted(b.trials):
        svg = plots.trial_timeline(b, tid)
        t = b.trials[tid]
        out.append((f"{tid}: {t.get('scenario')} @ {t.get('level')} — {t.get('status')}", svg and Markup(svg)))
    return out


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def render(b: Bundle, checks) -> str:
    c = b.campaign
    meta = c.get("meta", {})
    spec = c.get("spec", {})
    env = {"nodes": b.summary.get("environment", {}), "coordinator": meta.get("coordinator")}
    return _ENV.get_template("report.html.j2").render(
        cid=b.cid, status=b.summary.get("status"), n_trials=len(b.trials), submitted=_utc(c.get("created", 0)),
        file=meta.get("file"), protocol=spec.get("protocol", {}), written=_utc(time.time()),
        checks=checks, failed=[x for x in checks if not x.ok], winners=winners(b),
        latency_plots=_svgs(plots.latency_vs_budget(b)), cold_warm=cold_warm_table(b),
        min_viable=min_viable_table(b), ingest=ingest_table(b), working_set_plots=_svgs(plots.working_set_vs_level(b)),
        phase_plots=_svgs(plots.phase_split(b)), hot_set_plots=_svgs(plots.latency_vs_hot_set(b)),
        hot_set=hot_set_table(b), p95_min_n=P95_MIN_N, p99_min_n=P99_MIN_N, latency=latency_table(b),
        trials=trials_table(b), timelines=timelines(b), workload=workload_section(b),
        environment=json.dumps(env, indent=2, sort_keys=True, default=str),
        campaign_text=meta.get("text") or json.dumps(spec, indent=2))


def write_html(path: Path, b: Bundle, checks) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(b, checks), encoding="utf-8")
    tmp.replace(path)
    return path
