"""A thin FalkorDB session: GRAPH.QUERY with parameters, a per-query server TIMEOUT, a cancel that closes
the socket, and a fast parameter encoder for bulk UNWIND batches.

FalkorDB takes parameters as a text header (`CYPHER name=value ... <query>`), not as a binary payload, so
the loader's cost is largely building that text; `cypher_literal` does it without the per-element
Python dispatch of the stock client (numpy arrays go through `tolist()` and `repr`, which round-trips
float64 exactly).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import redis

from btb.engines.base import Endpoint, QueryOutOfMemory, QueryTimeout

# a lost connection (server gone, or closed by cancel()): the session is dropped and the next query reconnects
CONNECTION_ERRORS = (ConnectionError, OSError, redis.exceptions.ConnectionError)

GRAPH = "btb"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _float(x: float) -> str:
    if math.isfinite(x):
        return repr(x)
    raise ValueError(f"non-finite float {x!r} cannot be a FalkorDB parameter")


def cypher_literal(v: Any) -> str:
    """A Cypher literal for a parameter value (str, int, float, bool, None, list/tuple, dict, numpy array)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return _float(float(v))
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "iu":
            return "[" + ",".join(map(str, v.tolist())) + "]"
        if v.dtype.kind == "f":
            return "[" + ",".join(map(_float, v.tolist())) + "]"
        return "[" + ",".join(map(cypher_literal, v.tolist())) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(map(cypher_literal, v)) + "]"
    if isinstance(v, Mapping):
        return "{" + ",".join(f"`{k}`:{cypher_literal(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot pass {type(v).__name__} as a FalkorDB parameter")


def with_params(query: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return query
    return "CYPHER " + " ".join(f"{k}={cypher_literal(v)}" for k, v in params.items()) + " " + query


def _raise_typed(e: Exception, timeout_ms: int | None) -> None:
    """FalkorDB's timeout and per-query memory-limit errors as the statuses they are (timeout, oom)."""
    msg = str(e).lower()
    if "timed out" in msg:
        raise QueryTimeout(f"FalkorDB TIMEOUT {timeout_ms} ms exceeded ({e})") from e
    if "mem consumption exceeded capacity" in msg:
        raise QueryOutOfMemory(f"FalkorDB QUERY_MEM_CAPACITY exceeded ({e})") from e


def read_password(endpoint: Endpoint) -> str:
    """A FalkorDB endpoint's password, from the passfile its provider wrote (never on an argv or in a record)."""
    return Path(endpoint.extra["passfile"]).read_text().strip()


class FalkorSession:
    """One connection to one graph. `query` returns the result rows (lists) as the falkordb client parses
    them; `write` sends a statement whose result is not needed (loader)."""

    dialect = "falkordb"

    def __init__(self, endpoint: Endpoint, graph: str = GRAPH, connect_timeout_s: float = 10.0):
        from falkordb import FalkorDB

        host, _, port = endpoint.dsn.removeprefix("redis://").rstrip("/").rpartition(":")
        self.db = FalkorDB(host=host, port=int(port), password=read_password(endpoint),
                           socket_connect_timeout=connect_timeout_s)
        self.name = graph
        self.graph = self.db.select_graph(graph)

    @property
    def redis(self):
        return self.db.connection

    def query(self, text: str, params: Mapping[str, Any] | None = None, timeout_ms: int | None = None,
              read_only: bool = True) -> list[list]:
        from redis.exceptions import ResponseError

        try:
            if read_only:
                res = self.graph.ro_query(text, params or None, timeout=timeout_ms)
            else:
                res = self.graph.query(text, params or None, timeout=timeout_ms)
        except ResponseError as e:
            _raise_typed(e, timeout_ms)
            raise
        return res.result_set

    def query_compact(self, text: str, params: Mapping[str, Any] | None = None,
                      timeout_ms: int | None = None) -> list[list]:
        """GRAPH.RO_QUERY --compact, rows left as the RESP parser gives them: `[type, value]` per column.
        For bulk replies (F1's chunk payloads as JSON text) this skips the client's per-value Python parse."""
        from redis.exceptions import ResponseError

        args = ["GRAPH.RO_QUERY", self.name, with_params(text, params), "--compact"]
        if timeout_ms:
            args += ["timeout", int(timeout_ms)]
        try:
            reply = self.redis.execute_command(*args)
        except ResponseError as e:
            _raise_typed(e, timeout_ms)
            raise
        return reply[1] if len(reply) == 3 else []

    def write(self, text: str, params: Mapping[str, Any] | None = None) -> list:
        """GRAPH.QUERY with our own parameter text (fast for big UNWIND batches); raw reply, compact."""
        return self.redis.execute_command("GRAPH.QUERY", self.name, with_params(text, params), "--compact")

    def create_index(self, label: str, prop: str) -> None:
        self.write(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")

    def delete_graph(self) -> None:
        from redis.exceptions import ResponseError

        try:
            self.redis.execute_command("GRAPH.DELETE", self.name)
        except ResponseError:
            pass  # no such graph yet

    def cancel(self) -> None:
        """Close every socket of the pool: the query in flight fails on the client at once (the server
        stops it at its own TIMEOUT)."""
        try:
            self.redis.connection_pool.disconnect(inuse_connections=True)
        except Exception:  # noqa: BLE001 - a failed cancel must not raise in the watchdog
            pass

    def close(self) -> None:
        try:
            self.redis.close()
        except Exception:  # noqa: BLE001
            pass


def batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
