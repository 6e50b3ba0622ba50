"""FalkorDB settings sized to the trial's budget (issue 16), by the rule PostgreSQL's follow: the rule itself,
and a real server started (and restarted from its kept dump) under a budget reporting exactly what was asked
for through CONFIG GET / GRAPH.CONFIG GET, with the data intact and nothing evicted."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from btbtest import CAN_LIMIT

from btb.cgroups import CgroupSlot
from btb.infra.engines.base import EngineSpec
from btb.infra.engines.falkordb.process import LocalFalkorDB
from btb.infra.engines.falkordb.settings import FIXED_MEMORY_SETTINGS, MODULE_ARGS, settings_for_budget, split_settings
from btb.infra.ports import free_port

MiB = 1 << 20
GiB = 1 << 30
AVAILABLE, WHY = LocalFalkorDB.available({})
needs_falkordb = pytest.mark.skipif(not AVAILABLE, reason=f"FalkorDB not runnable here: {WHY}")


def test_settings_for_budget_scales_like_an_operator():
    assert settings_for_budget(256 * MiB) == {"maxmemory": str(192 * MiB), "QUERY_MEM_CAPACITY": str(64 * MiB),
                                              "NODE_CREATION_BUFFER": "16384"}
    assert settings_for_budget(64 * MiB) == {"maxmemory": str(48 * MiB), "QUERY_MEM_CAPACITY": str(16 * MiB),
                                             "NODE_CREATION_BUFFER": "16384"}
    # floor: a tiny budget still gets a query its 8 MiB; NODE_CREATION_BUFFER never changes between a load
    # and the levels that serve it (a graph loaded under another value answers wrongly)
    tiny = settings_for_budget(1 * MiB)
    assert tiny["QUERY_MEM_CAPACITY"] == str(8 * MiB)
    assert {settings_for_budget(b)["NODE_CREATION_BUFFER"] for b in (MiB, 64 * MiB, 64 * GiB, None)} == {"16384"}
    # unlimited, or tuning "fixed" at any budget: what btb always ran with (unlimited maxmemory and queries)
    assert settings_for_budget(None) == settings_for_budget(256 * MiB, "fixed") == FIXED_MEMORY_SETTINGS
    assert FIXED_MEMORY_SETTINGS["maxmemory"] == "0" and FIXED_MEMORY_SETTINGS["QUERY_MEM_CAPACITY"] == "0"
    redis_part, module_part = split_settings(settings_for_budget(GiB))
    assert set(redis_part) == {"maxmemory"} and set(module_part) == {"QUERY_MEM_CAPACITY", "NODE_CREATION_BUFFER"}
    with pytest.raises(ValueError):
        settings_for_budget(256 * MiB, "aggressive")
    with pytest.raises(ValueError):
        settings_for_budget(0)


def _redis(ep):
    from btb.infra.engines.falkordb.client import connect

    return connect(ep)


def _read_back(ep) -> dict[str, str]:
    """What the server says, asked directly (not through the endpoint's own record)."""
    c = _redis(ep)
    try:
        out = {}
        for k in ("maxmemory", "maxmemory-policy"):
            got = c.config_get(k)
            out[k] = got.get(k, got.get(k.encode()))
        for k in ("QUERY_MEM_CAPACITY", "NODE_CREATION_BUFFER", *MODULE_ARGS):
            name, value = c.execute_command("GRAPH.CONFIG", "GET", k)
            assert (name.decode() if isinstance(name, bytes) else name) == k
            out[k] = value
        return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in out.items()}
    finally:
        c.close()


