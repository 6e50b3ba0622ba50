"""Plots of a campaign as inline SVG (matplotlib, Agg backend): the report opens offline, with no script and
no CDN, and the figures are vector (sharp when zoomed, printable, text searchable: fonts are not turned
into paths). Pure: a bundle in, SVG strings out.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from btb.results import hotset  # noqa: E402
from btb.results.aggregate import level_sort_key  # noqa: E402
from btb.results.files import Bundle, ingest_rows  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 8, "axes.titlesize": 9, "figure.dpi": 72,
                     "svg.hashsalt": "btb"})  # deterministic ids: the same data gives the same SVG
FAILED = {"oom": "OOM", "error": "error", "invalid": "invalid", "cancelled": "cancelled", "skipped": "skipped"}
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]
MAX_POINTS = 1500  # per timeline series: enough to see every phase, small enough to keep the page light


def svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None, "Format": None,
                                                                  "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # inline: no XML prolog or DOCTYPE
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)


def _levels(b: Bundle, dataset: str) -> list[tuple[str, int | None]]:
    seen = {}
    for t in b.trials.values():
        if t.get("dataset") == dataset:
            seen[t.get("level")] = t.get("budget")
    return sorted(seen.items(), key=lambda kv: level_sort_key(kv[0], kv[1]))


def _datasets(b: Bundle) -> list[str]:
    return sorted({t.get("dataset") for t in b.trials.values()})


def _scenarios(b: Bundle) -> list[str]:
    order = b.campaign["spec"].get("scenarios") or []
    return [s for s in order if any(t.get("scenario") == s for t in b.trials.values())]


def _color(b: Bundle, scenario: str) -> str:
    sc = _scenarios(b)
    return COLORS[sc.index(scenario) % len(COLORS)] if scenario in sc else "gray"


def _qkey(q: str) -> int:
    return int(q[1:]) if q[1:].isdigit() else 0


def latency_vs_budget(b: Bundle) -> list[tuple[str, str]]:
    """Per dataset: one panel per query, p50 latency (log) against the memory level, one line per scenario,
    the median's 95 % CI as a band, levels where the scenario failed marked at the top of the panel."""
    out = []
    rows = {(r["dataset"], r["scenario"], r["level"], r["query"]): r for r in b.summary.get("rows", [])}
    trial_at = {(t.get("dataset"), t.get("scenario"), t.get("level")): t for t in b.trials.values()}
    for ds in _datasets(b):
        levels = _levels(b, ds)
        queries = b.query_ids()
        ncol = min(4, len(queries))
        nrow = math.ceil(len(queries) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.5 * nrow), squeeze=False)
        x = list(range(len(levels)))
        for i, q in enumerate(queries):
            ax = axes[i // ncol][i % ncol]
            top = blended_transform_factory(ax.transData, ax.transAxes)
            for sc in _scenarios(b):
                c = _color(b, sc)
                pts = [(xi, rows.get((ds, sc, lv, q))) for xi, (lv, _) in zip(x, levels)]
                ok = [(xi, r) for xi, r in pts if r and r.get("n") and r.get("p50") is not None]
                if ok:
                    xs = [xi for xi, _ in ok]
                    ax.plot(xs, [r["p50"] * 1e3 for _, r in ok], "o-", color=c, ms=3, lw=1.2, label=sc)
                    ax.fill_between(xs, [r["median_ci_low"] * 1e3 for _, r in ok],
                                    [r["median_ci_high"] * 1e3 for _, r in ok], color=c, alpha=0.18, lw=0)
                sc_list = _scenarios(b)
                off = (sc_list.index(sc) - (len(sc_list) - 1) / 2) * 0.12 if sc in sc_list else 0.0
                for xi, (lv, _) in zip(x, levels):
                    t = trial_at.get((ds, sc, lv))
                    st = (t or {}).get("status")
                    r = rows.get((ds, sc, lv, q))
                    if st in FAILED or (r and not r.get("n")):
                        label = FAILED.get(st, "failed")
                        ax.plot([xi + off], [0.96], marker="x", color=c, ms=7, mew=2, transform=top, clip_on=False)
                        ax.text(xi + off, 0.88, label, color=c, fontsize=6, ha="center", va="top", transform=top)
            ax.set_yscale("log")
            ax.set_title(q)
            ax.set_xticks(x, [lv for lv, _ in levels], rotation=30, fontsize=7)
            ax.set_xlim(-0.5, len(levels) - 0.5)
            ax.grid(True, which="both", alpha=0.25)
            if i % ncol == 0:
                ax.set_ylabel("p50 latency (ms, log)")
        for j in range(len(queries), nrow * ncol):
            axes[j // ncol][j % ncol].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
                       bbox_to_anchor=(0.5, 1.02))
        fig.suptitle(f"{ds}: p50 latency vs memory level (band: 95% CI of the median; x: the level failed)",
                     y=1.06, fontsize=10)
        fig.tight_layout()
        out.append((f"latency vs memory — {ds}", svg(fig)))
    return out


def store_sizes(b: Bundle) -> dict[tuple, int]:
    """(dataset, scenario) -> bytes on disk its ingest measured."""
    return {(r["dataset"], r["scenario"]): r["bytes_on_disk"] for r in ingest_rows(b) if r.get("bytes_on_disk")}


def latency_vs_hot_set(b: Bundle) -> list[tuple[str, str]]:
    """Per dataset: one panel per query, p50 latency (log) against budget ÷ hot set (log), one line per
    scenario; filled markers where the hot set is what the query's cold run read (btb.results.hotset), hollow
    where it is the store size; a level that failed the query as an x at the top; budget = hot set dashed."""
    out = []
    rows = hotset.ratio_rows(b.summary.get("rows", []), store_sizes(b))
    for ds in _datasets(b):
        mine = [r for r in rows if r["dataset"] == ds]
        queries = [q for q in b.query_ids() if any(r["query"] == q for r in mine)]
        if not queries:
            continue
        ncol = min(4, len(queries))
        nrow = math.ceil(len(queries) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.5 * nrow), squeeze=False)
        for i, q in enumerate(queries):
            ax = axes[i // ncol][i % ncol]
            top = blended_transform_factory(ax.transData, ax.transAxes)
            for sc in _scenarios(b):
                pts = sorted((r for r in mine if r["scenario"] == sc and r["query"] == q), key=lambda r: r["ratio"])
                c, ok = _color(b, sc), [r for r in pts if r["p50"] is not None]
                if ok:
                    ax.plot([r["ratio"] for r in ok], [r["p50"] * 1e3 for r in ok], "-", color=c, lw=1.2, label=sc)
                    for r in ok:
                        ax.plot([r["ratio"]], [r["p50"] * 1e3], "o", ms=4, color=c,
                                mfc=c if r["hot_set_source"] != "store size" else "white")
                for r in pts:
                    if r["p50"] is None:
                        ax.plot([r["ratio"]], [0.96], marker="x", color=c, ms=7, mew=2, transform=top, clip_on=False)
            ax.axvline(1.0, color="k", ls="--", lw=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(q)
            ax.grid(True, which="both", alpha=0.25)
            if i % ncol == 0:
                ax.set_ylabel("p50 latency (ms, log)")
            if i // ncol == nrow - 1:
                ax.set_xlabel("budget ÷ hot set (log)")
        for j in range(len(queries), nrow * ncol):
            axes[j // ncol][j % ncol].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, 1.02))
        fig.suptitle(f"{ds}: p50 latency vs budget ÷ hot set (hollow: hot set = store size; x: the level failed)",
                     y=1.06, fontsize=10)
        fig.tight_layout()
        out.append((f"latency vs budget ÷ hot set — {ds}", svg(fig)))
    return out


def working_set_vs_level(b: Bundle) -> list[tuple[str, str]]:
    """Per dataset: the engines' peak working set during the trial against the level, per scenario, with
    the budget itself as a dashed line."""
    out = []
    peak: dict[str, int] = {}
    for tid, rows in b.samples.items():
        peak[tid] = max((max(s.get("mem_bytes") or 0, s.get("mem_peak_bytes") or 0) for s in rows), default=0)
    for ds in _datasets(b):
        levels = _levels(b, ds)
        x = list(range(len(levels)))
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        for sc in _scenarios(b):
            pts = []
            for xi, (lv, _) in zip(x, levels):
                tid = next((k for k, t in b.trials.items() if (t.get("dataset"), t.get("scenario"), t.get("level"))
                            == (ds, sc, lv)), None)
                if tid and peak.get(tid):
                    pts.append((xi, peak[tid] / 2**20, b.trials[tid].get("status")))
            if pts:
                c = _color(b, sc)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=c, label=sc, ms=4)
                for xi, y, st in pts:
                    if st in FAILED:
                        ax.annotate(FAILED[st], (xi, y), textcoords="offset points", xytext=(0, 6), ha="center",
                                    fontsize=6, color=c)
        bx = [(xi, bud / 2**20) for xi, (_, bud) in zip(x, levels) if bud]
        if bx:
            ax.plot([p[0] for p in bx], [p[1] for p in bx], "k--", lw=1, label="budget")
        ax.set_xticks(x, [lv for lv, _ in levels], rotation=30)
        ax.set_ylabel("peak working set (MiB)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.25)
        ax.legend(frameon=False, fontsize=7)
        ax.set_title(f"{ds}: engines' peak working set per trial (all phases)")
        fig.tight_layout()
        out.append((f"working set vs level — {ds}", svg(fig)))
    return out


def phase_split(b: Bundle) -> list[tuple[str, str]]:
    """Mean time per phase of measured ok runs, per (dataset, level, scenario, query), for scenarios whose
    engine reports phases (hybrids: graph / transfer / sql / decode)."""
    acc: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in b.records:
        if r.get("kind") == "run" and not r.get("warmup") and r.get("status") == "ok" and r.get("phases"):
            for k, v in r["phases"].items():
                if isinstance(v, (int, float)):
                    acc[(r.get("dataset"), r.get("level"), r.get("scenario"), r["query"])][k].append(v)
    if not acc:
        return []
    out = []
    for ds, lv in sorted({(k[0], k[1]) for k in acc}):
        keys = sorted((k for k in acc if k[0] == ds and k[1] == lv), key=lambda k: (k[2], _qkey(k[3])))
        phases = sorted({p for k in keys for p in acc[k]})
        fig, ax = plt.subplots(figsize=(7, 0.28 * len(keys) + 1.2))
        left = [0.0] * len(keys)
        for i, ph in enumerate(phases):
            vals = [sum(acc[k].get(ph, [0])) / max(1, len(acc[k].get(ph, [0]))) * 1e3 for k in keys]
            ax.barh(range(len(keys)), vals, left=left, color=COLORS[i % len(COLORS)], label=ph)
            left = [a + v for a, v in zip(left, vals)]
        ax.set_yticks(range(len(keys)), [f"{k[2]} {k[3]}" for k in keys], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("mean time per run (ms)")
        ax.legend(frameon=False, fontsize=7, ncol=len(phases))
        ax.set_title(f"{ds} @ {lv}: where the time of a run goes")
        fig.tight_layout()
        out.append((f"phase split — {ds} @ {lv}", svg(fig)))
    return out


def _thin(xs: list, ys: list) -> tuple[list, list]:
    if len(xs) <= MAX_POINTS:
        return xs, ys
    step = math.ceil(len(xs) / MAX_POINTS)
    return xs[::step], ys[::step]


def trial_timeline(b: Bundle, tid: str) -> str | None:
    """Memory, CPU and IO of the trial's engines over time, the ingest and each query batch shaded and
    named, and every measured run's latency at the time it ended."""
    samples = sorted(b.samples.get(tid, []), key=lambda s: s.get("t") or 0)
    recs = [r for r in b.records if r.get("trial") == tid]
    if not samples and not recs:
        return None
    starts = [s["t"] for s in samples if s.get("t")] + [r["t_start"] for r in recs if r.get("t_start")]
    if not starts:
        return None
    t0 = min(starts)
    fig, axes = plt.subplots(4, 1, figsize=(9, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2, 2]})
    _resource_lines(axes, samples, t0)
    _run_latencies(axes[3], recs, t0)
    _phase_marks(axes, recs, t0)
    axes[0].set_ylabel("memory (MiB)")
    axes[1].set_ylabel("CPU (cores)")
    axes[2].set_ylabel("IO (MiB/s)")
    axes[3].set_ylabel("run latency (ms)")
    axes[3].set_xlabel("seconds since the trial started")
    for ax in axes:
        ax.grid(True, alpha=0.25)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False, fontsize=6, loc="upper right")
    t = b.trials.get(tid, {})
    fig.suptitle(f"{tid}: {t.get('dataset')} {t.get('scenario')} @ {t.get('level')} — {t.get('status')}",
                 y=1.03, fontsize=9)
    fig.tight_layout()
    return svg(fig)


def _rate(rows: list[dict], key: str, scale: float, t0: float) -> tuple[list, list]:
    """A cumulative counter (CPU seconds, IO bytes) as a rate per second between consecutive samples."""
    rx, ry = [], []
    for a, z in zip(rows, rows[1:]):
        dt = (z.get("t") or 0) - (a.get("t") or 0)
        if dt > 0 and a.get(key) is not None and z.get(key) is not None:
            rx.append(z["t"] - t0)
            ry.append(max(0.0, (z[key] - a[key]) / scale / dt))
    return _thin(rx, ry)


def _resource_lines(axes, samples: list[dict], t0: float) -> None:
    """Per engine (target): memory on the top panel with the applied limit, CPU and IO rates below."""
    by_target: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        by_target[s.get("target") or "engine"].append(s)
    limit = None
    for i, (target, rows) in enumerate(sorted(by_target.items())):
        c = COLORS[i % len(COLORS)]
        ts = [s["t"] - t0 for s in rows]
        xs, ys = _thin(ts, [(s.get("mem_bytes") or 0) / 2**20 for s in rows])
        axes[0].plot(xs, ys, color=c, lw=1, label=f"{target} memory")
        limit = limit or next((s.get("mem_limit_bytes") for s in rows if s.get("mem_limit_bytes")), None)
        for ax, key, scale, lab in ((axes[1], "cpu_s", 1.0, "CPU (cores)"),
                                    (axes[2], "io_read_bytes", 2**20, "read MiB/s"),
                                    (axes[2], "io_write_bytes", 2**20, "write MiB/s")):
            rx, ry = _rate(rows, key, scale, t0)
            if rx:
                ax.plot(rx, ry, lw=0.9, color=c if key != "io_write_bytes" else COLORS[(i + 3) % len(COLORS)],
                        label=f"{target} {lab}" if ax is axes[2] else target)
    if limit:
        axes[0].axhline(limit / 2**20, color="red", ls="--", lw=1, label="limit")


def _run_latencies(ax, recs: list[dict], t0: float) -> None:
    """Every measured run's latency (log) at the time it ended: warm ok, cold ok, not ok apart."""
    runs = [r for r in recs if r.get("kind") == "run" and r.get("t_end") and r.get("seconds") is not None]
    for label, sel, color, marker in (
            ("ok", [r for r in runs if r.get("status") == "ok" and not r.get("cold")], "black", "o"),
            ("cold", [r for r in runs if r.get("status") == "ok" and r.get("cold")], "tab:blue", "^"),
            ("not ok", [r for r in runs if r.get("status") != "ok"], "red", "x")):
        if sel:
            ax.scatter([r["t_end"] - t0 for r in sel], [max(r["seconds"], 1e-6) * 1e3 for r in sel], s=5,
                       color=color, marker=marker, label=label, alpha=0.7)
    ax.set_yscale("log")


def _phase_marks(axes, recs: list[dict], t0: float) -> None:
    """On every panel: each provisioning as a dotted line, the ingest and each query batch shaded and
    named on top; the answer gate's check count in a corner."""
    for r in recs:
        if r.get("kind") == "provision" and (r.get("t") or r.get("t_start")):
            for ax in axes:
                ax.axvline((r.get("t") or r["t_start"]) - t0, color="gray", ls=":", lw=1)
    spans = [(r["t_start"] - t0, r["t_end"] - t0, "ingest" if r["kind"] == "ingest" else r.get("query", ""))
             for r in recs if r.get("kind") in ("ingest", "batch") and r.get("t_start") and r.get("t_end")]
    for k, (a, z, name) in enumerate(sorted(spans)):
        for ax in axes:
            ax.axvspan(a, z, color="#f0c36d" if name == "ingest" else ("#9ecae1" if k % 2 else "#c6dbef"),
                       alpha=0.35, lw=0)
        axes[0].text((a + z) / 2, 1.01, name, transform=blended_transform_factory(axes[0].transData,
                                                                                   axes[0].transAxes),
                     ha="center", va="bottom", fontsize=6, rotation=90 if z - a < 3 else 0)
    val = [r for r in recs if r.get("kind") == "validation"]
    if val:
        axes[0].text(0.01, 0.92, f"answer gate: {len(val)} check(s)", transform=axes[0].transAxes, fontsize=6)
