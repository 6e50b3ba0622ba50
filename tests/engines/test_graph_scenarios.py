"""F1 and F2 on a real FalkorDB (+ PostgreSQL for F2) started through the provider, as a trial would:
the local engine's security and version, both engines of a hybrid in one cgroup slot, every query ×
binding against the oracle, phases returned with the rows, and timeouts/cancel recorded as such."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from paradigms import check_one_cgroup_slot, check_phases, check_validate, hybrid_trial as _trial, ingested

from btb.dataset.format import Manifest
from btb.engines.base import QueryTimeout, RunOptions
from btb.engines.graph.falkordb import ChunkGraphScenario, HybridGraphScenario
from btb.engines.registry import scenario_class

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hybrid_trial(provider):
    """(provider, trial, Started) with FalkorDB and PostgreSQL under one budget."""
    with _trial(provider, "falkordb") as t:
        yield t


@pytest.fixture(scope="module")
def f2(hybrid_trial, tiny_dataset):
    with ingested(HybridGraphScenario, hybrid_trial[2].endpoints, tiny_dataset) as s:
        yield s


@pytest.fixture(scope="module")
def f1(hybrid_trial, tiny_dataset, f2):
    """F1 on the same FalkorDB (after F2: F1's ingest replaces the graph with structure + chunks)."""
    with ingested(ChunkGraphScenario, hybrid_trial[2].endpoints, tiny_dataset) as s:
        yield s


def test_falkordb_endpoint_is_pinned_authenticated_and_scrubbed(hybrid_trial):
    import psutil
    import redis

    _, _, started = hybrid_trial
    ep = started.endpoints["falkordb"]
    assert ep.version.startswith("FalkorDB 4.16.3 ") and "4.8.1" not in ep.version
    assert ep.extra["auth"] == "requirepass" and ep.extra["settings"]["save"] == '""'
    passfile = Path(ep.extra["passfile"])
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(passfile.parent.stat().st_mode) == 0o700
    host, _, port = ep.dsn.removeprefix("redis://").rpartition(":")
    assert host == "127.0.0.1"
    with pytest.raises(redis.exceptions.AuthenticationError):  # no password, no graph
        redis.Redis(host=host, port=int(port), socket_connect_timeout=5).execute_command("GRAPH.LIST")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=host, port=int(port), password="wrong", socket_connect_timeout=5).ping()
    proc = psutil.Process(ep.pids[0])
    env = proc.environ()
    assert not [k for k in env if k.startswith("BTB_") or "BROKER" in k or "FLOWER" in k]
    assert passfile.read_text().strip() not in " ".join(proc.cmdline())  # the password is never on an argv
    if os.geteuid() == 0:
        assert proc.username() != "root"


def test_hybrid_engines_share_one_cgroup_slot(hybrid_trial):
    check_one_cgroup_slot(hybrid_trial[2], "falkordb")


def test_ingest_counts_match_the_manifest(f1, f2, tiny_dataset):
    m = Manifest.read(tiny_dataset)
    for scenario, report in (f2, f1):
        counts = scenario.counts()
        assert counts["nodes"] == m.counts["nodes"] and counts["edges"] == m.counts["edges"]
        assert counts["samples"] == m.counts["samples"] == report.rows["samples"] > 0
        assert report.seconds > 0 and report.rows_per_s > 0
        assert report.details["phases"]["structure_rows_per_s"] > 0
    assert f1[0].counts()["chunks"] == f1[1].rows["chunks"] > 0


def test_phases_are_returned_with_the_rows_and_sum_to_the_latency(f1, f2, tiny_dataset):
    check_phases(f1, f2, tiny_dataset)


def test_server_timeout_is_a_timeout_and_cancel_frees_the_client(f1):
    scenario, _ = f1
    slow = "UNWIND range(1, 20000) AS a UNWIND range(1, 20000) AS b RETURN count(*)"  # 400 M rows, no memory
    quick = type(scenario)(scenario.endpoints, RunOptions(timeout_s=0.05))
    try:
        with pytest.raises(QueryTimeout):
            quick.cypher(slow)
        # the watchdog's path: cancel() from another thread ends the call in flight on the client
        long = type(scenario)(scenario.endpoints, RunOptions(timeout_s=5))
        long.session()
        threading.Timer(0.2, long.cancel).start()
        t0 = time.monotonic()
        with pytest.raises(Exception):
            long.cypher(slow)
        assert time.monotonic() - t0 < 5
        long.close()
        # after a timeout the session is usable again (the cancelled query may still run server-side up to
        # its own TIMEOUT: closing the socket frees the client, FalkorDB stops the query at TIMEOUT)
        again = type(scenario)(scenario.endpoints, RunOptions(timeout_s=30))
        out = again.run("Q5", {})
        again.close()
        assert out.status == "ok", out.message
        with pytest.raises(QueryTimeout):
            quick.cypher(slow)
    finally:
        quick.close()


def test_validate_f1_f2_tiny_all_match(tiny_dataset, provider):
    check_validate(tiny_dataset, provider, ["F1", "F2"])


def test_registry_knows_f1_f2_engine_sets():
    from btb.routing import scenario_engine_set

    assert scenario_class("F1").engines == ("falkordb",)
    assert scenario_engine_set("F2") == "falkordb+postgres"


def test_falkordb_store_size_is_its_rdb_snapshot(f1, f2):
    """FalkorDB keeps the graph in memory (no periodic snapshots): the bytes on disk are the RDB snapshot a
    SAVE after the timed ingest writes, the one a trial restarts from; INFO memory is recorded beside it."""
    (s1, r1), (_, r2) = f1, f2
    assert r1.details["bytes_on_disk_source"] == "RDB snapshot size after SAVE"
    cfg = {**s1.session().redis.config_get("dir"), **s1.session().redis.config_get("dbfilename")}
    assert r1.bytes_on_disk == (Path(cfg["dir"]) / cfg["dbfilename"]).stat().st_size > 0
    assert r1.details["store"]["used_memory"] > 0
    assert r2.details["bytes_on_disk_source"] == "RDB snapshot size after SAVE"
    assert r2.details["store"]["used_memory"] > 0 and r2.bytes_on_disk > 0  # PostgreSQL's bytes plus the RDB's
