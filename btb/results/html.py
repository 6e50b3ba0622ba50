"""report.html: one self-contained page (inline CSS and SVG, no script, no network) that answers "which
paradigm, at what budget": failed self-checks first, then the winners, the plots, the tables, one
timeline per trial, and the environment. Every value from the data is HTML-escaped.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from html import escape
from pathlib import Path

from btb.results import plots
from btb.results.aggregate import level_sort_key
from btb.results.files import P95_MIN_N, P99_MIN_N, Bundle, ingest_rows, minimum_viable_rows

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:12.5px} th,td{border:1px solid #ddd;padding:3px 7px;
text-align:right} th{background:#f4f4f4} td.l,th.l{text-align:left}
.fail{color:#b00020;font-weight:600} .ok{color:#1b7f3b} .muted{color:#777} .tie{color:#8a6d00}
.checks-failed{border:2px solid #b00020;background:#fff3f3;padding:.6em 1em;margin:1em 0}
.checks-ok{border:1px solid #1b7f3b;background:#f3fff6;padding:.4em 1em;margin:1em 0}
figure{margin:1em 0} figure svg{max-width:100%;height:auto} details{margin:.4em 0}
summary{cursor:pointer} pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:11px}
"""


def _e(x) -> str:
    return escape("" if x is None else str(x))


def _ms(x) -> str:
    return "—" if x is None else (f"{x * 1e3:.3g}" if x * 1e3 < 10 else f"{x * 1e3:.1f}")


