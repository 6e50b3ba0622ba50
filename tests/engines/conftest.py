"""Fixtures for engine tests: a real PostgreSQL started by the provider (`LocalProvider`, as the workflow
does) in a throw-away engine root, and a generated tiny dataset. Everything is torn down by the fixtures."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from btbtest import scratch_provider

from btb.infra.engines.postgres.client import fresh_database
from btb.infra.local import LocalProvider
from btb.infra.ports import free_port as _free_port

SEED = 11


def _server_dir(prefix: str) -> Path:
    """A directory the server's OS user ('postgres' when we are root) can reach.

    Not under pytest's tmp_path: pytest keeps /tmp/pytest-of-<user> at mode 0700 and re-tightens it
    whenever any pytest session starts on the machine, which breaks a server running below it.
    """
    d = Path(tempfile.mkdtemp(prefix=f"btb-test-{prefix}-"))
    d.chmod(0o755)
    return d


@pytest.fixture(scope="module")
def provider():
    """A LocalProvider on a fresh engine root (node 'enginetest'); every trial is stopped afterwards."""
    yield from scratch_provider(lambda root: LocalProvider(root, "enginetest"), "btb-test-engines-")


@pytest.fixture(scope="module")
def pg(provider):
    """(provider, trial_id, Endpoint) of one PostgreSQL trial for the module (unlimited budget)."""
    trial = f"test-engines-{uuid.uuid4().hex[:8]}"
    started = provider.start(trial, ("postgres",), None)
    yield provider, trial, started.endpoints["postgres"]
    provider.stop(trial)


@pytest.fixture
def free_port():
    """A function returning a free loopback port (tests start their own servers on it)."""
    return _free_port


@pytest.fixture
def server_dir():
    """A function returning a fresh directory the server can use; all are removed after the test."""
    made: list[Path] = []

    def make() -> Path:
        made.append(_server_dir("work"))
        return made[-1]

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def database(pg):
    """A function creating a fresh database on the module's server; returns an Endpoint for it."""
    return lambda name: _database(pg, name)


def _database(pg, name: str):
    _, _, endpoint = pg
    return replace(endpoint, dsn=fresh_database(endpoint.dsn, name))
