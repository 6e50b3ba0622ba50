"""The Docker provider keeps the local provider's integrity promises (issue 31).

- Engines reachable only by btb: the containers run on the host network, so without a guard any local user
  reaches their loopback ports (Oxigraph answers `DROP ALL` to anyone). While a trial of each scenario runs in
  Docker with its store loaded, another local user (`btbother`) gets every TCP connection and HTTP request
  refused, and reads neither the trial's state dir (passwords) nor the engines' volumes; btb reaches the same
  engines just before and after. The control: the same probe with the guard lifted gets in.
- A FalkorDB container restarted from its snapshot answers as the validated load did (its range indexes are
  rebuilt once it accepts clients, as the local engine's are): every query of F1 after park → resume.
"""

from __future__ import annotations

import json
import uuid

import pytest
from test_falkordb_reload import answers_after_a_reload
from test_isolation_scenarios import PROBE, PYTHON, _btb_reaches, _tcp, check_isolated_trial
from test_private_state import as_other, other_user  # noqa: F401 - the fixture

from btb.infra import portguard

pytestmark = pytest.mark.integration
SCENARIOS = ("P1", "P2", "F1", "F2", "O1", "O2")  # D1/D2 run under the local provider only


def _targets(eps) -> list[tuple[str, str]]:
    out = []
    for kind, ep in eps.items():
        tcp = _tcp(ep.dsn)
        assert tcp is not None, ep.dsn
        out.append(("tcp", tcp))
        if kind == "oxigraph":
            out += [("select", ep.dsn), ("update", ep.dsn)]
    return out


def _files(dprov, tid: str) -> list[str]:
    """The trial's state dir (engine passwords) and its volumes' directories on the Docker host."""
    d = dprov._dir(tid)
    paths = [d, *sorted(d.rglob("*"))]
    for eng in dprov._load(tid)["engines"].values():
        mp = dprov.client.volumes.get(eng["volume"]).attrs.get("Mountpoint")
        assert mp, eng
        paths.append(mp)
    return [str(p) for p in paths]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_another_user_gets_nothing_from_a_running_docker_trial(dprov, other_user, tiny_dataset, scenario):  # noqa: F811
    if portguard.enforced():
        pytest.skip(portguard.enforced())
    check_isolated_trial(dprov, scenario, tiny_dataset, other_user, _targets, lambda tid: _files(dprov, tid))


def test_without_the_guard_another_user_reaches_a_docker_engine(dprov, other_user):  # noqa: F811
    """The control: the refusal above is the guard's doing, not the container's (host network: a container's
    loopback port is the host's)."""

    if portguard.enforced():
        pytest.skip(portguard.enforced())
    tid = f"dopen-{uuid.uuid4().hex[:6]}"
    started = dprov.start(tid, ("oxigraph",), None)
    try:
        targets = _targets(started.endpoints)
        port = int(targets[0][1].rsplit(":", 1)[1])
        portguard.release(port)
        _btb_reaches(targets)
        r = as_other(other_user, PYTHON, "-c", PROBE, json.dumps([t for t in targets if t[0] != "update"]))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == ["connected", "answered 200"], r.stdout
    finally:
        dprov.stop(tid)


def test_f1_in_docker_answers_every_query_as_validated_after_a_restart_from_its_snapshot(dprov, tiny_dataset):
    wrong = answers_after_a_reload(dprov, tiny_dataset)
    assert not wrong, wrong


def test_engine_images_let_any_user_reach_their_programs(docker_images, dprov):
    """Images are built from a context btb staged under its private umask (077): modes are set for the image,
    or `COPY root/ /` turns the image's /usr into 0700 and an engine running as its own user cannot start."""
    paths = {"postgres": "/usr/lib/postgresql", "falkordb": "/var/lib/falkordb/bin/falkordb.so",
             "oxigraph": "/usr/local/bin/oxigraph"}
    for kind, path in paths.items():
        out = dprov.client.containers.run(dprov.image(kind).ref, entrypoint=["/bin/sh", "-c", f"test -r {path} && echo ok"],
                                          user="65534", remove=True, network_mode="host")
        assert out.decode().strip() == "ok", (kind, out)
