"""A separate host on one machine: a network namespace joined to this one by a veth pair, for the tests
and benchmarks that need a second node to be a different host (its own loopback, addresses and ports,
its own host name), while sharing the kernel's cgroups and the file system like a server's disk.

Processes enter it with `nsenter --net` rather than `ip netns exec`: the latter remounts /sys, which
hides the cgroup hierarchy the node's engines are limited and measured in. Needs root (CAP_NET_ADMIN).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

NETNS_DIR = Path("/run/netns")
SUBNET = "10.231"  # 10.231.<index>.0/30 per host: .1 this side, .2 inside


class NetnsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Host:
    name: str  # namespace name, also the host name inside it
    address: str  # the host's own address (its end of the veth pair)
    peer: str  # this side's address, where the host reaches services of the machine (a broker)

    def argv(self, cmd: list[str]) -> list[str]:
        """`cmd` run inside the host: its network namespace and its own UTS namespace (host name)."""
        return ["nsenter", f"--net={NETNS_DIR / self.name}", "--", "unshare", "--uts", "--", "sh", "-c",
                'hostname "$0" && exec "$@"', self.name, *cmd]

    def pids(self) -> list[int]:
        r = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        return [int(x) for x in r.stdout.split()]


def available() -> str:
    """'' when separate hosts can be made here, else why not (one line)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nsenter", "unshare"):
        if not shutil.which(tool):
            return f"{tool} not found (Debian: apt-get install iproute2 util-linux)"
    return ""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode:
        raise NetnsError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def create(name: str, index: int) -> Host:
    """Namespace `name` with a veth pair to this one: 10.231.<index>.2 inside, .1 here (1 ≤ index ≤ 254).
    A namespace of the same name left by a crashed run is removed first."""
    why = available()
    if why:
        raise NetnsError(why)
    if not 1 <= index <= 254:
        raise NetnsError(f"host index {index}: must be 1..254")
    delete(name, index)
    here, there = f"btbh{index}", f"btbn{index}"
    host = Host(name, f"{SUBNET}.{index}.2", f"{SUBNET}.{index}.1")
    try:
        _ip("netns", "add", name)
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", name)
        _ip("addr", "add", f"{host.peer}/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", name, "addr", "add", f"{host.address}/30", "dev", there)
        _ip("-n", name, "link", "set", there, "up")
        _ip("-n", name, "link", "set", "lo", "up")
    except NetnsError:
        delete(name, index)
        raise
    return host


def delete(name: str, index: int) -> None:
    """Kill what still runs in the namespace (processes the caller started there), remove it and its veth."""
    if (NETNS_DIR / name).exists():
        for pid in Host(name, "", "").pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _ip("netns", "del", name, check=False)
    _ip("link", "del", f"btbh{index}", check=False)  # gone with the namespace, unless it was half made


@contextmanager
def separate_host(name: str, index: int) -> Iterator[Host]:
    """A host for the duration of the block, removed even when the block fails."""
    host = create(name, index)
    try:
        yield host
    finally:
        delete(name, index)
