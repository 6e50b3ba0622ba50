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
from typing import Any, Callable, ClassVar, Literal, Mapping

from btb.dataset.answers import canonical_for
from btb.engines.writes import Change, SampleBatch, Written

Status = Literal["ok", "timeout", "error", "oom", "unsupported"]
QUERY_IDS = tuple(f"Q{i}" for i in range(1, 14))
FEDERATION_PATHS = ("auto", "any", "temp_table")  # RunOptions.federation (btb.engines.federation)


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
    # hybrids: how key rows reach PostgreSQL (btb.engines.federation); auto = by the threshold calibrated at load
    federation: Literal["auto", "any", "temp_table"] = "auto"


@dataclass
class Answer:
    """What `Scenario.execute` returns: canonical rows and, for federated scenarios, per-phase seconds."""

    rows: list[tuple]
    phases: dict[str, float] = field(default_factory=dict)  # e.g. graph / transfer / sql / decode
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. hybrids: the federation path taken, ids sent
    # The timed window measured where the paradigm's work ran, when that is not btb's process: an embedded
    # engine that btb runs in a host process only so that the budget binds it (DuckDB: its execute + fetchall,
    # timed inside the host). Recorded instead of btb's wall time around `timed()`, whose extra is the
    # harness's process boundary, which an application embedding the engine would not have.
    seconds: float | None = None


