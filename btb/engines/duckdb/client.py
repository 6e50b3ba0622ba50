"""A client of the DuckDB engine host (`btb/infra/engines/duckdb/host.py`): one socket connection, one request at a time.

The endpoint's dsn is `unix:<socket path>`; its key file (`extra["authkey_file"]`) is read here, never
passed inline. Errors come back as `HostError` with the host's kind ("oom", "timeout", "interrupted",
"error"); a host that died mid-request raises `HostGone`. After each reply, `engine_s` holds the seconds DuckDB's
own calls took inside the host for it (None for requests DuckDB never saw): a round trip minus it is the harness.
"""

from __future__ import annotations

import socket
from multiprocessing.connection import Client
from pathlib import Path
from typing import Any

from btb.engines.duckdb import wire

DSN_PREFIX = "unix:"


class HostError(RuntimeError):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class HostGone(ConnectionError):
    """The host closed the connection or died (an OOM kill, a restart)."""


def socket_of(dsn: str) -> str:
    if not dsn.startswith(DSN_PREFIX):
        raise ValueError(f"not a DuckDB host address: {dsn!r} (expected unix:<socket path>)")
    return dsn[len(DSN_PREFIX):]


class HostClient:
    def __init__(self, dsn: str, authkey_file: str | Path):
        self.socket = socket_of(dsn)
        self.engine_s: float | None = None
        try:
            self._sock: socket.socket | None = wire.take_socket(
                Client(self.socket, family="AF_UNIX", authkey=Path(authkey_file).read_bytes()))
        except (OSError, EOFError) as e:
            raise HostGone(f"DuckDB host not reachable at {self.socket}: {e}") from e
        self._rx = wire.Receiver(self._sock)

    def request(self, msg: tuple) -> Any:
        """One round trip: send, receive, raise the host's error."""
        sock = self._sock
        if sock is None:
            raise HostGone("DuckDB host connection closed")
        try:
            wire.send(sock, wire.dumps(msg))
            reply = self._rx.recv()
        except (OSError, EOFError) as e:
            self.close()
            raise HostGone(f"DuckDB host went away: {type(e).__name__}: {e}") from e
        if reply[0] == "ok":
            self.engine_s = reply[2]
            return reply[1]
        self.engine_s = None
        raise HostError(reply[1], reply[2])

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        return self.request(("q", sql, params))

    def execute(self, sql: str, params: Any = None) -> None:
        self.request(("x", sql, params))

    def configure(self, **cfg: Any) -> None:
        self.request(("cfg", cfg))

    def ping(self) -> dict[str, Any]:
        return self.request(("ping",))

    def close(self) -> None:
        s, self._sock = self._sock, None
        if s is not None:
            s.close()


def interrupt(dsn: str, authkey_file: str | Path) -> int:
    """Interrupt the statements in flight on the host (from another thread: its own connection)."""
    c = HostClient(dsn, authkey_file)
    try:
        return c.request(("interrupt",))
    finally:
        c.close()


def answers(dsn: str, authkey_file: str | Path) -> dict[str, Any] | None:
    """The host's info if it answers a ping now (never raises)."""
    try:
        c = HostClient(dsn, authkey_file)
    except Exception:  # noqa: BLE001
        return None
    try:
        return c.ping()
    except Exception:  # noqa: BLE001
        return None
    finally:
        c.close()
