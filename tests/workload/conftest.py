"""Fixtures for the load-model tests: a real PostgreSQL started by the local provider (as the workflow
does) in a throw-away engine root, torn down at the end of the module."""

from __future__ import annotations

import uuid

import pytest
from btbtest import scratch_provider

from btb.infra.local import LocalProvider


@pytest.fixture(scope="module")
def pg():
    """The Endpoint of one PostgreSQL (unlimited budget) for the module."""
    for provider in scratch_provider(lambda root: LocalProvider(root, "workloadtest"), "btb-test-workload-"):
        trial = f"test-workload-{uuid.uuid4().hex[:8]}"
        started = provider.start(trial, ("postgres",), None)
        yield started.endpoints["postgres"]
        provider.stop(trial)
