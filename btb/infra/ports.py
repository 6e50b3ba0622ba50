"""The one free-port helper (engines, Redis, Flower, tests and benchmarks all use it)."""

from __future__ import annotations

import socket


def free_port(start: int | None = None, host: str = "127.0.0.1", span: int = 200) -> int:
    """A TCP port nobody listens on right now.

    With `start`: the first free one in start..start+span-1 (stable, readable port ranges per node).
    Without: one the kernel picks from its ephemeral range. Either way another process may take it
    before it is used: callers that start a server retry on "address in use".
    """
    if start is None:
        with socket.socket() as s:
            s.bind((host, 0))
            return s.getsockname()[1]
    for port in range(start, start + span):
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise RuntimeError(f"no free TCP port in {start}..{start + span - 1}")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nobody listens on `port` now (a failed start asks this: a port taken meanwhile is retried)."""
    try:
        return free_port(port, host, span=1) == port
    except RuntimeError:
        return False
