"""Fixtures for engine tests: a real PostgreSQL (LocalPostgres) on a free port in a fresh directory,
and a generated tiny dataset. Everything is torn down by the fixtures."""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from btb.infra.postgres import LocalPostgres, find_pg_bin

SEED = 11


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_dir(prefix: str) -> Path:
    """A directory the server's OS user ('postgres' when we are root) can reach.

    Not under pytest's tmp_path: pytest keeps /tmp/pytest-of-<user> at mode 0700 and re-tightens it
    whenever any pytest session starts on the machine, which breaks a server running below it.
    """
    d = Path(tempfile.mkdtemp(prefix=f"btb-test-{prefix}-"))
    d.chmod(0o755)
    return d


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    from btb.dataset.generator import generate

    out = tmp_path_factory.mktemp("tiny-1d")
    generate("tiny-1d", SEED, out)
    return out


@pytest.fixture(scope="module")
def pg():
    work = _server_dir("pg")
    server = LocalPostgres(data_dir=work / "data", port=_free_port(), bin_dir=find_pg_bin())
    try:
        endpoint = server.start(slot_name=f"btb-test-{server.port}")
        yield server, endpoint
    finally:
        server.destroy()
        shutil.rmtree(work, ignore_errors=True)


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
    server, endpoint = pg
    with psycopg.connect(server.dsn.replace(f"dbname={server.dbname}", "dbname=postgres"), autocommit=True) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return replace(endpoint, dsn=server.dsn.replace(f"dbname={server.dbname}", f"dbname={name}"))
