"""The DuckDB engine host (btb/infra/engines/duckdb): started by the local provider inside the trial's cgroup slot,
reached only through its private unix socket and key, DuckDB sized to the budget, the session timeout enforced by
the host, data kept across a clean restart, and a budget the engine cannot live in ending in an OOM kill of the
host alone."""

from __future__ import annotations

import os
import pickle
import stat
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from multiprocessing.connection import Client
from pathlib import Path

import pytest
from btbtest import CAN_LIMIT, scratch_provider

from btb.engines.duckdb import wire
from btb.engines.duckdb.client import HostClient, HostError, HostGone, interrupt
from btb.infra.engines.duckdb.settings import (HOST_BASE, MEMORY_FLOOR, MEMORY_SHARE, PER_THREAD, TCACHE_COUNT,
                                               malloc_env, settings_for_budget)
from btb.infra.local import LocalProvider
from btb.infra.provider import EngineUnavailable

MiB = 1 << 20
needs_limit = pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller here: no budget is "
                                 "enforced, so the host cannot be OOM-killed (btb doctor says why)")


@pytest.fixture(scope="module")
def provider():
    yield from scratch_provider(lambda root: LocalProvider(root, "ducktest"), "btb-test-duck-")


@pytest.fixture
def trial(provider):
    made = []

    def start(budget):
        t = f"duck-{uuid.uuid4().hex[:8]}"
        made.append(t)
        return t, provider.start(t, ("duckdb",), budget)

    yield start
    for t in made:
        provider.stop(t)


def _client(ep) -> HostClient:
    return HostClient(ep.dsn, ep.extra["authkey_file"])


def test_settings_follow_the_budget_and_the_cores():
    assert MEMORY_SHARE == 0.75  # the stated rule (settings.py): 75 % of what the host leaves
    s = settings_for_budget(1024 * MiB, temp_dir="/w/tmp", cores=2)
    limit = int(MEMORY_SHARE * (1024 * MiB - HOST_BASE))
    assert s == {"temp_directory": "/w/tmp", "memory_limit": f"{limit // 1024}KiB", "threads": "2"}
    # a small budget: DuckDB's floor, one thread (it needs ~125 MB a thread)
    assert settings_for_budget(48 * MiB, cores=8)["memory_limit"] == f"{MEMORY_FLOOR // 1024}KiB"
    assert settings_for_budget(48 * MiB, cores=8)["threads"] == "1"
    assert int(settings_for_budget(300 * MiB, cores=8)["threads"]) == int(MEMORY_SHARE * (300 * MiB - HOST_BASE)) // PER_THREAD
    assert settings_for_budget(64 << 30, cores=2)["threads"] == "2"  # never more threads than cores
    # unlimited, or tuning fixed: DuckDB's own memory default (80 % of RAM), every core
    assert settings_for_budget(None, cores=2) == settings_for_budget(512 * MiB, "fixed", cores=2) == {"threads": "2"}
    with pytest.raises(ValueError):
        settings_for_budget(512 * MiB, "aggressive")


def test_wire_builds_values_only():
    msg = ("q", "select $a", {"a": datetime(2024, 1, 1, tzinfo=timezone.utc), "b": Decimal("1.5"),
                              "c": timedelta(hours=1), "d": [1, 2.5, None, "x", b"y"]})
    assert wire.loads(wire.dumps(msg)) == msg

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    with pytest.raises(wire.Refused, match="posix.system|os.system"):
        wire.loads(pickle.dumps(Evil()))


def test_wire_frames_messages_of_every_size_on_one_socket():
    """Messages go one after another on a stream socket: small ones, one larger than the receive buffer, and
    several sent before any is read, each read whole and in order; a closed peer is an EOFError."""
    import socket

    a, b = socket.socketpair()
    try:
        rx = wire.Receiver(b)
        big = ("ok", [(i, f"{i:050d}") for i in range(5000)], 0.5)  # ~300 KB, > wire.BUFFER
        assert len(wire.dumps(big)) > wire.BUFFER
        msgs = [("q", "select 1", None), big, ("ping",), ("cfg", {"timeout_s": 2})]
        import threading

        sender = threading.Thread(target=lambda: [wire.send(a, wire.dumps(m)) for m in msgs])
        sender.start()
        assert [rx.recv() for _ in msgs] == msgs
        sender.join()
        assert len(rx.buf) == wire.BUFFER  # the large message's buffer is not kept
        a.close()
        with pytest.raises(EOFError):
            rx.recv()
    finally:
        a.close()
        b.close()


