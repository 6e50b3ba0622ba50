"""Engines reachable only by btb, for every scenario on the local provider: while a trial's engines run with
the scenario's store loaded (tiny-1d), another local user (`btbother`) gets nothing from them — a TCP
connection to each engine port (PostgreSQL, FalkorDB's Redis protocol), Oxigraph's HTTP (a SELECT and
`DROP ALL` by SPARQL update), the unix sockets (PostgreSQL's, the DuckDB host's in its 0700 dir) — and can
read neither the trial's state nor the engines' work dirs (stores, logs, password files). Each refusal is
bracketed by btb reaching the same engine before and after it, so a stopped engine cannot pass for a refused
one, and the store's counts are the same after the intrusions as before."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from btbtest import scratch_provider
from test_private_state import as_other, other_user  # noqa: F401 - the fixture

from btb.engines.base import RunOptions
from btb.engines.registry import engines_of, scenario_class
from btb.infra import portguard
from btb.infra.local import LocalProvider

pytestmark = pytest.mark.integration
PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"  # one the other user may run
SCENARIOS = ("P1", "P2", "F1", "F2", "O1", "O2", "D1", "D2")
PROBE = """
import json, socket, sys, urllib.parse, urllib.request
out = []
for kind, where in json.loads(sys.argv[1]):
    try:
        if kind == "tcp":
            host, port = where.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"PING\\r\\n")
            s.close()
            out.append("connected")
        elif kind == "unix":
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(where)
            s.close()
            out.append("connected")
        elif kind == "update":  # what an intruder would send to Oxigraph
            req = urllib.request.Request(where + "/update", data=b"DROP ALL", method="POST",
                                         headers={"Content-Type": "application/sparql-update"})
            out.append(f"answered {urllib.request.urlopen(req, timeout=5).status}")
        elif kind == "select":
            q = urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
            out.append(f"answered {urllib.request.urlopen(where + '/query?query=' + q, timeout=5).status}")
        else:  # a file or dir to read
            import os
            out.append(f"read {len(os.listdir(where)) if os.path.isdir(where) else len(open(where, 'rb').read(64))}")
    except Exception as e:
        out.append(f"refused {type(e).__name__} {e}")
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def provider():
    yield from scratch_provider(lambda root: LocalProvider(root, "isoscen"), "btb-test-isoscen-")


def _tcp(dsn: str) -> str | None:
    m = re.search(r"host=([\d.]+) port=(\d+)", dsn) or re.search(r"//([\d.]+):(\d+)", dsn)
    return f"{m.group(1)}:{m.group(2)}" if m else None


def _targets(eps) -> list[tuple[str, str]]:
    """Everything of a running trial's engines another user might try to reach."""
    out = []
    for kind, ep in eps.items():
        if (tcp := _tcp(ep.dsn)) is not None:
            out.append(("tcp", tcp))
        if kind == "oxigraph":
            out += [("select", ep.dsn), ("update", ep.dsn)]
        if kind == "postgres":
            port = tcp.rsplit(":", 1)[1]
            out.append(("unix", str(Path(ep.extra["socket_dir"]) / f".s.PGSQL.{port}")))
        if kind == "duckdb":
            assert ep.dsn.startswith("unix:"), ep.dsn
            out.append(("unix", ep.dsn[len("unix:"):]))
    return out


def _files(trial_dir: Path) -> list[str]:
    """The trial's state and every file of its engines' work dirs (stores, logs, secrets), read by path."""
    paths = [trial_dir, trial_dir / "state.json"]
    for work in (w for w in trial_dir.iterdir() if w.is_dir()):
        paths += [work, *sorted(work.rglob("*"))[:200]]
    return [str(p) for p in paths]


def _btb_reaches(targets) -> None:
    for kind, where in targets:
        if kind == "tcp":
            host, port = where.rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=5).close()
        elif kind == "unix":
            s = socket.socket(socket.AF_UNIX)
            s.connect(where)
            s.close()


def intrude(other_user: str, targets: list[tuple[str, str]], files: list[str]) -> None:
    """Another user tries every target and reads every file: each refused, while btb reaches the same
    engines just before and just after (so a stopped engine cannot pass for a refused one)."""
    _btb_reaches(targets)
    probes = targets + [("file", f) for f in files]
    r = as_other(other_user, PYTHON, "-c", PROBE, json.dumps(probes))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    _btb_reaches(targets)  # the engines still serve btb: what the other user got was a refusal
    let_in = [(t, g) for t, g in zip(probes, got) if not g.startswith("refused")]
    assert let_in == [], let_in
    net = got[:len(targets)]
    assert all("ConnectionRefused" in g or "Connection refused" in g or "PermissionError" in g for g in net), net
    assert all("PermissionError" in g for g in got[len(targets):]), got[len(targets):]


def guard_rules_left(targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The TCP targets whose port still has a guard rule (after the trial stopped: should be none)."""
    rules = subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True, text=True).stdout
    return [t for t in targets if t[0] == "tcp" and f"btb-guard:{t[1].rsplit(':', 1)[1]}" in rules]


def check_isolated_trial(provider, scenario: str, dataset, other_user: str, targets_of, files_of) -> None:
    """A trial of `scenario` loaded with `dataset`: another user gets none of `targets_of(endpoints)` nor reads
    `files_of(trial id)`; the store's counts are unchanged after; the guard leaves with the engines."""
    tid = f"iso-{scenario}-{uuid.uuid4().hex[:6]}"
    started = provider.start(tid, engines_of(scenario), None)
    s = scenario_class(scenario)(started.endpoints, RunOptions(timeout_s=60))
    try:
        s.ingest(dataset)
        before = s.counts()
        assert before and any(before.values()), before
        targets = targets_of(started.endpoints)
        intrude(other_user, targets, files_of(tid))
        assert s.counts() == before  # DROP ALL and the rest changed nothing
    finally:
        s.close()
        provider.stop(tid)
    assert guard_rules_left(targets) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_another_user_gets_nothing_from_a_running_trial(provider, other_user, tiny_dataset, scenario):  # noqa: F811
    if portguard.enforced():
        pytest.skip(portguard.enforced())
    check_isolated_trial(provider, scenario, tiny_dataset, other_user, _targets, lambda tid: _files(provider._dir(tid)))
