"""F1's series layout and its client-side decoding.

Series are `:Chunk` nodes, one per (point, UTC day), linked `(:Point)-[:HAS_CHUNK]->(:Chunk)`: timestamps
(`ts`, int epoch microseconds) and values (`vs`, float64) as arrays, with `n`, `min`, `max`, `sum` of the
day, and `idx`/`day` (days since the Unix epoch) indexed on `idx` so the chunks of a point set are found
without walking the structure again.

Queries needing sub-day data (every window of Q6–Q13 starts or ends inside a day) fetch the overlapping
chunks — on FalkorDB as `toJSON` text (one bulk string per array: the C RESP parser takes it whole, where a
list reply costs a Python object per sample; measured 238-448 ms -> see the commit) — and decode them on
the client with numpy: FalkorDB can slice lists in Cypher, but aggregating
per-hour or per-point over list comprehensions rebuilds every array per row. The decode is timed as its
own phase and counted in the query's latency. The per-query arithmetic below is written from
`queries/README.md` and shares no code with the oracle.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow.parquet as pq

from btb.dataset.format import US_PER_DAY, epoch_us, series_files
from btb.engines.graph.client import FalkorSession

CHUNK_BATCH_SAMPLES = 100_000  # samples per UNWIND statement (parameter text ~2.5 MB)
KELVIN = 273.15
EMPTY = (np.empty(0, np.int64), np.empty(0, np.float64))


def bind_window(params: dict[str, Any]) -> dict[str, Any]:
    """Add a binding's window in the chunks' terms: `start_us`/`end_us` (samples) and the days `d0`..`d1` of
    the chunks it touches (the end is exclusive). Every chunk layout (F1, M1, O1) binds through this."""
    if "start" in params:
        params["start_us"] = epoch_us(params["start"])
        params["d0"] = params["start_us"] // US_PER_DAY
    if "end" in params:
        params["end_us"] = epoch_us(params["end"])
        params["d1"] = (params["end_us"] - 1) // US_PER_DAY
    return params


CREATE_CHUNKS = ("UNWIND $rows AS r MATCH (p:Point {idx: r.idx}) "
                 "CREATE (p)-[:HAS_CHUNK]->(:Chunk {idx: r.idx, day: r.day, ts: r.ts, vs: r.vs, "
                 "n: r.n, min: r.min, max: r.max, sum: r.sum})")


def day_chunks(f: Path) -> Iterable[dict[str, Any]]:
    """Chunks of one day file (sorted by point_idx, time): one dict per point present that day."""
    t = pq.read_table(f, columns=["point_idx", "time", "value"])
    p = t.column("point_idx").to_numpy()
    ts = t.column("time").cast("int64").to_numpy()
    vs = t.column("value").to_numpy().astype(np.float64)
    if not len(p):
        return
    cuts = np.flatnonzero(np.diff(p)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(p)]):
        v = vs[lo:hi]
        yield {"idx": int(p[lo]), "day": int(ts[lo] // US_PER_DAY), "ts": ts[lo:hi], "vs": v, "n": int(hi - lo),
               "min": float(v.min()), "max": float(v.max()), "sum": float(v.sum())}


def load_chunks(s: FalkorSession, dataset_dir: Path) -> tuple[int, int, dict[str, float]]:
    """Create every chunk; returns (chunks, samples, phases)."""
    t0 = time.perf_counter()
    n_chunks = n_samples = 0
    batch: list[dict] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        if batch:
            s.write(CREATE_CHUNKS, {"rows": batch})
        batch, size = [], 0

    for f in series_files(dataset_dir):
        for c in day_chunks(f):
            batch.append(c)
            size += c["n"]
            n_chunks += 1
            n_samples += c["n"]
            if size >= CHUNK_BATCH_SAMPLES:
                flush()
    flush()
    secs = time.perf_counter() - t0
    return n_chunks, n_samples, {"chunks_s": secs, "chunk_samples_per_s": n_samples / secs if secs > 0 else 0.0}


def _array(x: Any, dtype: type) -> np.ndarray:
    """A chunk array as the engine sent it: a JSON list as text (FalkorDB, `toJSON`) or a list (Bolt)."""
    if isinstance(x, (bytes, str)):
        text = x.decode() if isinstance(x, bytes) else x
        return np.fromstring(text.strip()[1:-1], dtype=dtype, sep=",") if len(text) > 2 else np.empty(0, dtype)
    return np.asarray(x, dtype)


def compact_rows(rows: Sequence[Sequence[Any]]) -> list[tuple]:
    """`[type, value]` columns of a `--compact` reply (FalkorSession.query_compact) -> plain value tuples."""
    return [tuple(col[1] for col in r) for r in rows]


def samples_by_point(rows: Sequence[Sequence[Any]], lo: int | None, hi: int | None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Decode chunk rows (idx, day, ts, vs) into per-point (time_us, value) arrays within [lo, hi)."""
    per: dict[int, dict[int, tuple[Any, Any]]] = defaultdict(dict)
    for idx, day, ts, vs in rows:
        per[int(idx)][int(day)] = (ts, vs)
    out = {}
    for idx, days in per.items():
        t = np.concatenate([_array(days[d][0], np.int64) for d in sorted(days)])
        v = np.concatenate([_array(days[d][1], np.float64) for d in sorted(days)])
        keep = np.ones(len(t), bool)
        if lo is not None:
            keep &= t >= lo
        if hi is not None:
            keep &= t < hi
        out[idx] = (t[keep], v[keep])
    return out


