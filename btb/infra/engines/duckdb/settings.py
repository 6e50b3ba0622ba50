"""DuckDB's settings in the engine host, sized to the trial's budget at every launch as a careful operator would.

The rule, from DuckDB's own guides (duckdb.org/docs, "Out-of-Memory Issues" and "Environment"):
- `memory_limit` bounds the buffer manager only; some operators allocate outside it. DuckDB's default is 80 %
  of RAM, and its guide says to go down to 50–60 % when the default gets the process killed. btb's budget B
  is the engine's whole machine, and what the host process holds before any query (the Python interpreter,
  the DuckDB library, an open database: `HOST_BASE`) is taken off first, which is most of what lives outside
  the buffer manager here: memory_limit = 75 % of (B − HOST_BASE), floor 16 MiB. Measured on tiny-1d: the
  guide's 55 % left DuckDB 17.5 MiB at a 64 MiB level, and Q1, Q2, Q11, Q12 failed with DuckDB's own
  out-of-memory error while the cgroup still had ~20 MiB free; at 75 % (24 MiB) D1 Q11 and D2 Q10, Q11 do;
  at 96 MiB even the 55 % rule's 35 MiB served every query.
- `threads`: DuckDB needs at least ~125 MB of memory per thread: threads = memory_limit // 125 MB, at least 1,
  at most the node's cores.
- `temp_directory` inside the engine's private work dir (spilling stays within the trial), its size capped
  at the free disk DuckDB computes by default.
- unlimited (or `tuning: fixed`): DuckDB's defaults (80 % of RAM, every core), temp directory as above.
- `preserve_insertion_order` stays true (DuckDB's default): the series are written in (point, time) order
  per day file, and the loaded table keeps that order, which its zone maps rely on.
- the allocator: DuckDB's Python wheel allocates through glibc's malloc (no jemalloc in it), and a query frees
  hundreds of small blocks, which glibc's per-thread cache (7 per size) overflows into its fastbins; the next
  request of >= 1 KiB (DuckDB's own, or the 4 KiB buffer of the reply's pickle) first consolidates them all.
  Measured on `SELECT $a` in one process: 13-15 µs for the first pickle after each query (0.6 µs the second
  time). `GLIBC_TUNABLES` with a per-thread cache of `TCACHE_COUNT` blocks per size keeps most of them out of
  the fastbins: that pickle 6-7 µs, DuckDB's own execute + fetchall 16-27 µs faster, for +3.4 MiB of peak RSS
  after 1000-row results (1000 blocks: 3-4 µs and 5-15 µs better still, but +21 MiB, which the small budget
  levels cannot spare). `BTB_DUCKDB_MALLOC=glibc` starts the host with glibc's defaults (`--glibc-host` of
  `benchmarks/bench_overhead.py --engine duckdb`: both hosts in one run).
"""

from __future__ import annotations

import os

from btb.infra.engines.base import sized_budget

MiB = 1 << 20
HOST_BASE = 32 * MiB  # an idle host with its database open: 24 MiB charged to the trial cgroup (measured, v1)
MEMORY_SHARE = 0.75
MEMORY_FLOOR = 16 * MiB
PER_THREAD = 125 * 1000 * 1000  # DuckDB's stated minimum per thread
TCACHE_COUNT = 128
MALLOCS = ("tuned", "glibc")


def malloc_env(malloc: str = "tuned") -> dict[str, str]:
    """The host's allocator environment: glibc's tcache sized as above ("tuned"), or glibc's defaults."""
    if malloc not in MALLOCS:
        raise ValueError(f"BTB_DUCKDB_MALLOC must be one of {', '.join(MALLOCS)}, not {malloc!r}")
    return {"GLIBC_TUNABLES": f"glibc.malloc.tcache_count={TCACHE_COUNT}"} if malloc == "tuned" else {}


def node_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def settings_for_budget(budget_bytes: int | None, tuning: str = "scaled", temp_dir: str = "",
                        cores: int | None = None) -> dict[str, str]:
    """The DuckDB configuration the host opens its database with (values as DuckDB takes them)."""
    cores = cores or node_cores()
    out = {"temp_directory": temp_dir} if temp_dir else {}
    if sized_budget(budget_bytes, tuning) is None:
        return {**out, "threads": str(cores)}
    limit = max(MEMORY_FLOOR, int(MEMORY_SHARE * (budget_bytes - HOST_BASE)))
    threads = max(1, min(cores, limit // PER_THREAD))
    return {**out, "memory_limit": f"{limit // 1024}KiB", "threads": str(threads)}