@pytest.mark.integration
@needs_falkordb
@pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller: the budget is not applied here")
def test_a_trial_under_256_mib_runs_with_sized_settings_and_records_them(provider):
    ep = provider.start("fk-tuning-256", ("falkordb",), 256 * MiB).endpoints["falkordb"]
    want = settings_for_budget(256 * MiB)
    try:
        shown = _read_back(ep)
        assert {k: shown[k] for k in want} == want == ep.extra["tuning"]["requested"]
        assert shown["maxmemory-policy"] == "noeviction"  # errors, never evicts
        assert {k: ep.extra["settings"][k] for k in shown} == shown  # recorded = what the server runs with
        assert ep.extra["tuning"]["budget"] == 256 * MiB and ep.extra["tuning"]["tuning"] == "scaled"
        again = provider.current("fk-tuning-256")["falkordb"]  # reattached: the same record
        assert again.extra["settings"] == ep.extra["settings"] and again.extra["tuning"] == ep.extra["tuning"]
    finally:
        provider.stop("fk-tuning-256")


@pytest.fixture
def engine():
    root = Path(tempfile.mkdtemp(prefix="btb-test-fk-"))
    root.chmod(0o755)
    eng = LocalFalkorDB(EngineSpec(kind="falkordb", work=str(root / "fk"), port=free_port(6900)))
    try:
        yield eng
    finally:
        eng.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.integration
@needs_falkordb
def test_restart_from_kept_dump_under_another_budget_reconfigures(engine):
    """Load once, measure many: the same dump restarted under another budget (and tuning) comes up sized for
    it, every node still there."""
    from falkordb import FalkorDB

    from btb.engines.graph.client import read_password

    slot = CgroupSlot("fk-tuning-none", "none")  # budget passed explicitly: works where cgroups cannot limit
    engine.launch(slot, budget=None)
    ep = engine.endpoint(slot)
    host, port = ep.dsn.removeprefix("redis://").split(":")
    g = FalkorDB(host=host, port=int(port), password=read_password(ep)).select_graph("kept")
    g.query("UNWIND range(1, 1000) AS i CREATE (:N {i: i})")
    assert _read_back(ep)["maxmemory"] == "0" and ep.extra["settings"]["QUERY_MEM_CAPACITY"] == "0"
    for budget, tuning, want in ((512 * MiB, None, settings_for_budget(512 * MiB)),
                                 (64 * MiB, "scaled", settings_for_budget(64 * MiB)),
                                 (96 * MiB, "fixed", FIXED_MEMORY_SETTINGS)):
        engine.stop()
        engine.launch(slot, budget=budget, tuning=tuning)
        ep = engine.endpoint(slot)
        shown = _read_back(ep)
        assert {k: shown[k] for k in want} == want == {k: ep.extra["settings"][k] for k in want}, (budget, tuning)
        assert ep.extra["tuning"]["budget"] == budget and ep.extra["tuning"]["requested"] == want
        g = FalkorDB(host=host, port=int(ep.dsn.rsplit(":", 1)[1]), password=read_password(ep)).select_graph("kept")
        assert g.ro_query("MATCH (n:N) RETURN count(n)").result_set[0][0] == 1000


@pytest.mark.integration
@needs_falkordb
def test_past_maxmemory_a_write_is_refused_and_nothing_is_evicted(engine):
    """noeviction: a write past maxmemory fails with Redis' OOM error; reads (GRAPH.RO_QUERY) still answer
    and every node written before is still there."""
    import redis
    from falkordb import FalkorDB

    from btb.engines.graph.client import read_password

    slot = CgroupSlot("fk-tuning-oom", "none")
    engine.launch(slot, budget=16 * MiB)  # maxmemory 12 MiB
    ep = engine.endpoint(slot)
    assert _read_back(ep)["maxmemory"] == str(12 * MiB)
    g = FalkorDB(host="127.0.0.1", port=int(ep.dsn.rsplit(":", 1)[1]), password=read_password(ep)).select_graph("g")
    written = 0
    with pytest.raises(redis.exceptions.ResponseError, match="(?i)OOM|maxmemory"):
        for _ in range(200):  # ~1 MB a batch: past 12 MiB long before the end
            g.query("UNWIND range(1, 2000) AS i CREATE (:N {s: $s})", {"s": "x" * 500})
            written += 2000
    assert written > 0
    assert g.ro_query("MATCH (n:N) RETURN count(n)").result_set[0][0] == written


