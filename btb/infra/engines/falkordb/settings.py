"""The settings of a btb FalkorDB server (Redis + the FalkorDB module): scratch settings and module arguments
(fixed), the memory settings sized to the trial's budget at every launch (`settings_for_budget`), and the
redis.conf they make. Plain data and functions: the local engine and the Docker provider both use them."""

from __future__ import annotations

from btb.infra.engines.base import sized_budget

# Settings of the scratch server (recorded with the endpoint).
SCRATCH_SETTINGS = {
    "save": '""',  # no RDB snapshots
    "appendonly": "no",
    "protected-mode": "yes",
    "maxmemory-policy": "noeviction",  # a graph key is never evicted behind a benchmark's back
}
# FalkorDB module arguments that no budget changes: threads sized to this 2-core node class (CPU, not memory;
# the benchmark runs one query at a time); CACHE_SIZE (plans cached per thread) stays at FalkorDB's default 25,
# above the ~20 distinct Cypher texts of F1/F2 and a few KB each: sizing it by budget would change plan-cache
# hits, i.e. latency, between memory levels for no memory gain. Query timeouts are passed per query (TIMEOUT).
MODULE_ARGS = {"THREAD_COUNT": "2", "CACHE_SIZE": "25"}
# The memory settings btb used before budgets sized them (FalkorDB's and Redis' defaults, stated so that they
# are recorded): unlimited budgets and `tuning: fixed` keep them.
FIXED_MEMORY_SETTINGS = {"maxmemory": "0", "QUERY_MEM_CAPACITY": "0", "NODE_CREATION_BUFFER": "16384"}
REDIS_KEYS = ("maxmemory", "maxmemory-policy")  # read back with CONFIG GET; the rest with GRAPH.CONFIG GET
MiB = 1 << 20


def settings_for_budget(budget_bytes: int | None, tuning: str = "scaled") -> dict[str, str]:
    """FalkorDB/Redis memory settings for a memory budget (the rule PostgreSQL's `settings_for_budget` follows:
    sized as a careful operator would, fixed when unlimited or `tuning="fixed"`). Plain function: the Docker
    provider reuses it. Lower-case keys are Redis settings, upper-case ones FalkorDB module arguments.

    scaled (budget B): maxmemory = 3B/4 (Redis' usual headroom without a persistence fork: this server never
    forks, btb saves only at SHUTDOWN; the rest is allocator fragmentation, threads, client buffers),
    policy noeviction; QUERY_MEM_CAPACITY = B/4 (floor 8 MiB): one query may not take more than a quarter of
    the budget, so a runaway query fails with FalkorDB's own error instead of the cgroup OOM-killing the
    server and the trial. 256 MiB -> 192 MiB / 64 MiB; 64 MiB -> 48 MiB / 16 MiB.
    NODE_CREATION_BUFFER stays FalkorDB's default (16384) at every budget: a graph saved under one value and
    loaded under another gives wrong answers (FalkorDB 4.16.3, measured: F2's tiny-1d graph saved at 16384,
    loaded at 8192: `MATCH ()-[r]->() WHERE type(r) <> 'HAS_CHUNK' RETURN count(r)` 0 instead of 1206, the
    same count without the filter right), and a load is served under every level.
    A hybrid's engines are each sized for their share of the trial's budget (`provider.sizing_shares`).
    maxmemory acts on Redis' used_memory, which counts what goes through Redis' allocator
    (FalkorDB initialises GraphBLAS with it, src/module.c); the cgroup stays what a trial measures.
    """
    if sized_budget(budget_bytes, tuning) is None:
        return dict(FIXED_MEMORY_SETTINGS)
    return {
        "maxmemory": str(budget_bytes * 3 // 4),
        "QUERY_MEM_CAPACITY": str(max(8 * MiB, budget_bytes // 4)),
        "NODE_CREATION_BUFFER": FIXED_MEMORY_SETTINGS["NODE_CREATION_BUFFER"],  # never sized: see above
    }


def split_settings(settings: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(Redis settings, FalkorDB module arguments) of a settings dict (lower-case keys are Redis')."""
    return ({k: v for k, v in settings.items() if k.islower()}, {k: v for k, v in settings.items() if k.isupper()})


def server_conf(port: int, password: str, data_dir: str, module: str, host: str = "127.0.0.1",
                extra: tuple[str, ...] = (), memory: dict[str, str] | None = None) -> str:
    """redis.conf of a scratch FalkorDB server (SCRATCH_SETTINGS, MODULE_ARGS, the memory settings of
    `settings_for_budget`): local process or container."""
    redis_mem, module_mem = split_settings(settings_for_budget(None) if memory is None else memory)
    margs = " ".join(f"{k} {v}" for k, v in {**MODULE_ARGS, **module_mem}.items())
    lines = [f"bind {host}", f"port {port}", f"dir {data_dir}", f"requirepass {password}",
             f"loadmodule {module} {margs}", *extra,
             *(f"{k} {v}" for k, v in {**SCRATCH_SETTINGS, **redis_mem}.items())]
    return "\n".join(lines) + "\n"
