"""Queue names, in one place, free of Celery (the library routes; only `btb.workflow` talks to Celery).

A trial is routed by its scenario's **engine set** (all engine kinds it needs, sorted): a node serves
the queue of every engine set it can run whole, so a hybrid never lands on a node that runs only half.
"""

from __future__ import annotations

from typing import Iterable

QUEUE_AGGREGATE = "aggregate"
ENGINE_SET_PREFIX = "engines."


def engine_set(kinds: Iterable[str]) -> str:
    """'postgres' for P1/P2, 'falkordb+postgres' for F2: stable whatever order the scenario lists them."""
    return "+".join(sorted(set(kinds)))


def engine_set_queue(kinds: Iterable[str] | str) -> str:
    return ENGINE_SET_PREFIX + (kinds if isinstance(kinds, str) else engine_set(kinds))


def scenario_engine_set(scenario_id: str) -> str:
    from btb.engines.registry import scenario_class

    return engine_set(scenario_class(scenario_id).engines)


def node_queue(node: str) -> str:
    """Control messages for one node (kept for operators and future use: no trial depends on it)."""
    return f"node.{node}"


def monitor_queue(node: str) -> str:
    return f"monitor.{node}"


def runnable_engine_sets(available_kinds: Iterable[str]) -> list[str]:
    """Engine sets of every registered scenario that a node with these engine kinds can run whole."""
    from btb.engines.registry import SCENARIOS, scenario_class

    have = set(available_kinds)
    sets = set()
    for sid in SCENARIOS:
        try:
            kinds = scenario_class(sid).engines
        except ImportError:  # a scenario whose driver is missing here: this node cannot run it
            continue
        if set(kinds) <= have:
            sets.add(engine_set(kinds))
    return sorted(sets)
