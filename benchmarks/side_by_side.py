"""What the same-run comparisons of benchmarks share (bench_query_texts, bench_planner_costs): scenarios
started by the local provider and loaded one after another, and variants timed alternately so that drift on a
shared machine hits each alike."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

from btb.engines.base import RunOptions, Scenario
from btb.engines.registry import engines_of, scenario_class
from btb.infra.local import LocalProvider

K = TypeVar("K")


def each_ingested(dataset: Path, scenario_ids: Sequence[str], node: str,
                  timeout_s: float = 120) -> Iterator[tuple[str, Scenario]]:
    """(id, scenario) for each id in turn: its engines started unlimited, the dataset loaded; stopped after."""
    root = Path(tempfile.mkdtemp(prefix=f"btb-{node}-"))
    root.chmod(0o755)  # the engines' OS users must reach their work dirs
    provider = LocalProvider(root, node)
    try:
        for sid in scenario_ids:
            trial = f"{node}-{sid}-{uuid.uuid4().hex[:6]}"
            started = provider.start(trial, engines_of(sid), None)
            try:
                s = scenario_class(sid)(started.endpoints, RunOptions(timeout_s=timeout_s))
                s.ingest(dataset)
                try:
                    yield sid, s
                finally:
                    s.close()
            finally:
                provider.stop(trial)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def alternating(variants: Sequence[K], once: Callable[[K], float], reps: int) -> dict[K, float]:
    """Median seconds of `once(variant)` per variant over `reps` rounds; every round runs each variant, the
    order reversed every other round; a first round warms and is not recorded."""
    times: dict[K, list[float]] = {v: [] for v in variants}
    for rep in range(reps + 1):
        for v in (variants if rep % 2 else list(variants)[::-1]):
            sec = once(v)
            if rep:
                times[v].append(sec)
    return {v: statistics.median(t) for v, t in times.items()}
