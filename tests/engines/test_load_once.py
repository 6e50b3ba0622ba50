"""Load once, measure many: every engine keeps its data when parked and serves it again after a restart
under another budget (FalkorDB runs without periodic snapshots: parking must save its graph)."""

from __future__ import annotations

import pytest

from btb.dataset.format import load_bindings
from btb.engines.base import RunOptions
from btb.engines.registry import scenario_class

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("sid", ["P1", "F1", "O1", "F2"])
def test_parked_load_serves_the_same_data_under_a_budget(sid, provider, tiny_dataset):
    cls = scenario_class(sid)
    if not provider.can_run(cls.engines):
        pytest.fail(f"{sid} needs {cls.engines}; this node cannot run them: {provider.capabilities()}")
    lid = f"load~test~tiny~{sid}"
    started = provider.start(lid, tuple(cls.engines), None)
    sc = cls(started.endpoints, RunOptions(timeout_s=30))
    sc.ingest(tiny_dataset)
    before = sc.counts()
    sc.close()
    provider.park(lid)
    assert provider.current(lid) is None  # parked: nothing runs
    again = provider.resume(lid, 256 << 20)
    assert again.applied_limit == 256 << 20
    sc = cls(again.endpoints, RunOptions(timeout_s=30))
    try:
        assert sc.counts() == before
        params = load_bindings(tiny_dataset, "Q6", 1)[0]
        out = sc.run("Q6", params)
        assert out.status == "ok" and out.rows, out
    finally:
        sc.close()
        provider.stop(lid)
