"""Fixtures for workload tests: a LocalProvider on a scratch engine root, and P1 loaded with tiny-1d on it."""

from __future__ import annotations

import uuid

import pytest
from btbtest import scratch_provider

from btb.engines.base import RunOptions
from btb.engines.registry import scenario_class
from btb.infra.local import LocalProvider


@pytest.fixture(scope="module")
def provider():
    yield from scratch_provider(lambda root: LocalProvider(root, "workloadtest"), "btb-test-workload-")


@pytest.fixture
def p1_pair(provider, tiny_dataset):
    """(writer, reader): P1 freshly loaded with tiny-1d, and a second session on the same engine."""
    trial = f"test-workload-{uuid.uuid4().hex[:6]}"
    endpoints = provider.start(trial, ("postgres",), None).endpoints
    cls = scenario_class("P1")
    writer, reader = cls(endpoints, RunOptions(timeout_s=30)), cls(endpoints, RunOptions(timeout_s=30))
    try:
        writer.ingest(tiny_dataset)
        yield writer, reader
    finally:
        writer.close()
        reader.close()
        provider.stop(trial)
