"""Throughput–latency curves of load workloads (inline SVG, like every plot of the report).

One figure per (comparison key, workload, loop), one panel per memory level: response-time p50, p95 and
p99 (log ms) against the offered rate (open loop) or the achieved throughput (closed loop and sessions,
which offer no rate), one colour per scenario; a client-bound step is an ×, the SLO a grey line.
"""

from __future__ import annotations

from collections import defaultdict

import matplotlib.pyplot as plt

from btb.results.aggregate import level_sort_key
from btb.results.plots import COLORS, svg

STYLES = (("response_p50_s", ":", "p50"), ("response_p95_s", "-", "p95"), ("response_p99_s", "--", "p99"))


def throughput_latency(curve: list[dict], slo_ms: float | None) -> list[tuple[str, str]]:
    """One figure per (key, workload, loop), a panel per level; `slo_ms` None: the SLO is per query class
    (the saturation table holds it), so no single line is drawn."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for c in curve:
        groups[(c["machine"], c["dataset"], c["protocol"], c["workload"], c["loop"])].append(c)
    scenarios = sorted({c["scenario"] for c in curve})
    out = []
    for (machine, ds, proto, wl, loop), cs in sorted(groups.items()):
        levels = sorted({(c["level"], c["budget"]) for c in cs}, key=lambda lb: level_sort_key(*lb))
        fig, axes = plt.subplots(1, len(levels), figsize=(3.6 * len(levels), 2.8), squeeze=False)
        xkey = "offered_ops_s" if loop == "open" else "achieved_ops_s"
        for ax, (level, _) in zip(axes[0], levels):
            for sc in scenarios:
                pts = sorted((c for c in cs if c["scenario"] == sc and c["level"] == level), key=lambda c: c[xkey] or 0)
                color = COLORS[scenarios.index(sc) % len(COLORS)]
                for key, style, name in STYLES:
                    xy = [(c[xkey], c[key] * 1e3) for c in pts if c[key] is not None]
                    if xy:
                        ax.plot(*zip(*xy), style, marker="o", ms=3, lw=1.1, color=color,
                                label=f"{sc} {name}" if name == "p95" or len(scenarios) == 1 else None)
                bad = [(c[xkey], c["response_p95_s"] * 1e3) for c in pts if not c["valid"] and c["response_p95_s"]]
                if bad:
                    ax.plot(*zip(*bad), "x", color=color, ms=8, mew=2)
            if slo_ms is not None:
                ax.axhline(slo_ms, color="grey", lw=0.8)
            ax.set_yscale("log")
            ax.set_title(f"{level}")
            ax.set_xlabel("offered ops/s" if loop == "open" else "achieved ops/s")
            ax.grid(True, which="both", alpha=0.25)
        axes[0][0].set_ylabel("response time (ms, log)")
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncol=min(6, len(labels)), frameon=False,
                       bbox_to_anchor=(0.5, 1.1))
        fig.suptitle(f"{ds} · {wl} {loop} loop: p50 (dotted) p95 (solid) p99 (dashed); × client-bound; "
                     + (f"grey: SLO {slo_ms:g} ms" if slo_ms is not None else "SLO per query class (table)"),
                     y=1.18, fontsize=9)
        fig.tight_layout()
        out.append((f"{wl} {loop} — {ds} — {machine} — {proto}", svg(fig)))
    return out
