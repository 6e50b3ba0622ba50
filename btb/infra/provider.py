"""The provider interface: how a node starts, finds, restarts and stops the engines of a trial.

The workflow only talks to this interface (never to a concrete engine process), keyed by trial id, so
the local provider (processes in cgroups) and the Docker provider (containers via the SDK) are
interchangeable and a node never touches another trial's engines. Engines are known *by kind*
(postgres, falkordb, oxigraph, timescaledb, memgraph); what a node can run is its capabilities.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, Mapping

from btb.engines.base import Endpoint

BudgetMode = Literal["shared-cgroup", "split", "none"]


class EngineUnavailable(RuntimeError):
    """An engine the trial needs cannot be started or reached on this node. `oom_kills` carries the
    slot's OOM-kill count when the start failed because the budget was too small (the slot is gone)."""

    def __init__(self, message: str, oom_kills: int | None = None):
        super().__init__(message)
        self.oom_kills = oom_kills


@dataclass(frozen=True)
class EngineCaps:
    """What this node can do with one engine kind (shown by `btb doctor`, used for routing)."""

    kind: str
    available: bool  # binaries / image present: the node can run it at all
    can_limit: bool  # a memory budget is enforced (cgroup or container limit)
    can_restart: bool  # restart in place from its data (after an OOM kill, or under another budget)
    can_measure: bool  # the monitor has a cgroup / container / process to sample
    why: str = ""  # when something is False: the reason, in one line


@dataclass
class Started:
    """What `Provider.start` gives back: the endpoints and how the trial's budget was applied."""

    endpoints: dict[str, Endpoint]
    budget: int | None  # bytes asked for (None: unlimited)
    budget_mode: BudgetMode  # one cgroup for all engines / a stated split / not enforced
    applied_limit: int | None  # the limit read back from the cgroup or container (None: none applied)
    split: Mapping[str, int] = field(default_factory=dict)  # per engine, when budget_mode == "split"
    sizing: Mapping[str, int | None] = field(default_factory=dict)  # budget each engine's settings were sized for


def sizing_shares(kinds: tuple[str, ...] | list[str], budget: int | None) -> dict[str, int | None]:
    """The budget each engine's *settings* are sized for (shared_buffers, maxmemory, query caps…).

    The engines of a hybrid (F2: FalkorDB + PostgreSQL) run under one limit; sizing each for the whole
    budget would let their caches add up to more than it (FalkorDB 3B/4 + PostgreSQL B/4 + work_mem), so
    each is sized for an equal share. The limit itself stays shared: an engine may use what the other
    leaves. Stated rule, recorded with every trial (`sizing`)."""
    kinds = tuple(kinds)
    if budget is None or not kinds:
        return {k: None for k in kinds}
    return {k: budget // len(kinds) for k in kinds}


class Provider(ABC):
    name: str

    @abstractmethod
    def capabilities(self) -> dict[str, EngineCaps]:
        """Every engine kind this provider knows, with what it can do on this node."""

    def can_run(self, kinds: tuple[str, ...] | list[str]) -> bool:
        caps = self.capabilities()
        return all(k in caps and caps[k].available for k in kinds)

    def require(self, kinds: tuple[str, ...], node: str, how: str = "") -> None:
        """Raise EngineUnavailable naming every kind this node cannot run, and why (one line)."""
        caps = self.capabilities()
        bad = [f"{k} ({caps[k].why})" if k in caps else f"{k} (unknown kind)" for k in kinds
               if k not in caps or not caps[k].available]
        if bad:
            raise EngineUnavailable(f"node {node} cannot run engine(s){how}: {', '.join(bad)}")

    @abstractmethod
    def start(self, trial_id: str, kinds: tuple[str, ...], budget: int | None) -> Started:
        """Fresh engines of these kinds for the trial, all under one budget. Raises EngineUnavailable."""

    @abstractmethod
    def current(self, trial_id: str, wait_s: float = 0.0) -> dict[str, Endpoint] | None:
        """The trial's endpoints if all its engines run here *and accept clients* (waiting up to `wait_s`
        for one that is recovering, e.g. PostgreSQL after a backend was killed); else None."""

    @abstractmethod
    def restart(self, trial_id: str, clean: bool = False) -> dict[str, Endpoint]:
        """Restart the trial's engines in place (same data, same budget): after a crash, or cleanly
        (`clean=True`) for a cold run. Raises EngineUnavailable."""

    @abstractmethod
    def stop(self, trial_id: str) -> None:
        """Stop the trial's engines and remove their data. Idempotent; never touches other trials."""

    @abstractmethod
    def oom_kills(self, trial_id: str) -> int | None:
        """Kernel OOM kills so far in the trial's cgroup/containers (None: no counter here)."""

    @abstractmethod
    def applied_limit(self, trial_id: str) -> int | None:
        """The limit in force for the trial (read back), None when unlimited or not enforced."""

    @abstractmethod
    def park(self, trial_id: str) -> None:
        """Stop the engines cleanly and keep their data (load once, measure many): `resume` restarts them."""

    @abstractmethod
    def resume(self, trial_id: str, budget: int | None, tuning: str | None = None,
               query_timeout_s: float | None = None) -> Started:
        """Start parked (or running) engines again from their data under `budget`, in a fresh cgroup,
        with engine settings sized to that budget (`tuning`: scaled | fixed). `query_timeout_s`: the
        protocol's per-query timeout, for engines that keep evaluating a query its client gave up on (Oxigraph:
        its server-side timeout follows it). Raises EngineUnavailable."""

    def drop_cache(self, trial_id: str) -> bool:
        """Evict the engines' data files from the OS page cache (a cold run). False where it cannot."""
        return False

    @abstractmethod
    def trials(self) -> list[str]:
        """Trial ids that have engines (or leftovers) on this node: the workflow stops the orphans."""