def _mib(x) -> str:
    return "—" if not x else f"{x / 2**20:.1f}"


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> str:
    """Cells are HTML already (escaped by the caller)."""
    th = "".join(f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def checks_html(checks) -> str:
    failed = [c for c in checks if not c.ok]
    if failed:
        items = "".join(f"<li><b>{_e(c.name)}</b>: {_e(c.detail)}<ul>"
                        + "".join(f"<li>{_e(f)}</li>" for f in c.failures) + "</ul></li>" for c in failed)
        head = f'<div class="checks-failed fail" id="checks"><b>{len(failed)} self-check(s) FAILED</b><ul>{items}</ul>'
    else:
        head = '<div class="checks-ok" id="checks"><b class="ok">every self-check passed</b>'
    passed = "".join(f"<li>{'✔' if c.ok else '✘'} {_e(c.name)}: {_e(c.detail)}</li>" for c in checks)
    return f"{head}<details><summary>all checks</summary><ul>{passed}</ul></details></div>"


def winners_html(b: Bundle) -> str:
    """Per dataset: rows queries, columns levels; the scenario with the lowest p50 among those that completed
    every run; '≈' names a runner-up whose median CI overlaps the winner's (not a clear win)."""
    rows = b.summary.get("rows", [])
    out = []
    for ds in sorted({t.get("dataset") for t in b.trials.values()}):
        levels = sorted({(t.get("level"), t.get("budget")) for t in b.trials.values() if t.get("dataset") == ds},
                        key=lambda kv: level_sort_key(kv[0], kv[1]))
        cells = defaultdict(list)
        for r in rows:
            if r.get("dataset") == ds and r.get("n") and r.get("statuses", {}).get("ok") == r.get("n_runs"):
                cells[(r["query"], r["level"])].append(r)
        body = []
        for q in b.query_ids():
            line = [f"<b>{_e(q)}</b>"]
            for lv, _ in levels:
                cand = sorted(cells.get((q, lv), []), key=lambda r: r["p50"])
                if not cand:
                    line.append('<span class="fail">none completed</span>')
                    continue
                w = cand[0]
                s = f"<b>{_e(w['scenario'])}</b> {_ms(w['p50'])} ms"
                ties = [r["scenario"] for r in cand[1:] if r["median_ci_low"] <= w["median_ci_high"]]
                if ties:
                    s += f' <span class="tie">≈ {_e(", ".join(ties))}</span>'
                line.append(s)
            body.append(line)
        out.append(f"<h3>{_e(ds)}</h3>" + _table(["query"] + [lv for lv, _ in levels], body))
    return "".join(out)


def latency_table_html(b: Bundle) -> str:
    head = ["dataset", "scenario", "level", "query", "status", "ok/runs", "p50 ms", "CI low", "CI high", "p95 ms",
            "p99 ms", "max ms", "peak MiB"]
    rows = []
    by = {(r["trial"], r["query"]): r for r in b.summary.get("rows", [])}
    for tid, t in sorted(b.trials.items(), key=lambda kv: (kv[1].get("dataset"), kv[1].get("scenario"),
                                                           level_sort_key(kv[1].get("level", ""), kv[1].get("budget")))):
        for q in b.query_ids():
            r = by.get((tid, q))
            base = [_e(t.get("dataset")), _e(t.get("scenario")), _e(t.get("level")), _e(q)]
            if not r:
                rows.append(base + [f'<span class="fail">{_e(t.get("status"))}</span>'] + ["—"] * 8)
                continue
            n = r.get("n", 0)
            st = r.get("statuses", {})
            ok = st.get("ok", 0) == r.get("n_runs")
            status = "ok" if ok else ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
            p95 = _ms(r.get("p95")) if n >= P95_MIN_N else f'<span class="muted">n&lt;{P95_MIN_N}</span>'
            p99 = _ms(r.get("p99")) if n >= P99_MIN_N else f'<span class="muted">n&lt;{P99_MIN_N}</span>'
            rows.append(base + [f'<span class="{"ok" if ok else "fail"}">{_e(status)}</span>',
                                f"{st.get('ok', 0)}/{r.get('n_runs')}", _ms(r.get("p50")), _ms(r.get("median_ci_low")),
                                _ms(r.get("median_ci_high")), p95, p99, _ms(r.get("max")), _mib(r.get("res_peak_bytes"))])
    return _table(head, rows, left=5)


def ingest_html(b: Bundle) -> str:
    rows = []
    for r in ingest_rows(b):
        ok = r["status"] == "ok"
        rows.append([_e(r["dataset"]), _e(r["scenario"]), _e(r["level"]),
                     f'<span class="{"ok" if ok else "fail"}">{_e(r["status"])}</span>',
                     "—" if r["ingest_s"] is None else f"{r['ingest_s']:.2f}",
                     "—" if r["rows_per_s"] is None else f"{r['rows_per_s']:,.0f}", _mib(r["bytes_on_disk"]),
                     _mib(r["peak_working_set_bytes"]), _mib(r["applied_limit_bytes"]), _e(r["node"]),
                     _e((r["message"] or "")[:160])])
    return _table(["dataset", "scenario", "level", "status", "seconds", "rows/s", "on disk MiB", "peak MiB",
                   "limit MiB", "node", "message"], rows, left=11)


def min_viable_html(b: Bundle) -> str:
    rows = [[_e(r["dataset"]), _e(r["scenario"]), f"<b>{_e(r['minimum_viable_level'])}</b>",
             _e(", ".join(f"{k}: {v}" for k, v in json.loads(r["level_statuses"]).items()))]
            for r in minimum_viable_rows(b)]
    return _table(["dataset", "scenario", "minimum viable", "every level"], rows, left=4)


def cold_warm_html(b: Bundle) -> str:
    """Cold runs (engine restarted, page cache dropped) against warm measured runs, from the records."""
    import statistics

    acc: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: {"cold": [], "warm": []})
    for r in b.records:
        if r.get("kind") == "run" and r.get("status") == "ok" and not r.get("warmup") and r.get("seconds") is not None:
            acc[(r.get("dataset"), r.get("scenario"), r.get("level"), r["query"])][
                "cold" if r.get("cold") else "warm"].append(r["seconds"])
    keys = [k for k, v in acc.items() if v["cold"]]
    if not keys:
        return ('<p class="muted">No cold runs in this campaign (the protocol measured warm runs only).</p>')
    budgets = {t.get("level"): t.get("budget") for t in b.trials.values()}
    rows = []
    for k in sorted(keys, key=lambda k: (k[0], k[1], level_sort_key(k[2], budgets.get(k[2])), int(k[3][1:]))):
        c, w = acc[k]["cold"], acc[k]["warm"]
        mc, mw = statistics.median(c), (statistics.median(w) if w else None)
        rows.append([_e(k[0]), _e(k[1]), _e(k[2]), _e(k[3]), f"{_ms(mc)} (n={len(c)})",
                     f"{_ms(mw)} (n={len(w)})" if mw is not None else "—",
                     f"{mc / mw:.1f}×" if mw else "—"])
    return _table(["dataset", "scenario", "level", "query", "cold p50 ms", "warm p50 ms", "cold / warm"], rows, left=4)


