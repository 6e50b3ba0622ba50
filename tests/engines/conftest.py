"""Fixtures for engine tests: a real PostgreSQL (LocalPostgres) on a free port under pytest's tmp dir,
and a generated tiny dataset. Everything is torn down by the fixtures."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from btb.infra.postgres import LocalPostgres, find_pg_bin

SEED = 11


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def traversable(path: Path) -> Path:
    """Let the server's OS user (postgres, when we are root) reach a dir below pytest's 0700 tmp root."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        p = path
        while p != p.parent and str(p).startswith("/tmp/pytest-of-"):
            p.chmod(p.stat().st_mode | 0o755)
            p = p.parent
    return path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    from btb.dataset.generator import generate

    out = tmp_path_factory.mktemp("tiny-1d")
    generate("tiny-1d", SEED, out)
    return out


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    work = traversable(tmp_path_factory.mktemp("pg"))
    server = LocalPostgres(data_dir=work / "data", port=free_port(), bin_dir=find_pg_bin())
    endpoint = server.start(slot_name=f"btb-test-{server.port}")
    yield server, endpoint
    server.destroy()


def database(pg, name: str):
    """A fresh database on the test server and an Endpoint pointing at it."""
    server, endpoint = pg
    with psycopg.connect(server.dsn.replace(f"dbname={server.dbname}", "dbname=postgres"), autocommit=True) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return replace(endpoint, dsn=server.dsn.replace(f"dbname={server.dbname}", f"dbname={name}"))
