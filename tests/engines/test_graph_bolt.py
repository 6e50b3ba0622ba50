"""M1/M2 over Bolt. Memgraph is not available on this node class: the local provider says so with the
reason, validation refuses M1/M2 naming the engine, and the Memgraph answer tests run only when a Memgraph
URI is configured (BTB_MEMGRAPH_URI=bolt://host:7687, optional BTB_MEMGRAPH_USER / BTB_MEMGRAPH_PASSFILE)."""

from __future__ import annotations

import os

import pytest

from btb.engines.base import Endpoint, RunOptions
from btb.engines.registry import engines_of, scenario_class
from btb.infra.provider import EngineUnavailable
from btb.validate import validate

MEMGRAPH_URI = os.environ.get("BTB_MEMGRAPH_URI", "")
NO_MEMGRAPH = "unavailable: no Memgraph engine on this node (set BTB_MEMGRAPH_URI=bolt://host:7687 to run)"


def test_m1_m2_are_registered_on_the_memgraph_engine_set():
    assert engines_of("M1") == ("memgraph",) and engines_of("M2") == ("memgraph", "postgres")
    assert scenario_class("M2").graph_kind == "memgraph"


@pytest.mark.integration
def test_local_provider_says_memgraph_is_unavailable_and_validate_refuses(provider, tiny_dataset):
    caps = provider.capabilities()["memgraph"]
    if caps.available:
        pytest.skip("this node has a Memgraph engine")
    assert "unavailable: no Memgraph engine on this node" in caps.why
    assert not provider.can_run(("memgraph", "postgres"))
    with pytest.raises(EngineUnavailable, match="M2 needs engines memgraph"):
        validate(tiny_dataset, ["M2"], provider=provider)


@pytest.fixture(scope="module")
def memgraph_endpoint():
    if not MEMGRAPH_URI:
        pytest.skip(NO_MEMGRAPH)
    extra = {}
    if os.environ.get("BTB_MEMGRAPH_USER"):
        extra = {"user": os.environ["BTB_MEMGRAPH_USER"], "passfile": os.environ.get("BTB_MEMGRAPH_PASSFILE", "")}
    return Endpoint(kind="memgraph", dsn=MEMGRAPH_URI, version="memgraph (configured URI)", extra=extra)


@pytest.mark.integration
@pytest.mark.parametrize("sid", ["M1", "M2"])
def test_memgraph_scenarios_match_the_oracle(sid, memgraph_endpoint, pg, tiny_dataset):
    from btb.dataset import oracle
    from btb.dataset.format import load_bindings
    from btb.validate import check_scenario

    _, _, pg_endpoint = pg
    endpoints = {"memgraph": memgraph_endpoint, "postgres": pg_endpoint}
    cls = scenario_class(sid)
    s = cls({k: endpoints[k] for k in cls.engines}, RunOptions(timeout_s=60))
    try:
        report = s.ingest(tiny_dataset)
        assert "storage_info" in report.details["phases"]
        b = load_bindings(tiny_dataset)
        expected = {(q, i): oracle.answer(tiny_dataset, q, p) for q, ps in b.items() for i, p in enumerate(ps)}
        bad = [(c.qid, c.status, c.message[:200]) for c in check_scenario(s, tiny_dataset, b, expected) if c.status != "ok"]
        assert not bad, bad
    finally:
        s.close()