def test_replies_carry_engine_seconds_and_parsed_texts_see_changes(trial):
    """Each query's reply says how long DuckDB's own calls took inside the host (less than the round trip); a
    query text kept parsed by the session sees a table changed since (DuckDB binds it again at every run); a
    text of several statements runs them all; TIMESTAMPTZ values come back with a plain fixed-offset zone."""
    import time

    _, started = trial(None)
    c = _client(started.endpoints["duckdb"])
    c.execute("create table t as select 1 as a")
    t0 = time.perf_counter()
    assert c.query("select * from t") == [(1,)]
    rtt = time.perf_counter() - t0
    assert 0 < c.engine_s < rtt
    c.execute("create or replace table t as select 2 as a, 'x' as b")
    assert c.query("select * from t") == [(2, "x")]  # the same text, parsed before the change
    assert c.query("insert into t values (3, 'y'); select count(*) from t") == [(2,)]
    c.configure(timeout_s=5)
    assert c.engine_s is None
    ts = c.query("select timestamptz '2024-01-01 12:00:00+00'")[0][0]
    assert ts == datetime(2024, 1, 1, 12, tzinfo=timezone.utc) and type(ts.tzinfo) is timezone


def test_host_runs_in_the_slot_behind_a_private_socket(provider, trial):
    t, started = trial(512 * MiB)
    ep = started.endpoints["duckdb"]
    sock = Path(ep.dsn.removeprefix("unix:"))
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700 and stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(ep.extra["authkey_file"]).stat().st_mode) == 0o600
    assert ep.pids and ep.pids[0] != os.getpid()
    if CAN_LIMIT:
        assert ep.pids[0] in provider.slot(t).pids()  # inside the trial's cgroup, not btb's
    # DuckDB reports what the budget asked for
    want = settings_for_budget(512 * MiB, temp_dir=str(Path(ep.extra["work"]) / "tmp"))
    assert ep.extra["settings"]["threads"] == want["threads"]
    assert ep.extra["settings"]["temp_directory"] == want["temp_directory"]
    assert ep.extra["settings"]["memory_limit"].endswith("MiB") and ep.extra["tuning"]["budget"] == 512 * MiB
    c = _client(ep)
    assert c.query("select $a::text || 'y', $n + 1", {"a": "x", "n": 41}) == [("xy", 42)]
    with pytest.raises(HostError) as err:
        c.query("select * from no_such_table")
    assert err.value.kind == "error" and "no_such_table" in str(err.value)
    assert c.query("select 1") == [(1,)]  # the session survives an error
    c.close()
    with pytest.raises(Exception):  # a client without the key is refused at the challenge
        Client(str(sock), family="AF_UNIX", authkey=b"wrong key").send_bytes(wire.dumps(("ping",)))


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(kv.decode().split("=", 1) for kv in raw if b"=" in kv)


def test_host_runs_with_the_sized_malloc_cache_unless_told_glibc(trial, monkeypatch):
    with pytest.raises(ValueError):
        malloc_env("jemalloc")
    monkeypatch.delenv("BTB_DUCKDB_MALLOC", raising=False)
    _, started = trial(None)
    ep = started.endpoints["duckdb"]
    assert _environ(ep.pids[0]).get("GLIBC_TUNABLES") == f"glibc.malloc.tcache_count={TCACHE_COUNT}"
    assert ep.extra["tuning"]["malloc"] == "tuned"
    monkeypatch.setenv("BTB_DUCKDB_MALLOC", "glibc")
    _, started = trial(None)
    ep = started.endpoints["duckdb"]
    assert "GLIBC_TUNABLES" not in _environ(ep.pids[0]) and ep.extra["tuning"]["malloc"] == "glibc"
    assert _client(ep).query("select 1") == [(1,)]


