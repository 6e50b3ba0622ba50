"""Issue 7 "must show", on this machine's real cgroups with a real PostgreSQL:
a heavy query under a 64 MiB budget is an OOM kill counted by the provider (the counter production
reads), the engine comes back for the next query, and samples of a loaded engine are > 0 and below its limit."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from btb.cgroups import capabilities
from btb.monitor.attribution import attribute
from btb.monitor.oom import oom_happened, oom_kill_count
from btb.monitor.sampler import Sampler, Target

pytestmark = pytest.mark.integration
MiB = 1 << 20
HEAVY = ("select count(*) from (select g, md5(g::text) m from generate_series(1, 3000000) g order by m) s")
needs_limit = pytest.mark.skipif(capabilities()["limit_version"] == "none", reason="nothing can be limited here")


class Background:
    """Sampler in a thread for the duration of a `with` block."""

    def __init__(self, target: Target, hz: float = 10.0):
        self.sampler = Sampler([target], hz=hz)
        self.ev = threading.Event()
        self.th = threading.Thread(target=self.sampler.run, args=(self.ev.is_set, 300.0), daemon=True)

    def __enter__(self):
        self.th.start()
        time.sleep(0.5)  # idle baseline before the first phase
        return self.sampler

    def __exit__(self, *exc):
        time.sleep(0.3)
        self.ev.set()
        self.th.join()
        self.sampler.close()


def run_query(dsn: str, sql: str, work_mem: str) -> tuple[str, str]:
    """('completed'|'failed', message) - as a bench task sees it, before the OOM check classifies it."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as c:
            c.execute(f"set work_mem = '{work_mem}'")
            c.execute(sql).fetchall()
        return "completed", ""
    except psycopg.Error as e:
        return "failed", f"{type(e).__name__}: {e}"


@needs_limit
def test_heavy_query_under_64_mib_is_an_oom_the_provider_counts_and_the_engine_recovers(local_pg):
    """A ~300 MB in-memory sort cannot fit 64 MiB: the kernel kills the backend, the provider's counter
    (what the runner reads) says so, attribution puts the kill in the query's window, the peak stays
    under the budget, and the engine serves the next query (the postmaster recovers by itself)."""
    provider, trial, ep = local_pg(64 * MiB)
    assert ep.extra["memory_limit"] == 64 * MiB == provider.applied_limit(trial)
    target = Target.from_endpoint("pg", ep)
    before = provider.oom_kills(trial)
    assert before == 0 and oom_kill_count(target) == 0
    with Background(target) as s:
        t0 = time.time()
        outcome, msg = run_query(ep.dsn, HEAVY, "1GB")
        t1 = time.time()
    after = provider.oom_kills(trial)
    (q,) = attribute(s.rows, [("heavy", t0, t1)])
    print(f"outcome={outcome} peak={q.peak_bytes} ({q.peak_from}) limit={64 * MiB} n={q.n_samples} "
          f"oom_kills={q.oom_kills} msg={msg[:120]!r}")
    assert outcome == "failed", "a 300 MB sort completed under a 64 MiB budget: the limit is not enforced"
    assert after == before + 1 and oom_happened(target, before)
    assert q.oom_kills >= 1  # attribution puts the kill in this phase
    assert q.peak_bytes is not None and q.peak_bytes <= 64 * MiB  # the kernel held the budget
    eps = provider.current(trial, wait_s=30)
    assert eps is not None, "after a backend OOM kill the postmaster recovers: current() waits for it"
    with psycopg.connect(eps["postgres"].dsn, connect_timeout=5) as c:
        assert c.execute("select 1").fetchone() == (1,)


@needs_limit
def test_loaded_engine_samples_are_positive_and_below_the_limit(local_pg):
    limit = 256 * MiB
    _, _, ep = local_pg(limit)
    target = Target.from_endpoint("pg", ep)
    with Background(target) as s:
        t0 = time.time()
        with psycopg.connect(ep.dsn) as c:
            c.execute("create table t as select g as id, md5(g::text) as v from generate_series(1, 300000) g")
            c.commit()
            t1 = time.time()
            for _ in range(3):
                c.execute("select v, count(*) from t group by v order by 2 desc limit 5").fetchall()
        t2 = time.time()
    mem = [r.sample.mem_bytes for r in s.rows]
    assert len(mem) >= 5
    assert all(0 < m <= limit for m in mem), (min(mem), max(mem))
    load, query = attribute(s.rows, [("load", t0, t1), ("query", t1, t2)])
    print(f"load: peak={load.peak_bytes} ({load.peak_from}) over_baseline={load.peak_over_baseline_bytes} "
          f"cpu={load.cpu_s} n={load.n_samples}; query: peak={query.peak_bytes} cpu={query.cpu_s} n={query.n_samples}")
    assert s.info["pg"].source in ("cgroup_v1", "cgroup_v2")
    for ph in (load, query):
        assert 0 < ph.peak_bytes <= limit and ph.cpu_s > 0 and ph.oom_kills == 0
    assert load.baseline_bytes is not None and load.peak_over_baseline_bytes > 0
