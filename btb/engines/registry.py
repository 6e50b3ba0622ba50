"""Every scenario and every engine kind btb knows, in one table: adding an engine is its folder plus its
lines here, and every lookup (scenario class, engine set, local engine, container driver) goes through it.

- `SCENARIOS`: scenario id -> its adapter (a `btb.engines.base.Scenario`) and the engine kinds it needs
  (its engine *set*, all started under one trial budget: routing and submit-time checks read it without
  importing the adapter; it must equal the class's `engines`, checked by a test);
- `ENGINES`: engine kind -> its local engine (a `btb.infra.engines.base.LocalEngine`, run by the local
  provider) and its container driver (a `btb.infra.docker.protocol.ContainerEngine`, run by the Docker
  provider; None where a kind has no container).

Classes are named as "module:Class" strings and imported on first use (importlib), so this module imports
nothing of the layers it names: any of them may read it without an import running back up or round, and a
missing driver disables one scenario or engine kind, not btb.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScenarioEntry:
    adapter: str  # "module:Class" of its Scenario subclass
    engines: tuple[str, ...]  # engine kinds it needs


@dataclass(frozen=True)
class EngineEntry:
    local: str  # "module:Class" of its LocalEngine subclass
    container: str | None = None  # "module:Class" of its ContainerEngine subclass (None: no container)


SCENARIOS: dict[str, ScenarioEntry] = {
    "P1": ScenarioEntry("btb.engines.postgres.relational:RelationalScenario", ("postgres",)),
    "P1c": ScenarioEntry("btb.engines.postgres.chunked:ChunkRelationalScenario", ("postgres",)),
    "P2": ScenarioEntry("btb.engines.postgres.document:DocumentScenario", ("postgres",)),
    "F1": ScenarioEntry("btb.engines.graph.falkordb:ChunkGraphScenario", ("falkordb",)),
    "F2": ScenarioEntry("btb.engines.graph.falkordb:HybridGraphScenario", ("falkordb", "postgres")),
    "M1": ScenarioEntry("btb.engines.graph.memgraph:MemgraphChunkScenario", ("memgraph",)),
    "M2": ScenarioEntry("btb.engines.graph.memgraph:MemgraphHybridScenario", ("memgraph", "postgres")),
    "O1": ScenarioEntry("btb.engines.rdf.scenario:ChunkRdfScenario", ("oxigraph",)),
    "O2": ScenarioEntry("btb.engines.rdf.scenario:HybridRdfScenario", ("oxigraph", "postgres")),
    "D1": ScenarioEntry("btb.engines.duckdb.scenario:DuckFileScenario", ("duckdb",)),
    "D2": ScenarioEntry("btb.engines.duckdb.scenario:DuckParquetScenario", ("duckdb",)),
}

ENGINES: dict[str, EngineEntry] = {
    "postgres": EngineEntry("btb.infra.engines.postgres:LocalPostgres",
                            "btb.infra.docker.containers:PostgresContainer"),
    "falkordb": EngineEntry("btb.infra.engines.falkordb:LocalFalkorDB",
                            "btb.infra.docker.containers:FalkorDBContainer"),
    "memgraph": EngineEntry("btb.infra.engines.memgraph:LocalMemgraph",
                            "btb.infra.docker.containers:MemgraphContainer"),
    "oxigraph": EngineEntry("btb.infra.engines.oxigraph:LocalOxigraph",
                            "btb.infra.docker.containers:OxigraphContainer"),
    "duckdb": EngineEntry("btb.infra.engines.duckdb.process:LocalDuckDB"),  # embedded: an engine host, local only
}

# Scenarios that DESIGN.md defines but that have no adapter yet: named in errors so users know why.
PLANNED: tuple[str, ...] = ()


def load(target: str) -> Any:
    """The object a "module:Name" string names, its module imported now."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _scenario(scenario_id: str) -> ScenarioEntry:
    try:
        return SCENARIOS[scenario_id]
    except KeyError:
        raise KeyError(f"unknown scenario {scenario_id!r}; available: {', '.join(SCENARIOS)}") from None


def _engine(kind: str, what: str) -> EngineEntry:
    try:
        return ENGINES[kind]
    except KeyError:
        raise KeyError(f"no {what} of kind {kind!r}; known: {', '.join(ENGINES)}") from None


def scenario_class(scenario_id: str) -> type:
    """The scenario's adapter class (a `btb.engines.base.Scenario` subclass)."""
    return load(_scenario(scenario_id).adapter)


def engines_of(scenario_id: str) -> tuple[str, ...]:
    """The engine kinds a scenario needs, all started under one trial budget (e.g. ("falkordb", "postgres"))."""
    return _scenario(scenario_id).engines


def local_engine(kind: str) -> type:
    """The local provider's engine class of a kind (a `btb.infra.engines.base.LocalEngine` subclass)."""
    return load(_engine(kind, "local engine").local)


def container_kinds() -> tuple[str, ...]:
    """The engine kinds that have a container driver (what the Docker provider can be asked to run)."""
    return tuple(k for k, e in ENGINES.items() if e.container)


def container_driver(kind: str) -> type:
    """The Docker provider's driver class of a kind (a `btb.infra.docker.protocol.ContainerEngine` subclass)."""
    target = _engine(kind, "container driver").container
    if target is None:
        raise KeyError(f"no container driver of kind {kind!r}; known: {', '.join(container_kinds())}")
    return load(target)
