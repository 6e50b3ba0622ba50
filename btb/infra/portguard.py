"""Engines reachable only by btb: other local users' connections to a trial engine's loopback port are
refused by the kernel (an iptables OUTPUT rule with an owner match: a TCP connection to that port from any
uid but btb's gets a reset).

Why: Oxigraph has no authentication at all (anyone who reaches its port can `DROP ALL`), and PostgreSQL
and FalkorDB, though they authenticate, still let any local user try. Every locally generated packet to
127.0.0.1 passes the OUTPUT chain with its socket's owner, so the rule keeps out every local user but btb
(and root's processes when btb is not root cannot add it: then nothing is enforced, and `enforced()` says
why). The engines' own replies leave *from* the port, so they are not matched.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from btb.infra.ports import free_port


def enforced() -> str:
    """'' when ports can be guarded here, else why not."""
    if os.geteuid() != 0:
        return "not root: other local users can reach the engines' loopback ports"
    if not shutil.which("iptables"):
        return "no iptables: other local users can reach the engines' loopback ports"
    return ""


def _rule(port: int) -> list[str]:
    return ["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(int(port)), "-m", "owner", "!", "--uid-owner",
            str(os.geteuid()), "-m", "comment", "--comment", f"btb-guard:{int(port)}", "-j", "REJECT",
            "--reject-with", "tcp-reset"]


def _iptables(op: str, port: int) -> bool:
    return subprocess.run(["iptables", "-w", op, *_rule(port)], capture_output=True).returncode == 0


def guard(port: int) -> bool:
    """Refuse other users' connections to `port` (once, however often called); False when not enforced."""
    if enforced():
        return False
    if _iptables("-C", port):
        return True
    if not _iptables("-I", port):
        raise RuntimeError(f"iptables refused the guard of port {port} (is the xt_owner match available?)")
    return True


def release(port: int | None) -> None:
    if not port or enforced():
        return
    while _iptables("-D", port):
        pass


def guarded_port(start: int, used: set[int]) -> int:
    """A free port from `start` on that none of `used` (the trial's other engines) holds, guarded before the
    engine listens on it (a host-network container's port is the host's, so both providers need it)."""
    port = free_port(start)
    while port in used:
        port = free_port(port + 1)
    guard(port)
    return port


def reachable() -> str:
    """Who can reach an engine's port, for its Endpoint (Oxigraph, which has no authentication)."""
    return enforced() or "btb only: other local users refused by the port guard"

