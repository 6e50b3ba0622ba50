"""Two campaigns side by side (like `asv compare`): per (dataset, scenario, level, query) the p50 of each,
the ratio B/A, and a verdict that only calls a change when the medians' 95 % CIs do not overlap. Pure."""

from __future__ import annotations

import math

from btb.results.aggregate import level_sort_key
from btb.results.files import Bundle


def compare(a: Bundle, b: Bundle) -> list[dict]:
    ra = {(r["dataset"], r["scenario"], r["level"], r["query"]): r for r in a.summary.get("rows", [])}
    rb = {(r["dataset"], r["scenario"], r["level"], r["query"]): r for r in b.summary.get("rows", [])}
    budgets = {(t.get("level")): t.get("budget") for t in list(a.trials.values()) + list(b.trials.values())}
    keys = sorted(set(ra) | set(rb), key=lambda k: (k[0], k[1], level_sort_key(k[2], budgets.get(k[2])),
                                                    int(k[3][1:]) if k[3][1:].isdigit() else 0))
    out = []
    for k in keys:
        x, y = ra.get(k), rb.get(k)
        row = {"dataset": k[0], "scenario": k[1], "level": k[2], "query": k[3],
               "a_p50_ms": _p50(x), "b_p50_ms": _p50(y), "ratio_b_over_a": None, "verdict": ""}
        if row["a_p50_ms"] is None or row["b_p50_ms"] is None:
            row["verdict"] = "only in A" if y is None else "only in B" if x is None else "not measured in both"
        else:
            row["ratio_b_over_a"] = row["b_p50_ms"] / row["a_p50_ms"] if row["a_p50_ms"] > 0 else math.inf
            if x["median_ci_high"] < y["median_ci_low"]:
                row["verdict"] = "slower"
            elif y["median_ci_high"] < x["median_ci_low"]:
                row["verdict"] = "faster"
            else:
                row["verdict"] = "same (CIs overlap)"
        out.append(row)
    return out


def _p50(r: dict | None) -> float | None:
    if not r or not r.get("n") or r.get("p50") is None or r.get("statuses", {}).get("ok") != r.get("n_runs"):
        return None
    return r["p50"] * 1e3


def geomean_ratio(rows: list[dict]) -> float | None:
    rs = [r["ratio_b_over_a"] for r in rows if r["ratio_b_over_a"] and math.isfinite(r["ratio_b_over_a"])]
    return math.exp(sum(map(math.log, rs)) / len(rs)) if rs else None
