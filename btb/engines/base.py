"""The scenario adapter interface.

A *scenario* (P1, P2, M1, O2, ...) is a storage paradigm on one or more engines. The workflow layer
only ever talks to this interface; it never imports an engine driver. Engines themselves (processes or
containers) are started by a provider (`btb.infra`) and reach the scenario as `Endpoint`s, so the same
adapter runs against a local process, a Docker container or a remote server. Hybrids (M2, O2) simply
declare two engine kinds; the provider starts both inside one trial budget.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping

Status = Literal["ok", "timeout", "error", "oom", "unsupported"]
QUERY_IDS = tuple(f"Q{i}" for i in range(1, 14))


@dataclass(frozen=True)
class Endpoint:
    """How to reach one running engine, and what the monitor needs to watch it."""

    kind: str  # "postgres", "oxigraph", "memgraph", "falkordb", "timescaledb"
    dsn: str  # libpq conninfo, bolt:// or http:// URL
    version: str = ""
    pids: tuple[int, ...] = ()  # main process ids (psutil fallback)
    cgroup: str | None = None  # cgroup directory holding the engine (None: none available)
    container: str | None = None  # Docker container id/name, when provided by Docker
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class IngestReport:
    seconds: float
    rows: dict[str, int]  # rows loaded per table / object kind
    bytes_on_disk: int
    backend: str  # e.g. "postgresql-15 native partitions" or "timescaledb 2.14"
    details: dict[str, Any] = field(default_factory=dict)  # settings used, phase seconds, ...

    @property
    def rows_per_s(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class RunOptions:
    """How queries are run: one protocol for every engine, recorded with every figure.

    The timeout is applied *once per session* (or inside the statement), never by a round trip inside the
    timed window; `prepare` makes plan caching an explicit choice for engines that have the notion.
    """

    timeout_s: float = 60.0
    prepare: Literal["never", "auto", "always"] = "never"
    connect_timeout_s: float = 10.0


@dataclass
class Answer:
    """What `Scenario.execute` returns: canonical rows and, for federated scenarios, per-phase seconds."""

    rows: list[tuple]
    phases: dict[str, float] = field(default_factory=dict)  # e.g. graph / transfer / sql / decode


@dataclass
class QueryOutcome:
    status: Status
    seconds: float  # wall time of the whole query as the client sees it, post-processing included
    rows: list[tuple] | None = None  # canonical answer form (btb/queries/README.md); None unless ok
    message: str = ""  # error / timeout text
    phases: dict[str, float] = field(default_factory=dict)  # hybrids: graph / transfer / sql seconds


class Scenario(ABC):
    """One paradigm. Subclasses are registered in `btb.engines.registry` by id."""

    id: ClassVar[str]
    engines: ClassVar[tuple[str, ...]]  # engine kinds needed, all started under one trial budget
    description: ClassVar[str] = ""

    def __init__(self, endpoints: Mapping[str, Endpoint], options: RunOptions | None = None):
        missing = [k for k in self.engines if k not in endpoints]
        if missing:
            raise ValueError(f"scenario {self.id} needs engines {missing}")
        self.endpoints = dict(endpoints)
        self.options = options or RunOptions()

    @abstractmethod
    def ingest(self, dataset_dir: Path) -> IngestReport:
        """Load structure + series from the dataset files into a fresh, empty store."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Row/object counts actually stored, compared with the manifest after ingest."""

    @abstractmethod
    def execute(self, qid: str, params: Mapping[str, Any]) -> Answer:
        """Run one query under `self.options` and return its canonical rows (+ phases).
        Raise on error; raise QueryTimeout on timeout; raise Unsupported when it cannot answer."""

    def cancel(self) -> None:
        """Abort the query in flight (called by the watchdog from another thread). Engines with a
        server-side timeout rarely need it; those without must implement it (e.g. close the socket)."""

    def run(self, qid: str, params: Mapping[str, Any]) -> QueryOutcome:
        """Time one execution and turn exceptions into a status: errors are never results.

        A client-side watchdog fires `cancel()` when the query outlives its timeout by a grace period,
        so no query is left running whatever the engine does with its own timeout.
        """
        limit = self.options.timeout_s
        watchdog = threading.Timer(limit + max(1.0, 0.1 * limit), self._watchdog_fire)
        watchdog.daemon = True
        self._watchdog_fired = False
        watchdog.start()
        t0 = time.perf_counter()
        try:
            answer = self.execute(qid, params)
            seconds = time.perf_counter() - t0
        except QueryTimeout as e:
            return QueryOutcome("timeout", time.perf_counter() - t0, message=str(e)[:500])
        except Unsupported as e:
            return QueryOutcome("unsupported", 0.0, message=str(e)[:500])
        except Exception as e:  # noqa: BLE001 - any driver error becomes a recorded status
            seconds = time.perf_counter() - t0
            if self._watchdog_fired:
                return QueryOutcome("timeout", seconds, message=f"{qid}: client watchdog cancelled after {limit:g} s")
            return QueryOutcome("error", seconds, message=f"{type(e).__name__}: {e}"[:500])
        finally:
            watchdog.cancel()
        return QueryOutcome("ok", seconds, rows=answer.rows, phases=dict(answer.phases))

    def _watchdog_fire(self) -> None:
        self._watchdog_fired = True
        self.cancel()

    def close(self) -> None:
        """Release client connections (the engine itself is the provider's)."""


class QueryTimeout(Exception):
    pass


class Unsupported(Exception):
    """The scenario says explicitly that it cannot answer this query (never 0 rows instead)."""
