"""Engines reachable only by btb: while a trial's engines run, another local user's connection to each of
them (PostgreSQL, FalkorDB, Oxigraph — the one without any authentication) is refused by the kernel,
btb's own goes through, and the guard goes with the engines."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from btb.infra import portguard
from btb.infra.engines.oxigraph import sparql_ready
from test_private_state import as_other, other_user  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration
PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"  # one the other user may run
PROBE = """
import socket, sys, urllib.request
host, port, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    if url:  # what an intruder would send to Oxigraph
        req = urllib.request.Request(url + "/update", data=b"DROP ALL", method="POST",
                                     headers={"Content-Type": "application/sparql-update"})
        print("answered", urllib.request.urlopen(req, timeout=5).status)
    else:
        socket.create_connection((host, port), timeout=5).close()
        print("connected")
except Exception as e:
    print("refused", type(e).__name__, e)
"""


def _port(dsn: str) -> int:
    m = re.search(r"port=(\d+)", dsn) or re.search(r":(\d+)(?:/|$)", dsn)
    assert m, dsn
    return int(m.group(1))


def test_other_users_cannot_reach_a_trials_engines(provider, other_user):  # noqa: F811
    if portguard.enforced():
        pytest.skip(portguard.enforced())
    started = provider.start("iso", ("postgres", "falkordb", "oxigraph"), None)
    eps = started.endpoints
    ports = {k: _port(e.dsn) for k, e in eps.items()}
    for kind, port in ports.items():
        url = eps[kind].dsn if kind == "oxigraph" else ""
        r = as_other(other_user, PYTHON, "-c", PROBE, "127.0.0.1", str(port), url)
        out = r.stdout
        refused = out.startswith("refused") and ("ConnectionRefused" in out or "Connection refused" in out)
        assert refused, (kind, out, r.stderr)
    assert sparql_ready(eps["oxigraph"].dsn)  # btb itself is served
    assert eps["oxigraph"].extra["reachable"].startswith("btb only")
    import socket

    for port in ports.values():
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    provider.stop("iso")
    for port in ports.values():  # the guard leaves with the engines
        rule = subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True, text=True).stdout
        assert f"btb-guard:{port}" not in rule


def test_doctor_says_whether_the_engines_are_closed_to_other_users(monkeypatch):
    from btb.doctor import check_port_guard

    if portguard.enforced():
        pytest.skip(portguard.enforced())
    assert check_port_guard().status == "ok"
    monkeypatch.setenv("PATH", "/nonexistent")  # no iptables to be found: nothing can be enforced, and it says so
    c = check_port_guard()
    assert c.status == "degraded" and "no iptables" in c.detail and "rewrite" in c.impact, c
