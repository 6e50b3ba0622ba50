"""The campaign's `workload:` section (pydantic, validated at submit like the rest of the campaign file).

`read` names the read workload: `isolated` (the per-query protocol, the default and unchanged), `mix`
(weighted queries in a seeded sequence), `sessions` (operators refreshing a dashboard and drilling down
with think time) or `none` (ingest alone). `ingest` runs live appends beside it. `load` says how the
read workload is driven: closed-loop steps by `clients`, open-loop steps by `rate` (ops/s).
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

QUERIES = tuple(f"Q{i}" for i in range(1, 14))  # equal to btb.engines.base.QUERY_IDS (checked by a test)

# The predecessor's mix: dashboard 50 % (Q12 Q4 Q3), real-time 15 % (Q6 Q11), analytics 30 % (Q7 Q8 Q13
# Q10), reports 5 % (Q9 Q1 Q2 Q5).
DEFAULT_WEIGHTS: dict[str, float] = {"Q12": 25, "Q4": 15, "Q3": 10, "Q6": 10, "Q11": 5, "Q7": 8, "Q8": 8,
                                     "Q13": 7, "Q10": 7, "Q9": 2, "Q1": 1, "Q2": 1, "Q5": 1}
# The same four classes name what an SLO per class bounds (`slo_ms: {dashboard: 1000, analytics: 10000, ...}`):
# a dashboard tile and a week's analytics are not held to one latency.
QUERY_CLASSES: dict[str, tuple[str, ...]] = {"dashboard": ("Q12", "Q4", "Q3"), "realtime": ("Q6", "Q11"),
                                             "analytics": ("Q7", "Q8", "Q13", "Q10"), "reports": ("Q9", "Q1", "Q2", "Q5")}
CLASS_OF: dict[str, str] = {q: c for c, qs in QUERY_CLASSES.items() for q in qs}
INGEST_MODULE = "btb.workload.ingest"  # the live-append generator (write path of every scenario)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known(qids: list[str], field: str) -> list[str]:
    bad = [q for q in qids if q not in QUERIES]
    if bad:
        raise ValueError(f"{field}: unknown queries {bad}; allowed: Q1..Q13")
    return qids


def _classes(names) -> str:
    return "; ".join(f"{c}: {' '.join(QUERY_CLASSES[c])}" for c in names)


def _clients(v: list[int], field: str) -> list[int]:
    if any(c < 1 or c > 256 for c in v):
        raise ValueError(f"{field}: each step needs 1..256 clients")
    return sorted(set(v))


class MixSpec(_Strict):
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS),
                                      description="relative weight per query (need not sum to 1)")
    clients: list[int] = Field([1, 4, 16], description="closed-loop steps: concurrent clients, each waits for its answer")
    rate: list[float] = Field([], description="open-loop steps: offered ops/s, each op with an intended start time")
    open_clients: int = Field(16, ge=1, le=256, description="connections serving an open-loop schedule")

    @field_validator("clients")
    @classmethod
    def _c(cls, v: list[int]) -> list[int]:
        return _clients(v, "mix.clients")

    @field_validator("rate")
    @classmethod
    def _rate(cls, v: list[float]) -> list[float]:
        if any(not (0 < r <= 100000) for r in v):
            raise ValueError("mix.rate: each step's rate is ops/s in (0, 100000]")
        return sorted(set(float(r) for r in v))

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        _known(list(v), "mix.weights")
        if any(w < 0 for w in v.values()):
            raise ValueError("mix.weights: a weight is negative; give 0 or more per query")
        if not any(w > 0 for w in v.values()):
            raise ValueError("mix.weights: every weight is 0; give at least one query a positive weight")
        return {q: float(w) for q, w in v.items() if w > 0}


class SessionSpec(_Strict):
    """One operator: a dashboard refreshed on a schedule, and interactive queries with think time between."""

    operators: list[int] = Field([1, 4, 16], description="steps: concurrent operators, each its own session")
    dashboard: list[str] = Field(["Q12", "Q4"], description="queries of one dashboard refresh, in order")
    refresh_s: float = Field(5.0, gt=0, le=3600, description="the dashboard is due every refresh_s (intended start)")
    interactive: list[str] = Field(["Q3", "Q6", "Q7"], description="drill-down queries, cycled between refreshes")
    think_s: float = Field(2.0, ge=0, le=3600, description="mean think time after each interactive answer")

    @field_validator("dashboard", "interactive")
    @classmethod
    def _queries(cls, v: list[str], info) -> list[str]:
        return _known(v, f"sessions.{info.field_name}")

    @field_validator("operators")
    @classmethod
    def _ops(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("sessions.operators: give at least one step, e.g. [1, 4, 16]")
        return _clients(v, "sessions.operators")

    @model_validator(mode="after")
    def _something(self):
        if not self.dashboard and not self.interactive:
            raise ValueError("sessions: give dashboard or interactive queries (both are empty)")
        return self


class LoadSpec(_Strict):
    """How every load step is timed and judged (the steps themselves are the workloads' clients and rates)."""

    arrival: Literal["uniform", "poisson"] = Field("uniform", description="open-loop inter-arrival times")
    burn_in_s: float = Field(5.0, ge=0, le=3600, description="run, not recorded, before each step's window")
    duration_s: float = Field(30.0, gt=0, le=86400, description="each step's recorded window")
    drain_s: float | None = Field(None, ge=0, le=86400, description="wait for late ops after the window "
                                                                      "(default: duration_s); unstarted ones count as missed")
    start_tolerance_ms: float = Field(50.0, gt=0, le=60000, description="an op starts on schedule when its client lag "
                                                                       "is within this")
    on_schedule: float = Field(0.95, gt=0, le=1, description="share of ops on schedule for a valid step")
    clients_as: Literal["threads", "processes"] = Field("threads", description="threads (drivers release the GIL in "
                                                                               "I/O) or one process per client")

    @property
    def drain(self) -> float:
        return self.duration_s if self.drain_s is None else self.drain_s


class IngestSpec(_Strict):
    """Live appends at the building's own sampling rate × speedup, one batch per gateway every
    `batch_interval_s`, plus metadata updates (the write path's generator, `btb.workload.ingest`)."""

    speedup: float = Field(60.0, gt=0, le=100000, description="simulated seconds per wall second: × the building's "
                                                              "own sampling rate")
    batch_interval_s: float = Field(1.0, gt=0, le=3600, description="wall seconds between two batches of one gateway")
    gateway: Literal["floor", "equipment"] = Field("floor", description="points report through one gateway per "
                                                                        "floor or per equipment")
    metadata_share: float = Field(0.02, ge=0, lt=1, description="share of write ops that are metadata updates "
                                                                "(a point renamed or moved, equipment added)")


class WorkloadSpec(_Strict):
    read: Literal["isolated", "mix", "sessions", "none"] | list[Literal["mix", "sessions"]] = Field(
        "isolated", description="isolated (default), mix, sessions, [mix, sessions] (both, in that order), none")
    mix: MixSpec = MixSpec()
    sessions: SessionSpec = SessionSpec()
    load: LoadSpec = LoadSpec()
    ingest: IngestSpec | None = Field(None, description="live appends beside the read workload (or alone: read none)")
    slo_ms: float | dict[str, float] = Field(100.0, description="p95 bound of the saturation throughput: one for every "
                                             "op, or one per query class (dashboard, realtime, analytics, reports)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seeds the query sequence, bindings and arrivals")

    @field_validator("read")
    @classmethod
    def _read(cls, v):
        if isinstance(v, list):
            if not v or len(set(v)) != len(v):
                raise ValueError("give each read workload once, e.g. [mix, sessions]")
            return [x for x in ("mix", "sessions") if x in v]
        return v

    @field_validator("slo_ms")
    @classmethod
    def _slo(cls, v):
        bounds = v if isinstance(v, dict) else {"slo_ms": v}
        unknown = [k for k in v if k not in QUERY_CLASSES] if isinstance(v, dict) else []
        if unknown:
            raise ValueError(f"slo_ms: unknown query classes {unknown}; allowed: {', '.join(QUERY_CLASSES)} "
                             f"({_classes(QUERY_CLASSES)})")
        if not bounds:
            raise ValueError("slo_ms: give one bound in ms for every op, or one per query class, e.g. "
                             "{dashboard: 1000, realtime: 1000, analytics: 10000, reports: 10000}")
        if any(not (0 < float(b) <= 3_600_000) for b in bounds.values()):
            raise ValueError("slo_ms: each bound is a p95 in ms in (0, 3600000]")
        return {k: float(b) for k, b in v.items()} if isinstance(v, dict) else float(v)

    @property
    def reads(self) -> list[str]:
        """The load read workloads, in the order their steps run ([] for isolated and none)."""
        if isinstance(self.read, list):
            return self.read
        return [self.read] if self.read in ("mix", "sessions") else []

    @model_validator(mode="after")
    def _coherent(self):
        if self.read == "isolated" and self.ingest is not None:
            raise ValueError("workload: ingest runs beside mix or sessions, or alone with read: none; the isolated "
                             "protocol measures each query on a quiet store")
        if self.read == "none" and self.ingest is None:
            raise ValueError("workload: read: none needs an ingest section (nothing would run)")
        if "mix" in self.reads and not (self.mix.clients or self.mix.rate):
            raise ValueError("workload.mix: a mix needs clients (closed loop) or rate (open loop) steps")
        if isinstance(self.slo_ms, dict):
            unbound = sorted({CLASS_OF[q] for q in self.queries()} - set(self.slo_ms))
            if unbound:
                raise ValueError(f"workload.slo_ms: no bound for the query classes {unbound}, which the read workloads "
                                 f"issue ({_classes(unbound)}); give "
                                 "each a bound, or one number for every op")
        return self

    def unavailable(self) -> str | None:
        """Why this build cannot run the workload (checked by `btb submit`, as a scenario no worker runs is),
        or None. The file itself stays valid: availability is the build's, not the campaign's."""
        if self.ingest is not None and importlib.util.find_spec(INGEST_MODULE) is None:
            return (f"workload.ingest: live ingest is not available in this build (its write path, {INGEST_MODULE}, "
                    "is missing); remove the ingest section or run a build that has it")
        return None

    @property
    def is_load(self) -> bool:
        """True when trials run load steps instead of the isolated per-query batches."""
        return self.read != "isolated"

    @property
    def steps(self) -> int:
        return sum(len(self.mix.clients) + len(self.mix.rate) if r == "mix" else len(self.sessions.operators)
                   for r in self.reads) or int(self.ingest is not None)

    def queries(self) -> list[str]:
        """The queries the read workloads issue (their bindings are loaded, their texts validated)."""
        used = set(self.mix.weights) if "mix" in self.reads else set()
        if "sessions" in self.reads:
            used |= set(self.sessions.dashboard) | set(self.sessions.interactive)
        return [q for q in QUERIES if q in used]