# --- per query: (key rows from the graph part, samples, bound params) -> answer rows -----------------------

def q6(keys, smp, p):
    if not keys:
        return []
    t, v = smp.get(int(keys[0][-1]), EMPTY)
    hours = t // 3_600_000_000
    rows = []
    for h in np.unique(hours):
        x = v[hours == h]
        rows.append((int(h) * 3600, float(x.mean()), float(x.min()), float(x.max()), int(len(x))))
    return rows


def q7(keys, smp, p):
    rows = []
    for pid, idx in keys:
        v = smp.get(int(idx), EMPTY)[1]
        if len(v) >= 2:
            rows.append((pid, float(v.std(ddof=1) / (v.mean() + KELVIN))))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows[:20]


def _delta(smp, idx) -> float:
    v = smp.get(int(idx), EMPTY)[1]
    return float(v.max()) - float(v.min()) if len(v) else 0.0


def q8(keys, smp, p):
    pts = {int(r[-1]) for r in keys if r[-1] is not None}
    return [(p["tenant"], len(pts), math.fsum(_delta(smp, i) for i in pts))]


def q9(keys, smp, p):
    tenants = {r[0] for r in keys}
    pts = defaultdict(set)
    co2_terms = defaultdict(set)
    for tenant, bldg, factor, idx in keys:
        if idx is None:
            continue
        pts[tenant].add(int(idx))
        if bldg is not None:
            co2_terms[tenant].add((int(idx), bldg, factor))
    rows = []
    for t in tenants:
        energy = math.fsum(_delta(smp, i) for i in pts[t])
        co2 = math.fsum(_delta(smp, i) * f for i, _, f in co2_terms[t])
        rows.append((t, energy, co2))
    rows.sort(key=lambda r: (-r[2], r[0]))
    return rows


def q10(keys, smp, p):
    return [(e, pt, int(np.count_nonzero(smp.get(int(idx), EMPTY)[1] == 1))) for e, pt, idx in keys]


def q11(keys, smp, p):
    last: dict[int, tuple[int, float]] = {}
    for idx, (t, v) in smp.items():
        if len(t):
            k = int(np.argmax(t))
            last[idx] = (int(t[k]), float(v[t == t[k]].max()))
    per: dict[tuple, list] = defaultdict(list)
    for ups, eq, typ, idx in keys:
        per[(ups, eq, typ)]
        if idx is not None and int(idx) in last:
            per[(ups, eq, typ)].append(last[int(idx)])
    return [(u, e, typ, max(c)[1] if c else None) for (u, e, typ), c in per.items()]


def q12(keys, smp, p):
    types: dict[str, str] = {}
    dom_pts = set()
    for eq, typ, dom, idx in keys:
        types[eq] = typ
        if idx is not None:
            dom_pts.add((dom, int(idx)))
    counts: dict[str, int] = defaultdict(int)
    for typ in types.values():
        counts[typ] += 1
    per_dom: dict[str, list] = defaultdict(list)
    for dom, idx in dom_pts:
        per_dom[dom].append(smp.get(idx, EMPTY)[1])
    rows: list[tuple] = [("count", k, n) for k, n in counts.items()]
    for dom, arrs in per_dom.items():
        v = np.concatenate(arrs)
        if len(v):
            rows.append(("mean_power", dom, float(v.mean())))
    return rows


def q13(keys, smp, p):
    per: dict[str, set] = defaultdict(set)
    for space, idx in keys:
        per[space].add(int(idx))
    rows = []
    for space, idxs in per.items():
        n = inside = 0
        for idx in idxs:
            t, v = smp.get(idx, EMPTY)
            secs = t // 1_000_000
            weekday = (secs // 86_400 + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
            hour = (secs % 86_400) // 3600
            x = v[(weekday < 5) & (hour >= 8) & (hour < 19)]
            n += len(x)
            inside += int(np.count_nonzero((x >= 20.0) & (x <= 24.0)))
        if n:
            rows.append((space, inside / n, n))
    return rows


DECODERS = {"Q6": q6, "Q7": q7, "Q8": q8, "Q9": q9, "Q10": q10, "Q11": q11, "Q12": q12, "Q13": q13}
