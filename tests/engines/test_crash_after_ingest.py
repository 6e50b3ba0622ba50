"""An ingested store survives a backend killed right after the ingest (what an OOM kill in the first
query batch does): crash recovery must find every row. Guards against the non-durable shortcuts a
scratch cluster tempts one into (unlogged tables are truncated by crash recovery; asynchronous commits
of the last ~200 ms are lost, hence the checkpoint that ends the ingest — on tiny the WAL writer has
usually flushed them anyway while indexes are built, so this test does not prove that checkpoint)."""

from __future__ import annotations

import os
import signal

import pytest

from btb.dataset.format import Manifest
from btb.engines.base import RunOptions
from btb.engines.postgres.relational import RelationalScenario

pytestmark = pytest.mark.integration


def test_a_backend_sigkill_right_after_ingest_loses_nothing(provider, tiny_dataset):
    started = provider.start("crash-after-ingest", ("postgres",), None)
    scenario = RelationalScenario(started.endpoints, RunOptions(timeout_s=30))
    try:
        report = scenario.ingest(tiny_dataset)
        assert report.details["phases"]["checkpoint_after_ingest_s"] >= 0
        os.kill(scenario.conn().info.backend_pid, signal.SIGKILL)  # the postmaster reinitialises everything
        scenario.close()
        eps = provider.current("crash-after-ingest", wait_s=30)
        assert eps is not None
        scenario = RelationalScenario(eps, RunOptions(timeout_s=30))
        m = Manifest.read(tiny_dataset)
        counts = scenario.counts()
        assert (counts["nodes"], counts["edges"], counts["samples"]) == (m.counts["nodes"], m.counts["edges"],
                                                                         m.counts["samples"])
    finally:
        scenario.close()
        provider.stop("crash-after-ingest")