@pytest.mark.integration
@needs_falkordb
def test_a_query_past_query_mem_capacity_is_an_oom_for_btb(engine):
    """QUERY_MEM_CAPACITY (B/4) aborts a query with FalkorDB's own error; btb's session raises QueryOutOfMemory
    (status "oom"), for both read paths, and the server keeps serving."""
    from btb.engines.base import QueryOutOfMemory
    from btb.engines.graph.client import FalkorSession

    slot = CgroupSlot("fk-tuning-cap", "none")
    engine.launch(slot, budget=16 * MiB)  # QUERY_MEM_CAPACITY 8 MiB
    s = FalkorSession(engine.endpoint(slot), graph="g")
    try:
        s.write("CREATE (:N {i: 1})")
        big = "UNWIND range(1, 3000000) AS i WITH collect(i) AS l RETURN size(l)"  # ~3M values held at once
        with pytest.raises(QueryOutOfMemory, match="QUERY_MEM_CAPACITY"):
            s.query(big)
        with pytest.raises(QueryOutOfMemory):
            s.query_compact(big)
        assert s.query("MATCH (n:N) RETURN count(n)") == [[1]]
    finally:
        s.close()


@pytest.mark.integration
@needs_falkordb
def test_the_provider_resumes_a_parked_graph_sized_to_each_level(provider):
    """The path trials take (load once unlimited, park, resume per level with the campaign's tuning): each
    resume comes up with the settings of its budget, read back from the server, and the graph intact."""
    from btb.engines.graph.client import FalkorSession

    lid = "fk-tuning-levels"
    ep = provider.start(lid, ("falkordb",), None).endpoints["falkordb"]
    s = FalkorSession(ep, graph="kept")
    s.write("UNWIND range(1, 500) AS i CREATE (:N {i: i})")
    s.write("MATCH (a:N), (b:N) WHERE b.i = a.i + 1 CREATE (a)-[:NEXT]->(b)")
    s.write("MATCH (a:N {i: 1}), (b:N) WHERE b.i > 400 CREATE (a)-[:FAR]->(b)")
    s.close()
    assert _read_back(ep)["maxmemory"] == "0"
    for budget, tuning in ((256 * MiB, "scaled"), (64 * MiB, "scaled"), (64 * MiB, "fixed")):
        provider.park(lid)
        ep = provider.resume(lid, budget, tuning).endpoints["falkordb"]
        want = settings_for_budget(budget, tuning)
        shown = _read_back(ep)
        assert {k: shown[k] for k in want} == want == ep.extra["tuning"]["requested"], (budget, tuning)
        assert ep.extra["tuning"]["budget"] == budget and ep.extra["tuning"]["tuning"] == tuning
        s = FalkorSession(ep, graph="kept")
        assert s.query("MATCH (n:N) RETURN count(n)") == [[500]]
        # edges filtered by type: wrong (0) when the graph is loaded under another NODE_CREATION_BUFFER
        assert s.query("MATCH ()-[r]->() WHERE type(r) <> 'FAR' RETURN count(r)") == [[499]]
        s.close()


@pytest.mark.integration
@needs_falkordb
def test_a_hybrid_sizes_each_engine_for_its_share_of_the_one_budget(provider):
    """F2's engines share one limit: each one's settings are sized for half of it (never the whole budget
    twice), and the share is returned with the trial's start."""
    from btb.infra.engines.postgres.settings import settings_for_budget as pg_settings

    lid = "fk-tuning-hybrid"
    provider.start(lid, ("falkordb", "postgres"), None)
    provider.park(lid)
    budget = 512 * MiB
    started = provider.resume(lid, budget, "scaled")
    assert dict(started.sizing) == {"falkordb": budget // 2, "postgres": budget // 2}
    fk = started.endpoints["falkordb"]
    assert fk.extra["tuning"]["budget"] == budget // 2
    assert {k: _read_back(fk)[k] for k in settings_for_budget(budget // 2)} == settings_for_budget(budget // 2)
    shown = started.endpoints["postgres"].extra["settings"]
    assert shown["shared_buffers"] == pg_settings(budget // 2)["shared_buffers"], shown
