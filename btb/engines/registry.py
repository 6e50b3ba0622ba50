"""Scenario lookup by id. Adapters are imported lazily, so a missing driver disables one scenario, not btb."""

from __future__ import annotations

import importlib

from btb.engines.base import Scenario

# id -> "module:Class". Add a scenario here and nowhere else.
SCENARIOS: dict[str, str] = {
    "P1": "btb.engines.postgres.relational:RelationalScenario",
    "P2": "btb.engines.postgres.document:DocumentScenario",
    "F1": "btb.engines.graph.falkordb:ChunkGraphScenario",
    "F2": "btb.engines.graph.falkordb:HybridGraphScenario",
    "M1": "btb.engines.graph.memgraph:MemgraphChunkScenario",
    "M2": "btb.engines.graph.memgraph:MemgraphHybridScenario",
    "O1": "btb.engines.rdf.scenario:ChunkRdfScenario",
    "O2": "btb.engines.rdf.scenario:HybridRdfScenario",
}

# id -> engine kinds it needs (its engine *set*: routing, `can_run` checks at submit), known without
# importing the adapter or its driver. Must equal the class's `engines` (checked by a test).
ENGINE_SETS: dict[str, tuple[str, ...]] = {
    "P1": ("postgres",),
    "P2": ("postgres",),
    "F1": ("falkordb",),
    "F2": ("falkordb", "postgres"),
    "M1": ("memgraph",),
    "M2": ("memgraph", "postgres"),
    "O1": ("oxigraph",),
    "O2": ("oxigraph", "postgres"),
}

# Scenarios that DESIGN.md defines but that have no adapter yet: named in errors so users know why.
PLANNED: tuple[str, ...] = ()


def scenario_class(scenario_id: str) -> type[Scenario]:
    try:
        target = SCENARIOS[scenario_id]
    except KeyError:
        raise KeyError(f"unknown scenario {scenario_id!r}; available: {', '.join(SCENARIOS)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def engines_of(scenario_id: str) -> tuple[str, ...]:
    """The engine kinds a scenario needs, all started under one trial budget (e.g. ("falkordb", "postgres"))."""
    try:
        return ENGINE_SETS[scenario_id]
    except KeyError:
        raise KeyError(f"unknown scenario {scenario_id!r}; available: {', '.join(SCENARIOS)}") from None