def test_timeout_and_interrupt_end_the_statement(trial):
    import threading
    import time

    _, started = trial(None)
    ep = started.endpoints["duckdb"]
    c = _client(ep)
    c.configure(timeout_s=0.3)
    t0 = time.perf_counter()
    with pytest.raises(HostError) as err:
        c.query("select count(*) from range(1000000000) a, range(1000) b")
    assert err.value.kind == "timeout" and time.perf_counter() - t0 < 5
    c.configure(timeout_s=None)
    threading.Timer(0.3, interrupt, (ep.dsn, ep.extra["authkey_file"])).start()
    with pytest.raises(HostError) as err:
        c.query("select count(*) from range(1000000000) a, range(1000) b")
    assert err.value.kind == "interrupted"
    assert c.query("select 7") == [(7,)]


def test_clean_restart_keeps_the_database(provider, trial):
    t, started = trial(None)
    c = _client(started.endpoints["duckdb"])
    c.execute("create table kept as select range as i from range(1000)")
    c.close()
    old = started.endpoints["duckdb"].pids
    eps = provider.restart(t, clean=True)
    assert eps["duckdb"].pids != old
    assert provider.drop_cache(t)
    assert _client(eps["duckdb"]).query("select count(*), sum(i) from kept") == [(1000, 499500)]


def test_duckdb_own_out_of_memory_is_its_kind(trial):
    """Under a budget DuckDB's memory_limit is sized to, a statement over it fails with DuckDB's own error."""
    _, started = trial(192 * MiB)
    with pytest.raises(HostError) as err:
        _client(started.endpoints["duckdb"]).query("select len(list(i)) from range(60000000) t(i)")
    assert err.value.kind == "oom", err.value


@needs_limit
def test_a_budget_below_the_host_ends_in_an_oom_kill_of_the_host_only(provider, trial):
    """16 MiB cannot hold the host (an idle one is ~24 MiB in its cgroup): the kernel kills it while it starts;
    a budget just above that lets it start and kills it at the first hungry statement. btb's own process is
    untouched."""
    with pytest.raises(EngineUnavailable) as err:
        trial(16 * MiB)
    assert err.value.oom_kills and err.value.oom_kills >= 1
    # The host's own start-up charge depends on how much of Python's and DuckDB's files the page cache already
    # holds (a page is charged to the cgroup that first reads it): the smallest of these budgets that starts it.
    for mib in (24, 32, 40):
        try:
            t, started = trial(mib * MiB)
            break
        except EngineUnavailable as e:
            assert e.oom_kills and e.oom_kills >= 1, e  # only ever the budget's kill
    else:
        pytest.fail("the host did not start even under 40 MiB")
    ep = started.endpoints["duckdb"]
    assert os.getpid() not in provider.slot(t).pids()
    with pytest.raises(HostGone):
        _client(ep).query("select len(list(i)) from range(60000000) t(i)")
    assert provider.oom_kills(t) >= 1
    _, fresh = trial(None)  # btb goes on: a new host serves
    assert _client(fresh.endpoints["duckdb"]).query("select 1") == [(1,)]


def test_docker_provider_names_duckdb_local_only(tmp_path):
    """duckdb has no container (registry `container=None`): under BTB_PROVIDER=docker a trial needing it is refused
    in one line that names the local provider, not an unknown kind or a KeyError."""
    import docker

    from btb.infra.docker.provider import DockerProvider

    client = docker.DockerClient(base_url=f"unix://{tmp_path / 'no-docker.sock'}", version="1.41", timeout=2)  # nothing there
    p = DockerProvider(tmp_path, "n", client=client)
    cap = p.capabilities()["duckdb"]
    assert not cap.available and "local provider only" in cap.why and "BTB_PROVIDER=local" in cap.why
    assert "local provider only" in p.describe("duckdb")
    with pytest.raises(EngineUnavailable, match="duckdb .no container for duckdb"):
        p.require(("duckdb",), "n")
