"""LocalProvider on real PostgreSQL and real cgroups: per-trial state, one slot per trial carrying the
budget, recovery and restart after the kills an OOM killer or an operator does, and engine security
(authenticated clients only, private socket dir, no btb secret in an engine's environment)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg
import pytest
from btbtest import CAN_LIMIT
from psycopg.conninfo import conninfo_to_dict

from btb.cgroups import capabilities
from btb.infra.engines.postgres.process import LocalPostgres
from btb.infra import portguard
from btb.infra.local import EngineUnavailable, LocalProvider
from btb.infra.provider import EngineUnavailable as ProviderEngineUnavailable

pytestmark = pytest.mark.integration
MiB = 1 << 20


def _query(dsn: str, q: str = "select 1"):
    with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as c:
        cur = c.execute(q)
        return cur.fetchone()[0] if cur.description else None


def _port(ep) -> str:
    return conninfo_to_dict(ep.dsn)["port"]


def _engine_pids(provider: LocalProvider, trial: str) -> list[int]:
    slot = provider.slot(trial)
    pids = slot.pids() if slot and slot.dirs else []
    return pids or list(provider.current(trial).get("postgres").pids)


def test_capabilities_per_kind_and_refusal_of_unknown_kinds(provider):
    caps = provider.capabilities()
    assert caps["postgres"].available and caps["postgres"].can_restart and caps["postgres"].can_measure
    assert caps["postgres"].can_limit == CAN_LIMIT
    assert provider.can_run(("postgres",)) and not provider.can_run(("postgres", "memgraph"))
    assert EngineUnavailable is ProviderEngineUnavailable
    with pytest.raises(EngineUnavailable, match="memgraph"):
        provider.start("t-unknown", ("memgraph",), None)
    assert provider.trials() == []


def test_trials_are_isolated_and_stop_touches_only_its_own(provider):
    a = provider.start("camp:P1:256MiB:1", ("postgres",), 256 * MiB)
    b = provider.start("camp:P1:unlimited:1", ("postgres",), None)
    assert sorted(provider.trials()) == ["camp:P1:256MiB:1", "camp:P1:unlimited:1"]
    if CAN_LIMIT:
        assert a.budget_mode == "shared-cgroup" and a.applied_limit == 256 * MiB
        assert provider.applied_limit("camp:P1:256MiB:1") == 256 * MiB
        assert provider.oom_kills("camp:P1:256MiB:1") == 0
    assert b.applied_limit is None and provider.applied_limit("camp:P1:unlimited:1") is None
    assert _port(a.endpoints["postgres"]) != _port(b.endpoints["postgres"])
    provider.stop("camp:P1:256MiB:1")
    provider.stop("camp:P1:256MiB:1")  # idempotent
    assert provider.trials() == ["camp:P1:unlimited:1"]
    assert provider.current("camp:P1:256MiB:1") is None
    assert _query(provider.current("camp:P1:unlimited:1")["postgres"].dsn) == 1
    # a second provider object (another worker process) finds the same trial from its state
    other = LocalProvider(provider.root.parent, provider.node)
    assert other.current("camp:P1:unlimited:1")["postgres"].dsn == b.endpoints["postgres"].dsn


def test_a_trial_id_of_130_chars_still_starts(provider):
    trial = "a-campaign-name-that-a-user-chose-" + "x" * 80 + ":P1:64MiB:rep-1"
    assert len(trial) > 120
    st = provider.start(trial, ("postgres",), None)
    ep = st.endpoints["postgres"]
    assert _query(ep.dsn) == 1
    sock = ep.extra["socket_dir"]
    assert len(sock) < 40 and os.path.isdir(sock) and oct(os.stat(sock).st_mode & 0o777) == "0o700"
    provider.stop(trial)
    assert not os.path.exists(sock) and provider.trials() == []


def test_only_authenticated_clients_get_in(provider):
    st = provider.start("sec-auth", ("postgres",), None)
    ep = st.endpoints["postgres"]
    info = conninfo_to_dict(ep.dsn)
    assert "password" not in info and info["passfile"]  # the DSN carries a reference, never the secret
    pf = os.stat(info["passfile"])
    assert pf.st_mode & 0o077 == 0
    assert ep.extra["auth"] == "scram-sha-256"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host="127.0.0.1", port=info["port"], user="postgres", dbname="btb", password="wrong",
                        connect_timeout=5)
    if os.geteuid() != 0:
        pytest.skip("other-user checks need root (runuser)")
    for host in ("127.0.0.1", ep.extra["socket_dir"]):
        r = subprocess.run(["runuser", "-u", "nobody", "--", "psql", "-w", "-h", host, "-p", info["port"], "-U",
                            "postgres", "-d", "btb", "-c", "select 1"], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, (host, r.stdout)
        guarded = host == "127.0.0.1" and not portguard.enforced()  # the port guard refuses others first
        wants = ("Connection refused",) if guarded else ("no password supplied", "Permission denied")
        assert any(w in r.stderr for w in wants), r.stderr
    # nor can another user read the password
    r = subprocess.run(["runuser", "-u", "nobody", "--", "cat", info["passfile"]], capture_output=True, text=True)
    assert r.returncode != 0


def test_no_btb_secret_reaches_an_engine_process(provider, monkeypatch):
    secret = "fake-redis-secret-4711"
    monkeypatch.setenv("BTB_REDIS_PASSWORD", secret)
    monkeypatch.setenv("BTB_BROKER_URL", f"redis://:{secret}@127.0.0.1:1/0")
    monkeypatch.setenv("BTB_FLOWER_PASSWORD", "fake-flower-secret-0815")
    st = provider.start("sec-env", ("postgres",), None)
    ep = st.endpoints["postgres"]
    with psycopg.connect(ep.dsn) as c1, psycopg.connect(ep.dsn) as c2:  # backends exist while we look
        backends = {c1.info.backend_pid, c2.info.backend_pid}
        pids = set(_engine_pids(provider, "sec-env")) | backends | set(ep.pids)
        assert backends <= pids or not provider.slot("sec-env").dirs
        seen = 0
        for pid in pids:
            try:
                env = open(f"/proc/{pid}/environ", "rb").read()
            except OSError:
                continue
            seen += 1
            assert b"BTB_" not in env and secret.encode() not in env and b"fake-flower-secret" not in env, pid
        assert seen >= 3  # postmaster + the two backends at least


def test_current_waits_for_recovery_after_a_backend_is_killed(provider):
    st = provider.start("crash-backend", ("postgres",), None)
    dsn = st.endpoints["postgres"].dsn
    with psycopg.connect(dsn, autocommit=True) as c:
        _query(dsn, "create table t as select 1 x")
        _query(dsn, "checkpoint")  # synchronous_commit=off: an unflushed commit would not survive the crash
        os.kill(c.info.backend_pid, signal.SIGKILL)  # what the OOM killer does: crash recovery follows
        time.sleep(0.05)
    t0 = time.monotonic()
    eps = provider.current("crash-backend", wait_s=30)
    assert eps is not None, "the postmaster recovers by itself: current() must wait for it"
    assert time.monotonic() - t0 < 30
    assert _query(eps["postgres"].dsn, "select count(*) from t") == 1


def test_postmaster_killed_is_none_at_once_and_restart_brings_the_data_back(provider):
    st = provider.start("crash-postmaster", ("postgres",), None)
    ep = st.endpoints["postgres"]
    _query(ep.dsn, "create table t as select 42 x")
    _query(ep.dsn, "checkpoint")
    with psycopg.connect(ep.dsn) as held:  # a backend that outlives its postmaster (an orphan)
        os.kill(ep.pids[0], signal.SIGKILL)
        time.sleep(0.2)
        t0 = time.monotonic()
        assert provider.current("crash-postmaster", wait_s=10) is None
        assert time.monotonic() - t0 < 2  # dead is dead: no waiting
        eps = provider.restart("crash-postmaster")  # stale pid file, orphan backend holding shared memory
        held.close()
    assert _query(eps["postgres"].dsn, "select x from t") == 42
    assert provider.current("crash-postmaster") is not None
    provider.stop("crash-postmaster")
    log = provider.logs("crash-postmaster")["postgres"]  # the engine log outlives the trial's data
    assert "terminating connection due to unexpected postmaster exit" in log.read_text()


@pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller: no OOM kill can happen here")
def test_restart_after_an_oom_kill_under_the_trial_budget(provider):
    st = provider.start("oom", ("postgres",), 96 * MiB)
    ep = st.endpoints["postgres"]
    assert provider.applied_limit("oom") == 96 * MiB
    heavy = "select count(*) from (select g, md5(g::text) m from generate_series(1, 3000000) g order by m) s"
    with pytest.raises(psycopg.OperationalError):
        with psycopg.connect(ep.dsn, connect_timeout=5) as c:
            c.execute("set work_mem = '1GB'")
            c.execute(heavy).fetchall()
    assert provider.oom_kills("oom") >= 1
    eps = provider.current("oom", wait_s=30) or provider.restart("oom")
    assert _query(eps["postgres"].dsn) == 1
    eps = provider.restart("oom")  # a restart in place after the kill keeps budget and slot
    assert _query(eps["postgres"].dsn) == 1
    assert provider.applied_limit("oom") == 96 * MiB


def test_leftovers_are_listed_and_stopped(provider):
    provider.start("left-1", ("postgres",), None)
    (provider.trials_dir / "half-made").mkdir()  # a start that died before writing its state
    assert set(provider.trials()) == {"left-1", "half-made"}
    for t in provider.trials():
        provider.stop(t)
    assert provider.trials() == [] and list(provider.trials_dir.iterdir()) == []


def test_a_port_taken_between_probe_and_bind_is_retried_on_another(provider, monkeypatch):
    import socket

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real, calls = portguard.free_port, []  # the port a start picks comes from portguard.guarded_port

    def racy(start=None, **kw):  # the first probe answers a port someone else binds right after
        calls.append(start)
        return taken if len(calls) == 1 else real(start, **kw)

    monkeypatch.setattr(portguard, "free_port", racy)
    try:
        st = provider.start("port-race", ("postgres",), None)
    finally:
        squatter.close()
    assert _port(st.endpoints["postgres"]) != str(taken)
    assert _query(st.endpoints["postgres"].dsn) == 1


class _SecondPostgres(LocalPostgres):
    """A second engine kind (a hybrid's other half) that is a real server: one more PostgreSQL."""

    kind = "pgsecond"


@pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller: engines cannot share a budget slot")
def test_two_engines_of_a_trial_share_one_slot_and_live_and_die_together(provider, monkeypatch):
    from btb.engines import registry

    monkeypatch.setitem(registry.ENGINES, "pgsecond", registry.EngineEntry(f"{__name__}:_SecondPostgres"))
    provider._caps = None
    st = provider.start("hybrid", ("postgres", "pgsecond"), 256 * MiB)
    assert set(st.endpoints) == {"postgres", "pgsecond"} and st.budget_mode == "shared-cgroup"
    assert st.applied_limit == 256 * MiB  # one budget for both, not twice
    a, b = st.endpoints["postgres"], st.endpoints["pgsecond"]
    assert a.cgroup == b.cgroup and _port(a) != _port(b)
    in_slot = set(provider.slot("hybrid").pids())
    assert a.pids[0] in in_slot and b.pids[0] in in_slot
    os.kill(b.pids[0], signal.SIGKILL)  # one half dies: the trial's engines are not all there
    time.sleep(0.2)
    assert provider.current("hybrid", wait_s=2) is None
    eps = provider.restart("hybrid")
    assert _query(eps["postgres"].dsn) == 1 and _query(eps["pgsecond"].dsn) == 1
    slot = provider.slot("hybrid")
    provider.stop("hybrid")
    assert not any(d.exists() for d in slot.dirs.values())


def test_a_failed_start_leaves_nothing_behind(provider):
    """initdb failing (here: a broken server install) → EngineUnavailable with the reason; no trial dir,
    no socket dir, no cgroup left."""
    import tempfile
    from pathlib import Path
    from types import SimpleNamespace

    fake = provider.root.parent / "fake-bin"  # reachable by the engine's OS user (pytest's tmp_path is not)
    fake.mkdir(mode=0o755)
    for tool in ("initdb", "pg_ctl"):
        (fake / tool).write_text("#!/bin/sh\necho 'broken install' >&2\nexit 1\n")
        (fake / tool).chmod(0o755)
    broken = LocalProvider(provider.root.parent, "broken", SimpleNamespace(pg_port=None, pg_bin=str(fake)))
    before = set(Path(tempfile.gettempdir()).glob("btb-pg-*"))
    with pytest.raises(EngineUnavailable, match="initdb failed.*broken install"):
        broken.start("doomed", ("postgres",), 64 * MiB)
    assert broken.trials() == []
    assert set(Path(tempfile.gettempdir()).glob("btb-pg-*")) <= before
    slot_name = broken._slot_name("doomed")
    for b in capabilities()["v1_controllers"]:
        assert not list(Path("/sys/fs/cgroup", b).rglob(slot_name)), b


def test_a_new_engines_dir_made_under_btbs_private_umask_lets_the_engines_in():
    """A fresh machine: the default engines dir (/var/lib/btb/engines) does not exist yet and btb runs under
    umask 077. The dirs it makes on the way are passable (0711) for the engines' OS users, whose own work dirs
    stay 0700: PostgreSQL (initdb as `postgres`) and Oxigraph (as `nobody`) start and serve."""
    import shutil
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="btb-test-fresh-"))
    base.chmod(0o755)  # as /var/lib is
    old = os.umask(0o077)
    p = LocalProvider(base / "btb" / "engines", "fresh")
    try:
        started = p.start("fresh-1", ("postgres", "oxigraph"), None)
        assert set(started.endpoints) == {"postgres", "oxigraph"}
        for d in (base / "btb", base / "btb" / "engines"):
            assert d.stat().st_mode & 0o777 == 0o711, (d, oct(d.stat().st_mode))
        if os.geteuid() == 0:  # the engines ran as other users: their work dirs are theirs alone
            work = p._dir("fresh-1") / "oxigraph"
            assert work.stat().st_uid != 0 and work.stat().st_mode & 0o077 == 0, oct(work.stat().st_mode)
    finally:
        os.umask(old)
        for t in p.trials():
            p.stop(t)
        shutil.rmtree(base, ignore_errors=True)


