"""O1 and O2 on a real Oxigraph (+ PostgreSQL for O2) started through the provider, as a trial would: the
engine's version, bind address and scrubbed environment, both engines of the hybrid in one cgroup slot,
the bulk load into the default graph, every query × binding against the oracle, phases, HTTP errors as
`error`, the client watchdog's timeout and cancel."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from paradigms import check_one_cgroup_slot, check_phases, check_validate, hybrid_trial as _trial, ingested

from btb.dataset.format import Manifest
from btb.engines.base import QueryTimeout, RunOptions
from btb.engines.rdf.client import SparqlError
from btb.engines.rdf.scenario import ChunkRdfScenario, HybridRdfScenario
from btb.engines.registry import engines_of, scenario_class

pytestmark = pytest.mark.integration
# ~40 M solutions counted server-side: a few seconds (Oxigraph finishes it after the client left), never minutes
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?k { 1 2 3 4 } ?a <https://btb.example/schema#id> ?c . ?d ?e ?f }"


@pytest.fixture(scope="module")
def hybrid_trial(provider):
    with _trial(provider, "oxigraph") as t:
        yield t


@pytest.fixture(scope="module")
def o2(hybrid_trial, tiny_dataset):
    with ingested(HybridRdfScenario, hybrid_trial[2].endpoints, tiny_dataset) as s:
        yield s


@pytest.fixture(scope="module")
def o1(hybrid_trial, tiny_dataset, o2):
    """O1 on the same Oxigraph (after O2: O1's ingest clears the store and loads structure + chunks)."""
    with ingested(ChunkRdfScenario, hybrid_trial[2].endpoints, tiny_dataset) as s:
        yield s


def test_oxigraph_endpoint_is_pinned_loopback_and_scrubbed(hybrid_trial):
    import psutil
    from importlib.metadata import version

    _, _, started = hybrid_trial
    ep = started.endpoints["oxigraph"]
    assert ep.version == f"Oxigraph {version('oxigraph')} (pip oxigraph {version('oxigraph')})"
    assert version("oxigraph") == "0.5.13"
    assert ep.dsn.startswith("http://127.0.0.1:")
    assert ep.extra["auth"] == "none" and ep.extra["settings"]["bind"] == "127.0.0.1"
    proc = psutil.Process(ep.pids[0])
    cmd = proc.cmdline()
    assert cmd[cmd.index("--bind") + 1].startswith("127.0.0.1:")  # never 0.0.0.0: no auth, loopback only
    env = proc.environ()
    assert not [k for k in env if k.startswith("BTB_") or "BROKER" in k or "FLOWER" in k or "REDIS" in k]
    if os.geteuid() == 0:
        assert proc.username() != "root"
    assert oct(Path(ep.extra["store"]).parent.stat().st_mode & 0o777) == "0o700"


def test_hybrid_engines_share_one_cgroup_slot(hybrid_trial):
    check_one_cgroup_slot(hybrid_trial[2], "oxigraph")


def test_ingest_counts_match_the_manifest_and_load_is_in_the_default_graph(o1, o2, tiny_dataset):
    m = Manifest.read(tiny_dataset)
    for scenario, report in (o2, o1):
        counts = scenario.counts()
        assert counts["nodes"] == m.counts["nodes"] and counts["edges"] == m.counts["edges"]
        assert counts["samples"] == m.counts["samples"] == report.rows["samples"] > 0
        assert report.details["triples_per_s"] > 0 and report.details["phases"]["triples"] > 0
        assert "?default" in report.details["phases"]["load_path"]
    scenario, report = o1
    assert scenario.counts()["triples"] == report.details["phases"]["triples"]
    assert scenario.counts()["chunks"] == report.rows["chunks"] > 0
    # `POST /store` without ?default would have made a named graph: nothing may live outside the default one
    assert scenario.sparql("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }") == [(0,)]


def test_phases_are_returned_with_the_rows_and_sum_to_the_latency(o1, o2, tiny_dataset):
    check_phases(o1, o2, tiny_dataset)


def test_http_error_is_an_error_with_the_servers_message(o1):
    scenario, _ = o1
    broken = ChunkRdfScenario(scenario.endpoints, RunOptions(timeout_s=30))
    try:
        broken._texts["Q5"] = "SELECT ?x WHERE { ?x ?y }"  # a syntax error the server reports
        out = broken.run("Q5", {})
        assert out.status == "error" and out.rows is None
        assert "HTTP 400" in out.message and "SparqlError" in out.message
        with pytest.raises(SparqlError):
            broken.sparql("SELECT * WHERE { ?s <nope ?o }")
        assert broken.run("Q5", {}).status == "error"
        broken._texts["Q5"] = scenario._texts["Q5"]
        assert broken.run("Q5", {}).status == "ok"  # the session survives an error answer
    finally:
        broken.close()


def test_watchdog_timeout_and_cancel_free_the_client(o1):
    scenario, _ = o1
    quick = ChunkRdfScenario(scenario.endpoints, RunOptions(timeout_s=0.2))
    try:
        quick._texts["Q5"] = SLOW
        t0 = time.monotonic()
        out = quick.run("Q5", {})
        assert out.status == "timeout" and "watchdog" in out.message, out
        assert time.monotonic() - t0 < 3.0  # timeout + grace (1 s) + the watchdog's poll
        # cancel() from another thread ends the call in flight at once
        long = ChunkRdfScenario(scenario.endpoints, RunOptions(timeout_s=60))
        long.session()
        threading.Timer(0.2, long.cancel).start()
        t0 = time.monotonic()
        with pytest.raises(QueryTimeout):
            long.sparql(SLOW)
        assert time.monotonic() - t0 < 2.0
        # the next query reconnects and is answered
        assert long.run("Q5", {}).status == "ok"
        long.close()
    finally:
        quick.close()


def test_validate_o1_o2_tiny_all_match(tiny_dataset, provider):
    check_validate(tiny_dataset, provider, ["O1", "O2"])


def test_registry_knows_o1_o2_engine_sets():
    assert scenario_class("O1").engines == engines_of("O1") == ("oxigraph",)
    assert scenario_class("O2").engines == engines_of("O2") == ("oxigraph", "postgres")
