"""A campaign's plan before anything runs: its trials, the disk a node needs and the wall time it takes.

Time follows the protocol as `btb/workflow/measure.py` runs it, on one node:
- per dataset: generation (when it is not on disk yet) and the oracle's answers (once, when the gate is on);
- per load (dataset × scenario): engine start, ingest, counts, the gate (every query × binding once), park;
- per trial: resume under the level's budget, then per query a cold run (clean restart + page-cache drop + one
  run) and (warm-ups + runs) × bindings warm runs, each capped at the timeout; then the store check (counts,
  one run and one oracle answer per query). A load workload (mix, sessions, ingest) takes its steps' time.
- bisection: up to N more trials per (dataset, scenario, repetition), N the worst case of the campaign's own
  bisection rule (`btb.results.gradient.next_bisection`) over where the minimum viable RAM may lie.

Disk: the datasets' Parquet (0 for one already on disk) in the datasets dir, and each load's store in the
engines dir. Loads stay until every trial of their (dataset, scenario) ended, so with one repetition a node
holds every dataset and one dataset's stores at a time; with more, every store at once (passes interleave).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from btb.campaign import Campaign, level_bytes, plan
from btb.planning.rates import Overrides, Rates, ScenarioRates, query_scope
from btb.planning.size import Shape
from btb.results.gradient import next_bisection

SETTLE_S = 0.5  # the idle baseline btb samples before ingest and before the first run (measure.py)
BISECT_FLOOR = 16 * 2**20  # next_bisection's floor
ORACLE_BINDINGS = 5  # the oracle's stored answers cover 5 bindings per query (the store check answers 1)


@dataclass
class LoadPlan:
    """One (dataset, scenario): its store, its load and one trial's time."""

    dataset: str
    scenario: str
    store_bytes: float  # as the ingest will report it (relative levels)
    disk_bytes: float  # the engines' directory: the store and the engines' own files
    load_s: float
    trial_s: float
    trials: int
    bisect_max: int
    levels: list[str]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return self.load_s + self.trials * self.trial_s


@dataclass
class DatasetPlan:
    shape: Shape
    parquet_bytes: float
    prepare_s: float  # generation (when absent) + the oracle's answers (when the gate is on)
    present: bool


@dataclass
class Plan:
    campaign: Campaign
    datasets: list[DatasetPlan]
    loads: list[LoadPlan]
    trials: int
    overrides: Overrides
    rates: Rates

    @property
    def bisect_max(self) -> int:
        return sum(lp.bisect_max for lp in self.loads) * self.campaign.protocol.repetitions

    @property
    def datasets_bytes(self) -> float:
        return sum(d.parquet_bytes for d in self.datasets if not d.present)

    @property
    def engines_bytes(self) -> float:
        """The most the engines dir holds at once (see the module's docstring)."""
        per = [sum(lp.disk_bytes for lp in self.loads if lp.dataset == d.shape.key) for d in self.datasets]
        return sum(per) if self.campaign.protocol.repetitions > 1 else max(per, default=0.0)

    @property
    def wall_s(self) -> float:
        return sum(d.prepare_s for d in self.datasets) + sum(lp.total_s for lp in self.loads)

    @property
    def wall_max_s(self) -> float:
        return self.wall_s + self.campaign.protocol.repetitions * sum(lp.bisect_max * lp.trial_s for lp in self.loads)


def _cap(seconds: float, timeout_s: float) -> float:
    return min(max(0.0, seconds), timeout_s)


def _sized_levels(campaign: Campaign, dataset_bytes: float, store_bytes: float) -> list[int]:
    out = []
    for label in campaign.memory.resolved():
        b = level_bytes(label, int(dataset_bytes), campaign.memory.auto_count, int(store_bytes) or 1)
        if b is not None:
            out.append(b)
    return sorted(out)


def bisection_worst(levels: list[int], resolution: float) -> int:
    """The most trials bisection adds for one (dataset, scenario, repetition): its rule run against every
    place the minimum viable RAM may lie (just above each level, and a fine grid from the floor up)."""
    if not levels:
        return 0
    top = max(levels)
    grid = {BISECT_FLOOR * 0.5, top * 2.0} | {b * 1.0001 for b in levels}
    grid |= {BISECT_FLOOR * (top / BISECT_FLOOR) ** (i / 400) for i in range(401)} if top > BISECT_FLOOR else set()
    worst = 0
    for need in grid:
        tried = {float(b): ("completed" if b >= need else "oom") for b in levels}
        n = 0
        while n < 64:
            mid = next_bisection(tried, resolution)
            if mid is None:
                break
            tried[float(mid)] = "completed" if mid >= need else "oom"
            n += 1
        worst = max(worst, n)
    return worst