def _sparql(url: str, path: str, body: str, kind: str, timeout: float) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{url}/{path}", data=body.encode(), headers={"Content-Type": kind})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def test_a_resumed_oxigraph_stops_a_query_its_client_gave_up_on_soon_after_the_protocols_timeout(provider):
    """Oxigraph keeps evaluating a query whose client went away; served under a trial, its own timeout follows
    the protocol's (1 s → 3 s), so an abandoned query is cancelled within tens of seconds (its cancellation is
    checked on store reads: 17 s here at load ~1.5), not after the 600 s backstop. Oxigraph has answered 200 by
    then (results stream) and ends the body with its cancellation message."""
    provider.start("oxq", ("oxigraph",), None)
    url = provider.current("oxq")["oxigraph"].dsn
    triples = " ".join(f"<urn:s{i}> <urn:p> {i} ." for i in range(400))
    assert _sparql(url, "update", f"INSERT DATA {{ {triples} }}", "application/sparql-update", 30)[0] in (200, 204)
    provider.park("oxq")
    ep = provider.resume("oxq", None, "scaled", query_timeout_s=1).endpoints["oxigraph"]
    assert ep.extra["settings"]["timeout_s"] == 3
    assert provider.current("oxq")["oxigraph"].extra["settings"]["timeout_s"] == 3  # another process's view too
    endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"  # 400^4 rows
    t0 = time.monotonic()
    status, body = _sparql(ep.dsn, "query", endless, "application/sparql-query", 60)
    took = time.monotonic() - t0
    assert "cancelled" in body[-200:] and took < 120, (status, body[-200:], took)
    # served with no protocol timeout (a load, a validate): the backstop
    provider.park("oxq")
    assert provider.resume("oxq", None, "scaled").endpoints["oxigraph"].extra["settings"]["timeout_s"] == 600