@dataclass
class QueryOutcome:
    status: Status
    seconds: float  # wall time of the whole query as the client sees it, post-processing included
    rows: list[tuple] | None = None  # canonical answer form (queries/README.md); None unless ok
    message: str = ""  # error / timeout text
    phases: dict[str, float] = field(default_factory=dict)  # hybrids: graph / transfer / sql seconds
    notes: dict[str, Any] = field(default_factory=dict)  # Answer.notes of the run


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
        Raise on error; raise QueryTimeout on timeout; raise Unsupported when it cannot answer.

        Scenarios that measure through `run()` may instead split this into `bind` (untimed), `timed`
        (the measured part) and `canonical` (untimed): see `run()`."""

    # --- writes (live ingest) ---------------------------------------------------------------------------
    def prepare_writes(self) -> None:
        """Untimed setup before a write workload (e.g. the partitions or IRIs a writer must know)."""

    def append(self, batch: SampleBatch) -> Written:
        """Store new samples (after the stored ones of each point) and commit: when this returns, the
        samples are committed. Scenarios without a write path say so (Unsupported), never drop them."""
        raise Unsupported(f"{self.id} has no append path")

    def update_metadata(self, change: Change) -> Written:
        """Apply one structure change (point renamed or moved, equipment moved or added) and commit."""
        raise Unsupported(f"{self.id} has no structure-change path")

    # --- the timed window ------------------------------------------------------------------------------
    def bind(self, qid: str, params: Mapping[str, Any]) -> Any:
        """Turn a binding into driver parameters (parsing dates, ...): harness work, outside the timing."""
        return params

    def timed(self, qid: str, bound: Any) -> Answer:
        """What is measured: send the query, receive every row, and whatever post-processing the
        paradigm needs to produce its answer (e.g. decoding encoded samples). Default: `execute`."""
        return self.execute(qid, bound)

    def canonical(self, qid: str, answer: Answer) -> Answer:
        """Canonical answer form for comparison with the oracle (sorting, rounding): harness work,
        outside the timing. Default: the answer as is (`execute` already returns canonical rows)."""
        return answer

    def read_profile(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """What the engine read for one execution of `qid` with `params`, from the engine itself (PostgreSQL:
        EXPLAIN ANALYZE BUFFERS, `btb.engines.postgres.explain`), as {hit_bytes, read_bytes, temp_read_bytes,
        temp_written_bytes, accessed_bytes, source, ...}; None when the engine cannot say (the workflow then
        has the cgroup's IO bytes of the query's runs). Called outside every timed window: it may execute
        the query."""
        return None

    def cancel(self) -> None:
        """Abort the query in flight (called by the watchdog from another thread). Engines with a
        server-side timeout rarely need it; those without must implement it (e.g. close the socket)."""

    def run(self, qid: str, params: Mapping[str, Any]) -> QueryOutcome:
        """Time one execution and turn exceptions into a status: errors are never results.

        Only `timed()` is inside the measured window: binding conversion, canonical form and the watchdog
        bookkeeping are outside it. A long-lived watchdog thread (one per scenario, no thread per query)
        fires `cancel()` when the query outlives its timeout by a grace period, so no query is left
        running whatever the engine does with its own timeout.
        """
        limit = self.options.timeout_s
        try:
            bound = self.bind(qid, params)
        except Unsupported as e:
            return QueryOutcome("unsupported", 0.0, message=str(e)[:500])
        except Exception as e:  # noqa: BLE001 - a binding the driver cannot take is an error, as in the engine
            return QueryOutcome("error", 0.0, message=f"{type(e).__name__}: {e}"[:500])
        dog = self._watchdog()
        token = dog.arm(limit + max(1.0, 0.1 * limit))
        t0 = time.perf_counter()
        try:
            answer = self.timed(qid, bound)
            seconds = time.perf_counter() - t0
            if answer.seconds is not None:
                seconds = answer.seconds
        except QueryTimeout as e:
            seconds = time.perf_counter() - t0
            why = f"{qid}: client watchdog cancelled after {limit:g} s" if dog.disarm() == token else str(e)
            return QueryOutcome("timeout", seconds, message=why[:500])
        except Unsupported as e:
            dog.disarm()
            return QueryOutcome("unsupported", 0.0, message=str(e)[:500])
        except QueryOutOfMemory as e:
            seconds = time.perf_counter() - t0
            dog.disarm()
            return QueryOutcome("oom", seconds, message=str(e)[:500])
        except Exception as e:  # noqa: BLE001 - any driver error becomes a recorded status
            seconds = time.perf_counter() - t0
            if dog.disarm() == token:
                return QueryOutcome("timeout", seconds, message=f"{qid}: client watchdog cancelled after {limit:g} s")
            return QueryOutcome("error", seconds, message=f"{type(e).__name__}: {e}"[:500])
        if dog.disarm() == token:  # cancelled, yet it answered in the same instant: not a clean result
            return QueryOutcome("timeout", seconds, message=f"{qid}: client watchdog cancelled after {limit:g} s")
        try:
            answer = self.canonical(qid, answer)
        except Exception as e:  # noqa: BLE001
            return QueryOutcome("error", seconds, message=f"canonical form: {type(e).__name__}: {e}"[:500])
        return QueryOutcome("ok", seconds, rows=answer.rows, phases=dict(answer.phases), notes=dict(answer.notes))

    def _watchdog(self) -> Watchdog:
        dog = self.__dict__.get("_dog")
        if dog is None or not dog.alive:
            dog = self._dog = Watchdog(self.cancel)
        return dog

    def close(self) -> None:
        """Release client connections (the engine itself is the provider's). Subclasses call super()."""
        dog = self.__dict__.pop("_dog", None)
        if dog is not None:
            dog.shutdown()


class SplitScenario(Scenario):
    """A scenario measured in three steps: `bind` (untimed) -> `timed` -> `canonical` (untimed), its answers
    put in the workload's canonical form (sorted rows, stated rounding) for the oracle. PostgreSQL, Cypher
    and SPARQL scenarios all are; `execute` is the three steps without a clock."""

    def canonical(self, qid: str, answer: Answer) -> Answer:
        return Answer(canonical_for(qid, answer.rows), answer.phases, answer.notes)

    def execute(self, qid: str, params: Mapping[str, Any]) -> Answer:
        return self.canonical(qid, self.timed(qid, self.bind(qid, params)))


class Watchdog:
    """One daemon thread per scenario that cancels a query running past its deadline.

    `arm`/`disarm` only write two fields under a lock: they never wake the thread, so nothing of the
    watchdog runs next to a fast query. The thread polls at most every `poll_s` (it is a last resort,
    fired after timeout + grace, so a fraction of a second of lateness does not matter).
    """

    def __init__(self, fire: Callable[[], None], poll_s: float = 0.25):
        self._fire = fire
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._token = 0
        self._fired_token = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="btb-watchdog", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def arm(self, after_s: float) -> int:
        with self._lock:
            self._token += 1
            self._deadline = time.monotonic() + after_s
            return self._token

    def disarm(self) -> int:
        """Disarm; returns the token that fired during this arming (or -1)."""
        with self._lock:
            self._deadline = None
            fired, self._fired_token = self._fired_token, -1
            return fired

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_s):
            with self._lock:
                if self._deadline is None or time.monotonic() < self._deadline:
                    continue
                self._deadline = None
                self._fired_token = self._token
                try:
                    self._fire()  # under the lock: the next query cannot be armed until the cancel is sent
                except Exception:  # noqa: BLE001 - a failed cancel must not kill the watchdog
                    pass

    def shutdown(self) -> None:
        self._stop.set()


class QueryTimeout(Exception):
    pass


class QueryOutOfMemory(Exception):
    """The engine aborted the query at its own memory limit (e.g. FalkorDB's QUERY_MEM_CAPACITY, sized to the
    budget): status "oom", as a cgroup kill is, not a generic error — the budget could not serve the query."""


class Unsupported(Exception):
    """The scenario says explicitly that it cannot answer this query (never 0 rows instead)."""
