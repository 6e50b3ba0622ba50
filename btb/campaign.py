"""The campaign's models and its plan of trials (pure: reading a campaign file is `btb.campaign_load`).

A trial is (dataset, scenario, memory level): it runs entirely on one node. Errors in a campaign file
become one line that names the field and what is allowed (`CampaignError`), never a traceback.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from btb.units import format_size, parse_size
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from btb.engines.base import QUERY_IDS
from btb.engines.registry import PLANNED, SCENARIOS
from btb.workload.spec import WorkloadSpec


class CampaignError(ValueError):
    """A campaign file problem, phrased for the user in one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    """A generated dataset (`profile` + `seed`) or an imported Brick model (`model` + `duration` + `seed`)."""

    profile: str | None = Field(None, description="scale-duration, e.g. tiny-1d, small-1w")
    model: str | None = Field(None, description="Brick model file (.ttl/.nt), imported with btb dataset import; "
                                                "a relative path is relative to the campaign file")
    duration: str | None = Field(None, description="series span of an imported model: 1d 2d 1w 1m 6m 1y (default 1w)")
    seed: int = Field(0, ge=0)

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str | None) -> str | None:
        from btb.dataset.profiles import parse_profile  # the generator owns the list of profiles

        if v is not None:
            parse_profile(v)
        return v

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        from btb.dataset.profiles import DURATIONS

        if v is not None and v not in DURATIONS:
            raise ValueError(f"unknown duration {v!r}; one of {', '.join(DURATIONS)}")
        return v

    @model_validator(mode="after")
    def _one_source(self):
        if (self.profile is None) == (self.model is None):
            raise ValueError("give either profile (a generated building) or model (a Brick model file), not both")
        if self.duration is not None and self.model is None:
            raise ValueError("duration goes with model; a profile names its own duration (e.g. small-1w)")
        return self

    @property
    def key(self) -> str:
        if self.model is not None:
            return f"{Path(self.model).stem}-{self.duration or '1w'}-s{self.seed}"
        return f"{self.profile}-s{self.seed}"

    @property
    def profile_name(self) -> str:
        """The trial's `profile`: the generator profile, or `<model stem>-<duration>` for a model."""
        return self.profile if self.profile is not None else f"{Path(self.model).stem}-{self.duration or '1w'}"


class MemorySpec(_Strict):
    levels: list[str | int] | Literal["auto"] = Field(["unlimited"], description="sizes, 'unlimited', or auto")
    auto_count: int = Field(4, ge=1, le=12, description="number of levels when levels: auto")
    plateau_stop: bool = Field(False, description="skip higher levels once the median stops improving")
    ingest: str = Field("unlimited", description="budget of the load phase (once per dataset × scenario × node)")
    bisect: bool | None = Field(None, description="refine between the highest failing and the lowest passing level "
                                                  "(default: on for levels: auto, off for explicit levels)")
    resolution: float = Field(0.10, gt=0.0, le=1.0, description="bisection stops when passed/failed <= 1 + this")
    tuning: Literal["scaled", "fixed"] = Field("scaled", description="engine memory settings sized to each "
                                                                     "level's budget (scaled) or kept fixed")

    @field_validator("ingest")
    @classmethod
    def _ingest(cls, v: str) -> str:
        if str(v).lower() == "unlimited":
            return "unlimited"
        if parse_size(v) < 16 * 2**20:
            raise ValueError(f"{v!r} is below 16MiB, too small for any engine")
        return format_size(parse_size(v))

    @field_validator("levels")
    @classmethod
    def _levels(cls, v):
        if v == "auto":
            return v
        if not v:
            raise ValueError("give at least one level, e.g. [unlimited] or [256MiB, 1GiB], or auto")
        for item in v:
            if str(item).lower() != "unlimited":
                if parse_size(item) < 16 * 2**20:
                    raise ValueError(f"{item!r} is below 16MiB, too small for any engine")
        return v

    @property
    def bisecting(self) -> bool:
        return self.levels == "auto" if self.bisect is None else self.bisect

    def resolved(self) -> list[str]:
        """Level labels in ascending order ('unlimited' last); auto levels are labelled auto-i."""
        if self.levels == "auto":
            return [f"auto-{i}" for i in range(self.auto_count)]
        # labels as written ("256MB" stays 256MB, not 250000KiB); a plain integer is bytes, shown in units
        by_bytes: dict[int, str] = {}
        for x in self.levels:
            if str(x).lower() != "unlimited":
                by_bytes.setdefault(parse_size(x), format_size(x) if isinstance(x, int) else str(x).replace(" ", ""))
        out = [by_bytes[b] for b in sorted(by_bytes)]
        if any(str(x).lower() == "unlimited" for x in self.levels):
            out.append("unlimited")
        return out


