"""The Bolt path (neo4j driver): Memgraph for M1/M2, and any Bolt endpoint given by URI.

Same interface as `FalkorSession` (query / write / create_index / delete_graph / cancel / close), so the
Cypher scenarios run unchanged over it. Parameters travel natively (numpy arrays become lists).

The dialect is the endpoint's kind: "memgraph" (index DDL `CREATE INDEX ON :L(p)`, `STORAGE MODE`,
`SHOW STORAGE INFO`) or "falkordb" (FalkorDB's experimental Bolt listener, module argument `BOLT_PORT`:
the database is the graph name).

Tried against FalkorDB 4.16.3's Bolt listener (neo4j 6.4.1, `BOLT_PORT` module argument): the first
connection runs parameterised reads and small writes (lists, maps, `UNWIND $rows ... SET n = r` of one
row), index DDL and `RETURN`; a wrong password is refused (as a generic
`Neo.DatabaseError.General.UnknownError`). But a 5,000-row `UNWIND` parameter (the loader's batch)
crashes the server (SIGSEGV in redis-server, reproducible), a second driver after closing the first hangs
in the handshake, and the listener binds every interface (`*:port`) whatever `bind` says. So btb talks to
FalkorDB with its native client and keeps this path for Memgraph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from btb.engines.base import Endpoint, QueryTimeout


def _native(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {k: _native(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_native(x) for x in v]
    return v


def bolt_auth(endpoint: Endpoint) -> tuple[str, str] | None:
    """(user, password) from the endpoint: password by reference (`passfile`), never inline."""
    user = endpoint.extra.get("user")
    passfile = endpoint.extra.get("passfile")
    if not user:
        return None
    return user, Path(passfile).read_text().strip() if passfile else ""


class BoltSession:
    def __init__(self, endpoint: Endpoint, graph: str = "btb", connect_timeout_s: float = 10.0):
        from neo4j import GraphDatabase

        self.dialect = endpoint.kind
        self.database = graph if self.dialect == "falkordb" else endpoint.extra.get("database")
        self.driver = GraphDatabase.driver(endpoint.dsn, auth=bolt_auth(endpoint),
                                           connection_timeout=connect_timeout_s)
        self._session = None

    def _s(self):
        if self._session is None:
            self._session = self.driver.session(database=self.database)
        return self._session

    def query(self, text: str, params: Mapping[str, Any] | None = None, timeout_ms: int | None = None,
              read_only: bool = True) -> list[list]:
        from neo4j import Query
        from neo4j.exceptions import ClientError, TransientError

        q = Query(text, timeout=timeout_ms / 1000 if timeout_ms else None)
        try:
            return [list(r.values()) for r in self._s().run(q, _native(dict(params or {})))]
        except (ClientError, TransientError) as e:
            if "timeout" in str(e).lower() or "timed out" in str(e).lower():
                raise QueryTimeout(f"Bolt query timeout {timeout_ms} ms exceeded ({e})") from e
            raise

    def write(self, text: str, params: Mapping[str, Any] | None = None) -> list:
        return self.query(text, params, read_only=False)

    def create_index(self, label: str, prop: str) -> None:
        if self.dialect == "memgraph":
            self.write(f"CREATE INDEX ON :{label}({prop})")
        else:
            self.write(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")

    def delete_graph(self) -> None:
        self.write("MATCH (n) DETACH DELETE n")

    def cancel(self) -> None:
        try:
            self.driver.close()
        except Exception:  # noqa: BLE001 - a failed cancel must not raise in the watchdog
            pass

    def close(self) -> None:
        try:
            if self._session is not None:
                self._session.close()
        finally:
            self.driver.close()
