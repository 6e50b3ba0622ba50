"""A plan as the lines `btb plan` prints: trials, per-scenario store and time, disk per dir, wall time, and
where every figure comes from."""

from __future__ import annotations

from btb.planning.disk import MARGIN, DirSpace
from btb.planning.estimate import Plan

GiB = 2**30


def size(b: float) -> str:
    return f"{b / GiB:,.2f} GiB" if b >= GiB / 10 else f"{b / 2**20:,.1f} MiB"


def duration(s: float) -> str:
    s = round(s)
    if s < 120:
        return f"{s} s"
    if s < 3600 * 2:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400 * 3:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600:02d} h"


def trial_lines(p: Plan) -> list[str]:
    c = p.campaign
    levels = c.memory.resolved()
    bis = f", bisection up to {p.bisect_max} more (at most {max((lp.bisect_max for lp in p.loads), default=0)} per " \
          f"dataset × scenario × repetition, resolution {c.memory.resolution:.0%})" if c.memory.bisecting else ""
    out = [f"trials: {p.trials} planned = {len(c.datasets)} dataset(s) × {len(c.scenarios)} scenario(s) × "
           f"{len(levels)} level(s) ({', '.join(levels)}) × {c.protocol.repetitions} repetition(s){bis}"]
    for d in p.datasets:
        s = d.shape
        pq = "on disk" if d.present else "to generate"
        out.append(f"dataset {s.key}: {s.samples / 1e6:,.1f} M samples, {s.points:,} points × {s.days} day(s) "
                   f"({s.source}); Parquet {size(d.parquet_bytes)} ({pq})")
    return out


def scenario_table(p: Plan) -> list[str]:
    head = f"{'dataset':<16} {'scenario':<8} {'store':>11} {'B/sample':>8} {'engine dir':>11} {'load':>13} {'per trial':>13} " \
           f"{'trials':>6} {'bisect':>7}  levels"
    out = [head]
    samples = {d.shape.key: d.shape.samples for d in p.datasets}
    for lp in p.loads:
        bps = lp.store_bytes / samples[lp.dataset] if samples[lp.dataset] else 0.0
        lv = ", ".join(_level(label, lp.store_bytes) for label in lp.levels)
        out.append(f"{lp.dataset:<16} {lp.scenario:<8} {size(lp.store_bytes):>11} {bps:>8.1f} {size(lp.disk_bytes):>11} "
                   f"{duration(lp.load_s):>13} "
                   f"{duration(lp.trial_s):>13} {lp.trials:>6} {'≤ ' + str(lp.bisect_max):>7}  {lv}")
    out.append("store: bytes on disk as the ingest reports them (relative levels resolve against it); engine dir: "
               "everything the engines keep (store, WAL, catalogs, logs); load: start, ingest, counts, gate, park")
    return out


def _level(label: str, store_bytes: float) -> str:
    if label.startswith("rel-"):
        return f"{label} ({size(float(label[4:]) * store_bytes)})"
    return label


def disk_lines(p: Plan, node: str, dirs: list[DirSpace]) -> list[str]:
    needs = {"datasets": p.datasets_bytes, "engines": p.engines_bytes}
    out = [f"disk on node {node} (estimate; a refusal adds {MARGIN:.0%}):"]
    for d in dirs:
        out.append(f"  {d.role} dir {d.path}: {size(needs[d.role])} (free {size(d.free)})")
    if len({d.device for d in dirs}) < len(dirs):
        out.append(f"  one filesystem: {size(sum(needs.values()))} of {size(min(d.free for d in dirs))} free")
    if p.campaign.protocol.repetitions > 1:
        out.append("  engines: every store at once (repetitions interleave, so every load stays until the last pass)")
    else:
        out.append("  engines: the largest dataset's stores (a load is dropped when its last trial ended)")
    return out


def time_lines(p: Plan) -> list[str]:
    prep = sum(d.prepare_s for d in p.datasets)
    loads = sum(lp.load_s for lp in p.loads)
    trials = sum(lp.trials * lp.trial_s for lp in p.loads)
    out = [f"wall time on one node: {duration(p.wall_s)} for the planned trials"
           + (f"; up to {duration(p.wall_max_s)} with every bisection step" if p.bisect_max else ""),
           f"  datasets (generation, oracle answers) {duration(prep)}, loads (start, ingest, counts, gate) "
           f"{duration(loads)}, trials {duration(trials)}"]
    c = p.campaign
    if not c.workload.is_load:
        out.append(f"  protocol: per trial a resume, per query {'a cold run (clean restart) + ' if c.protocol.cold else ''}"
                   f"({c.protocol.warmups} warm-up + {c.protocol.runs} runs) × {c.protocol.bindings} binding(s), "
                   f"each run at most {c.protocol.timeout_s:g} s; the store check")
    return out


def source_lines(p: Plan) -> list[str]:
    m = p.rates.measured
    out = ["where the figures come from:",
           "  samples: the profile's structure (points × span × each point's rate), or the manifest of a dataset on disk",
           f"  defaults: measured on {m.get('host', '?')} at {m.get('at', '?')} (git {m.get('git', '?')}, "
           f"{m.get('cpus', '?')} CPUs) by `{p.rates.command}` into {p.rates.path.name}; each figure scaled to the "
           "dataset by a fitted line fixed + per unit (samples; a query: what it reads)"]
    overridden = sorted({(lp.scenario, lp.sources["store"]) for lp in p.loads if lp.sources["store"] != lp.sources["latency"]})
    for sid, src in overridden:
        out.append(f"  {sid}: bytes per sample and ingest rate from {src}")
    if p.overrides.note:
        out.append(f"  earlier measurements: {p.overrides.note}")
    out.append("  not counted: queueing behind other campaigns, per-trial bookkeeping (claim, records, reduction), "
               "trials that end early (oom, timeout)")
    return out


def render(p: Plan, node: str, dirs: list[DirSpace]) -> list[str]:
    return [*trial_lines(p), "", *scenario_table(p), "", *disk_lines(p, node, dirs), "", *time_lines(p), "",
            *source_lines(p)]