def load_time(campaign: Campaign, r: ScenarioRates, shape: Shape, ingest_s: float) -> float:
    p, qids = campaign.protocol, campaign.query_ids
    gate = sum(p.bindings * _cap(r.first_s[q].at(query_scope(q, shape)), p.timeout_s) for q in qids) \
        if p.validate_answers else 0.0
    n = shape.samples
    return r.start_s.at(n) + SETTLE_S + ingest_s + r.counts_s.at(n) + gate + r.park_s.at(n)


def trial_time(campaign: Campaign, r: ScenarioRates, shape: Shape, oracle_s: float) -> float:
    p, qids, n = campaign.protocol, campaign.query_ids, shape.samples
    t = r.resume_s.at(n) + SETTLE_S
    if campaign.workload.is_load:
        ld = campaign.workload.load
        return t + campaign.workload.steps * (ld.burn_in_s + ld.duration_s + ld.drain)
    for q in qids:
        warm = _cap(r.warm_s[q].at(query_scope(q, shape)), p.timeout_s)
        if p.cold:
            t += r.restart_s.at(n) + _cap(r.first_s[q].at(query_scope(q, shape)), p.timeout_s)
        t += (p.warmups + p.runs) * p.bindings * warm
        t += warm  # the store check's run
    t += r.counts_s.at(n)
    if p.validate_answers:
        t += oracle_s * len(qids) / (13 * ORACLE_BINDINGS)
    return t


def plan_campaign(campaign: Campaign, shapes: dict[str, Shape], rates: Rates, overrides: Overrides) -> Plan:
    """The plan of `campaign` on one node, its datasets sized by `shapes` (key -> Shape)."""
    datasets, loads = [], []
    reps = campaign.protocol.repetitions
    n_trials = len(plan(campaign, "plan"))
    for ds in campaign.datasets:
        shape = shapes[ds.key]
        n = shape.samples
        pq_bytes = shape.parquet_bytes if shape.parquet_bytes else rates.dataset_fit("parquet_bytes").at(n)
        oracle_s = rates.dataset_fit("oracle_s").at(n)
        answers_there = shape.present is not None and (shape.present / "answers.json").is_file()
        prep = (0.0 if shape.present else rates.dataset_fit("generate_s").at(n)) + \
            (oracle_s if campaign.protocol.validate_answers and not answers_there else 0.0)
        datasets.append(DatasetPlan(shape, pq_bytes, prep, shape.present is not None))
        for sid in campaign.scenarios:
            loads.append(_load_plan(campaign, sid, shape, pq_bytes, oracle_s, rates.scenario(sid), overrides, reps))
    return Plan(campaign, datasets, loads, n_trials, overrides, rates)


def _load_plan(campaign: Campaign, sid: str, shape: Shape, pq_bytes: float, oracle_s: float, r: ScenarioRates,
               overrides: Overrides, reps: int) -> LoadPlan:
    n = shape.samples
    src = {"store": r.source["all"], "ingest": r.source["all"], "latency": r.source["all"]}
    store = r.store_bytes.at(n)
    disk = r.dir_bytes.at(n)
    ingest = r.ingest_s.at(n)
    if sid in overrides.bytes_per_sample:  # the engines' own files (beyond the store) stay as measured here
        disk += overrides.bytes_per_sample[sid] * n - store
        store, src["store"] = overrides.bytes_per_sample[sid] * n, overrides.source[sid]
    if sid in overrides.samples_per_s:
        ingest, src["ingest"] = n / overrides.samples_per_s[sid], overrides.source[sid]
    levels = campaign.memory.resolved()
    sized = _sized_levels(campaign, pq_bytes, store)
    worst = bisection_worst(sized, campaign.memory.resolution) if campaign.memory.bisecting else 0
    return LoadPlan(shape.key, sid, store, max(disk, store), load_time(campaign, r, shape, ingest),
                    trial_time(campaign, r, shape, oracle_s), len(levels) * reps, worst, levels, src)
