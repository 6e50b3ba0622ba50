"""Separate hosts on one machine (btb.infra.netns): own network stack and host name, reachable over the
veth pair, and removed with whatever runs inside even when the block fails or a run crashed before."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from btb.infra import netns

pytestmark = pytest.mark.skipif(bool(netns.available()), reason=netns.available() or "")

PROBE = "import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5); print(s.recv(9).decode())"


def test_a_separate_host_reaches_this_one_over_its_veth_only(tmp_path):
    with netns.separate_host("btbtestns", 250) as host:
        with socket.create_server((host.peer, 0)) as srv:  # a service of this machine, on the veth address
            port = srv.getsockname()[1]
            p = subprocess.Popen(host.argv([sys.executable, "-c", PROBE, host.peer, str(port)]),
                                 stdout=subprocess.PIPE, text=True)
            conn, (addr, _) = srv.accept()
            conn.sendall(b"hello")
            conn.close()
            assert p.communicate(timeout=30)[0].strip() == "hello" and addr == host.address
        name = subprocess.run(host.argv(["hostname"]), capture_output=True, text=True).stdout.strip()
        assert name == "btbtestns" and name != socket.gethostname()
        # its own loopback: this machine's loopback services are not there
        with socket.create_server(("127.0.0.1", 0)) as srv:
            r = subprocess.run(host.argv([sys.executable, "-c", PROBE, "127.0.0.1", str(srv.getsockname()[1])]),
                               capture_output=True, text=True)
            assert r.returncode != 0 and "ConnectionRefusedError" in r.stderr
        sleeper = subprocess.Popen(host.argv(["sleep", "600"]))
    assert sleeper.wait(timeout=10) == -9  # killed with the namespace
    assert not (netns.NETNS_DIR / "btbtestns").exists()


def test_the_host_is_removed_when_the_block_fails_and_a_stale_one_is_replaced():
    with pytest.raises(RuntimeError, match="boom"):
        with netns.separate_host("btbtestns", 250):
            raise RuntimeError("boom")
    assert not (netns.NETNS_DIR / "btbtestns").exists()
    stale = netns.create("btbtestns", 250)  # as a crashed run leaves it
    with netns.separate_host("btbtestns", 250) as host:
        assert host == stale
    assert not (netns.NETNS_DIR / "btbtestns").exists()
    assert subprocess.run(["ip", "link", "show", "btbh250"], capture_output=True).returncode != 0


def test_a_bad_index_is_refused_in_one_line():
    with pytest.raises(netns.NetnsError, match=r"host index 0: must be 1\.\.254"):
        netns.create("btbtestns", 0)