def trials_html(b: Bundle) -> str:
    rows = []
    for tid, t in sorted(b.trials.items()):
        st = t.get("status") or ""
        cls = "ok" if st == "completed" else "fail"
        rows.append([_e(tid), _e(t.get("dataset")), _e(t.get("scenario")), _e(t.get("level")),
                     f'<span class="{cls}">{_e(st)}</span>', _e(t.get("node")), _e(t.get("attempt")),
                     _e(str(t.get("message") or "")[:200])])
    return _table(["trial", "dataset", "scenario", "level", "status", "node", "attempt", "message"], rows, left=8)


def _figures(items: list[tuple[str, str]]) -> str:
    return "".join(f'<figure class="plot" data-title="{_e(t)}">{s}<figcaption class="muted">{_e(t)}</figcaption>'
                   f"</figure>" for t, s in items)


def render(b: Bundle, checks) -> str:
    c = b.campaign
    meta = c.get("meta", {})
    spec = c.get("spec", {})
    p = spec.get("protocol", {})
    parts = [f"<h1>btb campaign {_e(b.cid)}</h1>",
             f'<p class="muted">status {_e(b.summary.get("status"))} · {len(b.trials)} trial(s) · submitted '
             f'{_e(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(c.get("created", 0))))} from '
             f'{_e(meta.get("file"))} · protocol: {_e(p.get("warmups"))} warm-up(s), {_e(p.get("runs"))} run(s) × '
             f'{_e(p.get("bindings"))} binding(s), timeout {_e(p.get("timeout_s"))} s, prepare {_e(p.get("prepare"))}'
             f' · report written {_e(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))}</p>',
             checks_html(checks)]
    if b.summary.get("status") != "done":
        parts.append('<p class="fail">The campaign is still running: this report is partial.</p>')
    parts += ["<h2>Winner per query and memory level</h2>",
              '<p class="muted">lowest p50 among scenarios that completed every run at that level; ≈ names '
              "scenarios whose median's 95% CI overlaps the winner's.</p>", winners_html(b),
              "<h2>Latency vs memory budget</h2>", _figures(plots.latency_vs_budget(b)),
              "<h2>Cold vs warm</h2>", cold_warm_html(b),
              "<h2>Minimum viable RAM</h2>", min_viable_html(b),
              "<h2>Ingest</h2>", ingest_html(b),
              "<h2>Working set vs level</h2>", _figures(plots.working_set_vs_level(b)),
              "<h2>Phase split</h2>"]
    ph = plots.phase_split(b)
    parts.append(_figures(ph) if ph else '<p class="muted">No scenario of this campaign reports phases per run '
                 "(hybrid scenarios do: graph / transfer / sql).</p>")
    parts += ["<h2>Every figure</h2>", f"<details><summary>latency per (dataset, scenario, level, query); "
              f"p95 needs n ≥ {P95_MIN_N}, p99 n ≥ {P99_MIN_N}</summary>{latency_table_html(b)}</details>",
              "<h2>Trials</h2>", trials_html(b), "<h2>Timeline of each trial</h2>"]
    for tid in sorted(b.trials):
        svg = plots.trial_timeline(b, tid)
        t = b.trials[tid]
        title = f"{tid}: {t.get('scenario')} @ {t.get('level')} — {t.get('status')}"
        parts.append(f"<details open><summary>{_e(title)}</summary>"
                     + (f'<figure class="plot timeline" data-title="{_e(title)}">{svg}</figure>' if svg
                        else '<p class="muted">no monitor sample and no timed record: the trial ended before its engines '
                        'ran (see its message above)</p>') + "</details>")
    env = {"nodes": b.summary.get("environment", {}), "coordinator": meta.get("coordinator")}
    parts += ["<h2>Environment</h2>", f"<pre>{_e(json.dumps(env, indent=2, sort_keys=True, default=str))}</pre>",
              "<h2>Campaign</h2>", f"<pre>{_e(meta.get('text') or json.dumps(spec, indent=2))}</pre>",
              '<p class="muted">Files beside this page: records.parquet, samples.parquet, summary.csv, ingest.csv, '
              "minimum_viable.csv, campaign.yaml, environment.json. <code>btb report --from DIR</code> rebuilds "
              "this page from them.</p>"]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>btb {_e(b.cid)}</title><style>{CSS}</style></head><body>" + "\n".join(parts) + "</body></html>")


def write_html(path: Path, b: Bundle, checks) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(b, checks), encoding="utf-8")
    tmp.replace(path)
    return path
