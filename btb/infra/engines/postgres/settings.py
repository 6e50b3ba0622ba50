"""The settings of a btb PostgreSQL server: non-durable scratch settings and planner costs (fixed), and the
memory settings sized to the trial's budget at every launch (`settings_for_budget`). Plain data and
functions: the local engine and the Docker provider both configure servers with them."""

from __future__ import annotations

from btb.infra.engines.base import sized_budget

# Settings of the scratch cluster (recorded in results). Non-durable on purpose: a benchmark cluster.
# Memory settings are not here: they are sized per launch (settings_for_budget) in btb-runtime.conf.
DURABILITY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
}
# Planner costs for data served from memory or SSD (PGTune's setting for SSD storage). PostgreSQL's default
# random_page_cost = 4 prices a random page read at 4 sequential ones (spinning disks): with it the hybrids'
# series SQL joined 1.7k point ids with `ts` by a sequential scan of the window's chunks (F2 Q7 on small-2d:
# 139 ms; 75 ms by index probes) while P1, whose keys the planner estimates fewer, ran the same text by index
# probes. Measured for every query of P1 P2 F2 O2 under both values: `python benchmarks/bench_planner_costs.py`
# (docs/federation.md). One value for every scenario: no paradigm gets a plan hint the others do not.
PLANNER_SETTINGS = {"random_page_cost": "1.1"}
SERVER_SETTINGS = {**DURABILITY_SETTINGS, **PLANNER_SETTINGS}
# The memory settings btb used before budgets sized them: unlimited budgets and `tuning: fixed` keep them.
# (effective_cache_size is PostgreSQL's default, stated so that it is recorded.)
FIXED_MEMORY_SETTINGS = {
    "shared_buffers": "128MB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
}
SCRATCH_SETTINGS = {**SERVER_SETTINGS, **FIXED_MEMORY_SETTINGS}  # what an unlimited engine runs with
# what the Endpoint reports (as SHOW prints it) with every figure
RECORDED_SETTINGS = (*SERVER_SETTINGS, *FIXED_MEMORY_SETTINGS, "shared_preload_libraries")
MiB = 1 << 20


def _mb(n: int) -> str:
    """A size in MiB the way SHOW prints it (largest unit that divides it exactly)."""
    return f"{n // 1024}GB" if n % 1024 == 0 else f"{n}MB"


def settings_for_budget(budget_bytes: int | None, tuning: str = "scaled") -> dict[str, str]:
    """PostgreSQL memory settings for a memory budget, as a careful operator sizes them.

    scaled (budget B): shared_buffers = B/4 (floor 8 MB, ceiling 8 GB), effective_cache_size = 3B/4,
    work_mem = B/64 (1 MB .. 128 MB: one query may run several sort/hash nodes, each up to
    hash_mem_multiplier x work_mem, in the leader and 2 parallel workers), maintenance_work_mem = B/16
    (8 MB .. 1 GB: up to 3 autovacuum workers may each take it). 256 MiB -> 64MB / 192MB / 4MB / 16MB;
    1 GiB -> 256MB / 768MB / 16MB / 64MB.
    No budget (unlimited) or tuning "fixed": the fixed settings (FIXED_MEMORY_SETTINGS).
    """
    if sized_budget(budget_bytes, tuning) is None:
        return dict(FIXED_MEMORY_SETTINGS)
    mb = budget_bytes // MiB

    def clamp(v: int, lo: int, hi: int) -> int:
        return max(lo, min(hi, v))

    shared = clamp(mb // 4, 8, 8192)
    return {
        "shared_buffers": _mb(shared),
        "effective_cache_size": _mb(max(shared, mb * 3 // 4)),
        "work_mem": _mb(clamp(mb // 64, 1, 128)),
        "maintenance_work_mem": _mb(clamp(mb // 16, 8, 1024)),
    }
