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
INGEST_MODULE = "btb.workload.ingest"  # the live-append generator (write path of every scenario)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known(qids: list[str], field: str) -> list[str]:
    bad = [q for q in qids if q not in QUERIES]
    if bad:
        raise ValueError(f"{field}: unknown queries {bad}; allowed: Q1..Q13")
    return qids


class MixSpec(_Strict):
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS),
                                      description="relative weight per query (need not sum to 1)")

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

    dashboard: list[str] = Field(["Q12", "Q4"], description="queries of one dashboard refresh, in order")
    refresh_s: float = Field(5.0, gt=0, le=3600, description="the dashboard is due every refresh_s (intended start)")
    interactive: list[str] = Field(["Q3", "Q6", "Q7"], description="drill-down queries, cycled between refreshes")
    think_s: float = Field(2.0, ge=0, le=3600, description="mean think time after each interactive answer")

    @field_validator("dashboard", "interactive")
    @classmethod
    def _queries(cls, v: list[str], info) -> list[str]:
        return _known(v, f"sessions.{info.field_name}")

    @model_validator(mode="after")
    def _something(self):
        if not self.dashboard and not self.interactive:
            raise ValueError("sessions: give dashboard or interactive queries (both are empty)")
        return self


class LoadSpec(_Strict):
    clients: list[int] = Field([1, 4, 16], description="closed-loop steps: concurrent clients, each waits for its answer")
    rate: list[float] = Field([], description="open-loop steps: offered ops/s, each op with an intended start time")
    open_clients: int = Field(16, ge=1, le=256, description="connections serving an open-loop schedule")
    arrival: Literal["uniform", "poisson"] = Field("uniform", description="open-loop inter-arrival times")
    burn_in_s: float = Field(5.0, ge=0, le=3600, description="run, not recorded, before each step's window")
    duration_s: float = Field(30.0, gt=0, le=86400, description="each step's recorded window")
    drain_s: float | None = Field(None, ge=0, le=86400, description="wait for late ops after the window "
                                                                      "(default: duration_s); unstarted ones count as missed")
    start_tolerance_ms: float = Field(10.0, gt=0, le=60000, description="an op starts on schedule when its client lag "
                                                                       "is within this")
    on_schedule: float = Field(0.95, gt=0, le=1, description="share of ops on schedule for a valid step")
    clients_as: Literal["threads", "processes"] = Field("threads", description="threads (drivers release the GIL in "
                                                                               "I/O) or one process per client")

    @field_validator("clients")
    @classmethod
    def _clients(cls, v: list[int]) -> list[int]:
        if any(c < 1 or c > 256 for c in v):
            raise ValueError("load.clients: each step needs 1..256 clients")
        return sorted(set(v))

    @field_validator("rate")
    @classmethod
    def _rate(cls, v: list[float]) -> list[float]:
        if any(not (0 < r <= 100000) for r in v):
            raise ValueError("load.rate: each step's rate is ops/s in (0, 100000]")
        return sorted(set(float(r) for r in v))

    @property
    def drain(self) -> float:
        return self.duration_s if self.drain_s is None else self.drain_s


class IngestSpec(_Strict):
    """Live appends at the building's own sampling rate × speedup, in batches per gateway, plus metadata updates."""

    speedup: float = Field(1.0, ge=1, le=100000, description="× the building's own sampling rate")
    batch: int = Field(100, ge=1, le=100000, description="samples per gateway batch (one append)")
    gateways: int = Field(1, ge=1, le=256, description="concurrent gateways, each with its share of the points")
    metadata_share: float = Field(0.01, ge=0, le=1, description="share of write ops that are metadata updates "
                                                                "(a point renamed or moved, equipment added)")


class WorkloadSpec(_Strict):
    read: Literal["isolated", "mix", "sessions", "none"] = "isolated"
    mix: MixSpec = MixSpec()
    sessions: SessionSpec = SessionSpec()
    load: LoadSpec = LoadSpec()
    ingest: IngestSpec | None = Field(None, description="live appends beside the read workload (or alone: read none)")
    slo_ms: float = Field(100.0, gt=0, le=3_600_000, description="p95 bound of the saturation throughput")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seeds the query sequence, bindings and arrivals")

    @model_validator(mode="after")
    def _coherent(self):
        if self.read == "isolated" and self.ingest is not None:
            raise ValueError("workload: ingest runs beside mix or sessions, or alone with read: none; the isolated "
                             "protocol measures each query on a quiet store")
        if self.read == "none" and self.ingest is None:
            raise ValueError("workload: read: none needs an ingest section (nothing would run)")
        if self.read == "mix" and not (self.load.clients or self.load.rate):
            raise ValueError("workload.load: a mix needs clients (closed loop) or rate (open loop) steps")
        if self.read == "sessions":
            if self.load.rate:
                raise ValueError("workload.load.rate: sessions are paced by their refresh and think time; "
                                 "give clients (operators), not rate")
            if not self.load.clients:
                raise ValueError("workload.load.clients: sessions need the number of operators per step")
        if self.ingest is not None and importlib.util.find_spec(INGEST_MODULE) is None:
            raise ValueError("workload.ingest: live ingest is not available in this build (its write path, "
                             f"{INGEST_MODULE}, is missing); remove the ingest section")
        return self

    @property
    def is_load(self) -> bool:
        """True when trials run load steps instead of the isolated per-query batches."""
        return self.read != "isolated"

    def queries(self) -> list[str]:
        """The queries the read workload issues (their bindings are loaded, their texts validated)."""
        if self.read == "mix":
            return [q for q in QUERIES if q in self.mix.weights]
        if self.read == "sessions":
            return [q for q in QUERIES if q in self.sessions.dashboard or q in self.sessions.interactive]
        return []
