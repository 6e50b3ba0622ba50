"""The measured figures a plan is sized from, and how each one scales to another dataset.

Defaults: `btb/conf/plan_rates.json`, written by `benchmarks/bench_plan_rates.py` on this machine (its command,
host and revision are in the file). Every figure was measured on a few small datasets; a plan scales it to the
planned dataset by a least-squares line `y = fixed + per_unit × x` over those datasets (both terms ≥ 0), where
`x` is what the figure grows with:
- store bytes, ingest, engine start and restarts, the oracle, generation, Parquet bytes: samples;
- a query's latency: what the query reads (`query_scope`): points for the structure queries (Q1–Q5), the
  samples in its window for the series queries (Q6–Q13: one point, a building's, a tenant's or every point's).

A campaign's own earlier measurements override the defaults (`Overrides`, from the ledger's ingest records):
bytes per sample and samples per second of ingest, per scenario.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from btb.planning.size import Shape

DEFAULT_RATES = Path(__file__).resolve().parents[1] / "conf" / "plan_rates.json"
STRUCTURE_QUERIES = ("Q1", "Q2", "Q3", "Q4", "Q5")


@dataclass(frozen=True)
class Fit:
    """y = fixed + per_unit × x, fitted over the measured (x, y) pairs."""

    fixed: float
    per_unit: float

    def at(self, x: float) -> float:
        return self.fixed + self.per_unit * x

    @classmethod
    def of(cls, pairs: list[tuple[float, float]]) -> "Fit":
        if not pairs:
            raise ValueError("no measured figures to fit")
        n = len(pairs)
        mx, my = sum(x for x, _ in pairs) / n, sum(y for _, y in pairs) / n
        sxx = sum((x - mx) ** 2 for x, _ in pairs)
        b = sum((x - mx) * (y - my) for x, y in pairs) / sxx if sxx > 0 else 0.0
        if b <= 0:
            return cls(max(0.0, my), 0.0)
        a = my - b * mx
        if a < 0:  # through the origin instead
            return cls(0.0, sum(x * y for x, y in pairs) / sum(x * x for x, _ in pairs))
        return cls(a, b)


def window_hours(days: int) -> float:
    """The expected length of a binding's window (btb.dataset.bindings._window): 6–24 h for one day of
    data, else 12 h up to a quarter of the span (at most 31 days)."""
    if days <= 1:
        return 15.0
    top = max(13, min(days * 24 // 4, 31 * 24))
    return (12 + top) / 2


def query_scope(qid: str, shape: Shape) -> float:
    """What query `qid` reads on a dataset of this shape, in points (structure) or point-hours (series)."""
    p, w = shape.points, window_hours(shape.days)
    per_building = p / max(1, shape.buildings)
    if qid in STRUCTURE_QUERIES:
        return p
    return {"Q6": w, "Q7": per_building * w, "Q8": per_building / max(1, shape.tenants / shape.buildings) * w,
            "Q9": p * w, "Q10": w, "Q11": per_building, "Q12": per_building * w, "Q13": p * w}.get(qid, p * w)


@dataclass
class ScenarioRates:
    """One scenario's fitted figures."""

    store_bytes: Fit  # as the ingest reports it: what relative levels resolve against
    dir_bytes: Fit  # the engines' whole directory (data, WAL, catalogs, logs): what the disk must hold
    ingest_s: Fit
    start_s: Fit
    counts_s: Fit
    park_s: Fit
    resume_s: Fit
    restart_s: Fit
    first_s: dict[str, Fit]  # a query's first run (the gate's check, the cold run)
    warm_s: dict[str, Fit]
    source: dict[str, str] = field(default_factory=dict)  # figure -> where it comes from


@dataclass
class Rates:
    """Every figure of the defaults file, fitted; `scenario(sid)` for one scenario."""

    path: Path
    command: str
    measured: dict
    shapes: dict[str, Shape]
    raw: dict

    def dataset_fit(self, key: str) -> Fit:
        return Fit.of([(self.shapes[p].samples, float(m[key])) for p, m in self.raw["datasets"].items()])

    def scenario(self, sid: str) -> ScenarioRates:
        per = self.raw["scenarios"].get(sid)
        if not per:
            raise ValueError(f"{self.path} has no measured figures for scenario {sid}; measure them with "
                             f"`{self.command} --scenarios {sid}`")

        def fit(key: str, fallback: str = "") -> Fit:
            return Fit.of([(self.shapes[p].samples, float(m.get(key, m.get(fallback)))) for p, m in per.items()])

        def qfit(qid: str, key: str) -> Fit:
            return Fit.of([(query_scope(qid, self.shapes[p]), float(m["queries"][qid][key])) for p, m in per.items()
                           if qid in m["queries"]])

        qids = sorted({q for m in per.values() for q in m["queries"]})
        where = f"measured ({', '.join(per)}; {self.path.name})"
        return ScenarioRates(fit("bytes_on_disk"), fit("dir_bytes", "bytes_on_disk"), fit("ingest_s"), fit("start_s"), fit("counts_s"), fit("park_s"),
                             fit("resume_s"), fit("restart_s"), {q: qfit(q, "first_s") for q in qids},
                             {q: qfit(q, "warm_s") for q in qids}, {"all": where})


def load_rates(path: Path | None = None) -> Rates:
    path = Path(path or DEFAULT_RATES)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} not found: measure this machine's figures with "
                         "`python benchmarks/bench_plan_rates.py`") from None
    shapes = {p: Shape(p, p, int(m["samples"]), int(m["points"]), int(m["days"]), int(m.get("buildings", 1)),
                       int(m.get("tenants", 1)), "measured") for p, m in raw["datasets"].items()}
    return Rates(path, raw.get("command", "python benchmarks/bench_plan_rates.py"), raw.get("measured", {}), shapes, raw)


@dataclass
class Overrides:
    """A campaign's own earlier measurements (ledger ingest records), per scenario: bytes per sample and
    ingest samples per second, with the campaign they come from."""

    bytes_per_sample: dict[str, float] = field(default_factory=dict)
    samples_per_s: dict[str, float] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    note: str = ""  # why there are none (no broker, no earlier run)

    @classmethod
    def from_records(cls, records: list[dict], campaign_id: str) -> "Overrides":
        out = cls()
        for r in records:  # the newest record of a scenario wins (records come oldest campaign first)
            sid = r.get("scenario")
            if not sid or r.get("status") != "ok" or not r.get("samples"):
                continue
            if r.get("bytes_per_sample"):
                out.bytes_per_sample[sid] = float(r["bytes_per_sample"])
            if r.get("seconds"):
                out.samples_per_s[sid] = float(r["samples"]) / float(r["seconds"])
            out.source[sid] = f"campaign {campaign_id} ({r.get('dataset')})"
        return out


def ledger_overrides(campaign_name: str, redis_url: str | None, look_back: int = 50) -> Overrides:
    """The ingest records of the latest earlier campaign of this name in the ledger (None: no broker)."""
    if redis_url is None:
        return Overrides(note="no broker reachable: this machine's defaults only")
    from btb.results.store import Ledger

    ledger = Ledger(redis_url)
    for cid in ledger.campaigns(look_back):
        c = ledger.campaign(cid) or {}
        if c.get("spec", {}).get("name") != campaign_name:
            continue
        records = ledger.records(cid, "ingest")
        if records:
            return Overrides.from_records(records, cid)
    return Overrides(note=f"no earlier campaign named {campaign_name!r} with ingest records in the ledger")