class ProtocolSpec(_Strict):
    warmups: int = Field(1, ge=0, le=100)
    runs: int = Field(5, ge=1, le=10000)
    timeout_s: float = Field(60.0, gt=0, le=86400, description="per query execution")
    bindings: int = Field(3, ge=1, le=5, description="parameter bindings per query (datasets store 5 per query)")
    validate_answers: bool = Field(True, alias="validate", description="check answers against the oracle first")
    prepare: Literal["never", "auto", "always"] = Field(
        "never", description="plan caching: never (custom plans each run), auto (driver default), always")
    federation: Literal["auto", "any", "temp_table"] = Field(
        "auto", description="hybrids' transfer of ids to PostgreSQL: auto (by the threshold calibrated at load), "
                            "any (array parameters), temp_table (session table + COPY)")
    cold: bool = Field(True, description="run each query once on a freshly restarted engine, its files out of "
                                         "the page cache, before the warm-ups (summarised as cold)")
    repetitions: int = Field(1, ge=1, le=50, description="independent trials per (dataset, scenario, level), "
                                                        "interleaved; the summary's CI is across them")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Campaign(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    datasets: list[DatasetSpec] = Field(min_length=1)
    scenarios: list[str] = Field(min_length=1)
    memory: MemorySpec = MemorySpec()
    protocol: ProtocolSpec = ProtocolSpec()
    queries: list[str] | None = Field(None, description="subset of Q1..Q13; all when omitted")
    workload: WorkloadSpec = Field(WorkloadSpec(), description="isolated (per query, default), mix, sessions; ingest")
    output_dir: str = "results"

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in SCENARIOS]
        if unknown:
            planned = [s for s in unknown if s in PLANNED]
            extra = f" ({', '.join(planned)} planned, not built yet)" if planned else ""
            raise ValueError(f"unknown scenario{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                             f"{extra}; allowed: {', '.join(SCENARIOS)}")
        if len(set(v)) != len(v):
            raise ValueError("scenarios are listed twice")
        return v

    @field_validator("queries")
    @classmethod
    def _queries(cls, v):
        if v is None:
            return v
        bad = [q for q in v if q not in QUERY_IDS]
        if bad:
            raise ValueError(f"unknown queries {bad}; allowed: Q1..Q13")
        return [q for q in QUERY_IDS if q in v]

    @model_validator(mode="after")
    def _datasets_unique(self):
        keys = [d.key for d in self.datasets]
        if len(set(keys)) != len(keys):
            raise ValueError("datasets: the same dataset (profile or model, and seed) is listed twice")
        return self

    @model_validator(mode="after")
    def _workload_queries(self):
        outside = [q for q in self.workload.queries() if q not in self.query_ids]
        if outside:
            raise ValueError(f"workload: {', '.join(self.workload.reads)} issues {outside}, which queries: leaves out; add them "
                             "to queries (their answers are validated first) or drop them from the workload")
        return self

    @property
    def query_ids(self) -> list[str]:
        return list(self.queries or QUERY_IDS)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Trial:
    """One (dataset, scenario, memory level) — the unit a node runs from provisioning to teardown."""

    campaign_id: str
    index: int
    dataset: str  # dataset key profile-sSEED
    profile: str
    seed: int
    scenario: str
    level: str  # "256MiB", "unlimited" or "auto-i"
    level_rank: int  # position in the ascending gradient
    repetition: int = 0
    model: str = ""  # an imported Brick model's absolute path ("" = generated from profile + seed)
    duration: str = ""  # an imported model's series span

    @property
    def id(self) -> str:
        return f"{self.campaign_id}.t{self.index:03d}"

    def to_dict(self) -> dict:
        return asdict(self) | {"id": self.id}

    @classmethod
    def from_dict(cls, d: dict) -> "Trial":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def plan(campaign: Campaign, campaign_id: str) -> list[Trial]:
    """Repetitions × datasets × levels × scenarios: levels ascend (a gradient climbs from the smallest
    budget) and scenarios alternate at each level, so machine noise over time spreads over every scenario
    and level instead of being read as a memory effect; repetitions are whole passes, interleaved."""
    trials: list[Trial] = []
    levels = campaign.memory.resolved()
    for rep in range(campaign.protocol.repetitions):
        for ds in campaign.datasets:
            for rank, level in enumerate(levels):
                for sc in campaign.scenarios:
                    trials.append(Trial(campaign_id, len(trials), ds.key, ds.profile_name, ds.seed, sc, level, rank, rep,
                                        model=ds.model or "", duration=(ds.duration or "1w") if ds.model else ""))
    return trials


def level_bytes(level: str, dataset_bytes: int | None = None, auto_count: int = 4) -> int | None:
    """Budget in bytes for a level label (None = unlimited). auto-i needs the dataset's size."""
    if level == "unlimited":
        return None
    if level.startswith("auto-"):
        from btb.results.gradient import auto_levels

        if dataset_bytes is None:
            raise ValueError("auto memory levels need the dataset size")
        return auto_levels(dataset_bytes, auto_count)[int(level.split("-")[1])]
    return parse_size(level)
