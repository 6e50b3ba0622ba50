"""PostgreSQL as a local engine (LocalPostgres): initdb into the trial's private work dir, loopback TCP on its own port,
started inside the trial's cgroup slot, as the OS user `postgres` when btb runs as root.

Security: only authenticated clients get in. The cluster is made with `--auth=scram-sha-256` and a
generated superuser password that lives in a 0600 passfile in the work dir (0700, engine user): clients
get `passfile=` in their DSN, so the password itself is never on an argv, in a DSN, a log or a result.
The unix socket lives in a private short directory (mode 0700, `/tmp/btb-pg-XXXXXXXX`) whose path never
depends on user-chosen names (the 107-byte socket path limit). The server runs with a scrubbed env.

Benchmark scratch clusters use non-durable settings (fsync off, ...): they are recorded with every
endpoint so nobody compares them with a durable production setup unknowingly.

Memory settings are sized to the trial's budget at every launch (`settings.settings_for_budget`: shared_buffers
~25 %, effective_cache_size ~75 %, work_mem/maintenance_work_mem scaled; unlimited or `tuning="fixed"`:
the fixed settings), written to `btb-runtime.conf` (rewritten at each launch, so a restart from kept data
under another budget is configured for that budget) and recorded in the Endpoint as the server reports them.

TimescaleDB (`timescale`): when the extension is installed for this PostgreSQL (`scripts/build_timescaledb.sh`) and the
engine's `timescale` option (or $BTB_PG_TIMESCALE) is `auto` (default) or `on`, the server starts with
`shared_preload_libraries = 'timescaledb'` (telemetry off) and P1/P2 put their series in a hypertable;
`off` starts it without (native partitions on the same machine). An installed extension the server cannot
preload (e.g. built for another minor version) makes `auto` fall back to native partitions, saying why.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import (DataDirServer, EngineSpec, as_user, chown_tree, engine_env, engine_user,
                                    write_private)
from btb.infra.engines.postgres.binaries import PostgresNotFound, find_pg_bin
from btb.infra.engines.postgres.client import (AUTH, DBNAME, SUPERUSER, accepts_clients, conninfo, ensure_database,
                                               server_report)
from btb.infra.engines.postgres.settings import SERVER_SETTINGS, settings_for_budget
from btb.infra.engines.postgres.timescale import series_backend_plan, timescale_mode

LOG_TAIL_LINES = 25
RUN_BASE = Path(tempfile.gettempdir())


class PostgresStartError(RuntimeError):
    """The server did not start; `log_tail` is what its log said during this attempt."""

    def __init__(self, message: str, log_tail: str = ""):
        super().__init__(message)
        self.log_tail = log_tail


class LocalPostgres(DataDirServer):
    kind = "postgres"
    settings_prefix = "pg"
    log_name = "postgres.log"
    tuning_env = "BTB_PG_TUNING"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.passfile = self.work / "pgpass"
        self.user = engine_user("postgres")

    @classmethod
    def is_server(cls, process_name: str) -> bool:
        return process_name in ("postgres", "postmaster")

    # --- capabilities ---------------------------------------------------------------------------------
    @classmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        try:
            b = find_pg_bin(options.get("bin", ""))
        except PostgresNotFound as e:
            return False, str(e)
        try:
            engine_user("postgres")
            series_backend_plan(b, options)  # timescale: on without the extension, or a bad mode
        except (RuntimeError, ValueError) as e:
            return False, str(e)
        return True, str(b)

    @classmethod
    def series_backend(cls, options: dict[str, Any]) -> tuple[str, str]:
        """("timescaledb" | "native", why) for `btb doctor`: what a new engine here will run."""
        preload, why = series_backend_plan(find_pg_bin(options.get("bin", "")), options)
        return ("timescaledb" if preload else "native"), why

    @classmethod
    def default_port(cls, options: dict[str, Any]) -> int:
        return int(options.get("port") or 5440)

    @property
    def bin_dir(self) -> Path:
        return find_pg_bin(self.options.get("bin", ""))

    # --- DSNs -----------------------------------------------------------------------------------------
    def dsn_for(self, dbname: str = DBNAME) -> str:
        """libpq conninfo: password by reference (passfile), never inline."""
        return conninfo(host=self.host, port=self.spec.port, user=SUPERUSER, dbname=dbname,
                         passfile=self.passfile, sslmode="disable", gssencmode="disable")

    @property
    def dsn(self) -> str:
        return self.dsn_for(DBNAME)

    # --- life cycle -----------------------------------------------------------------------------------
    def _run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(as_user(self.user, argv), capture_output=True, text=True, env=engine_env(),
                              timeout=timeout)

    def prepare(self) -> None:
        if not self.spec.run_dir or not Path(self.spec.run_dir).is_dir():
            self.spec.run_dir = tempfile.mkdtemp(prefix="btb-pg-", dir=RUN_BASE)  # 0700, short, unguessable
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o700)
        chown_tree(Path(self.spec.run_dir), self.user)
        if (self.data_dir / "PG_VERSION").exists():
            return
        password = secrets.token_urlsafe(24)  # [A-Za-z0-9_-]: nothing to escape in a passfile
        pwfile = self.work / "initdb.pw"
        for f, text in ((pwfile, password + "\n"), (self.passfile, f"*:*:*:{SUPERUSER}:{password}\n")):
            write_private(f, text)
        chown_tree(self.work, self.user)
        try:
            r = self._run([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), f"--auth={AUTH}", "-U", SUPERUSER,
                           f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C"])
        finally:
            pwfile.unlink(missing_ok=True)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed for {self.data_dir}: {(r.stderr or r.stdout).strip()[-800:]}")
        conf = "\n".join(f"{k} = '{v}'" for k, v in SERVER_SETTINGS.items())
        with open(self.data_dir / "postgresql.conf", "a") as f:
            f.write(f"\n# btb scratch settings\n{conf}\n")
        self._write_network_conf()

    def _include(self, name: str) -> None:
        conf = self.data_dir / "postgresql.conf"
        line = f"include_if_exists = '{name}'"
        if line not in conf.read_text():
            with open(conf, "a") as f:
                f.write(line + "\n")

    def _write_network_conf(self) -> None:
        """Port and socket dir in their own include file: rewritten at every launch (a restart may move
        the socket dir when /tmp was cleaned), never depending on the data dir's path length."""
        net = self.data_dir / "btb-network.conf"
        net.write_text(f"listen_addresses = '{self.host}'\nport = {self.spec.port}\n"
                       f"unix_socket_directories = '{self.spec.run_dir}'\nunix_socket_permissions = 0700\n")
        self._include("btb-network.conf")
        chown_tree(self.data_dir, self.user)

    def _write_runtime_conf(self, memory: dict[str, str], preload: bool) -> None:
        """Memory settings for this launch's budget and the TimescaleDB preload: rewritten at every launch,
        included last (it overrides the memory settings initdb-era data dirs carry in postgresql.conf)."""
        lines = [f"{k} = '{v}'" for k, v in memory.items()]
        if preload:
            lines += ["shared_preload_libraries = 'timescaledb'", "timescaledb.telemetry_level = off"]
        else:
            lines += ["shared_preload_libraries = ''"]
        (self.data_dir / "btb-runtime.conf").write_text("# written by btb at each launch\n" + "\n".join(lines) + "\n")
        self._include("btb-runtime.conf")
        chown_tree(self.data_dir, self.user)

    def log_tail(self, lines: int = LOG_TAIL_LINES, since: int = 0) -> str:
        """The last lines of the engine's log (from byte `since`): what error messages carry."""
        try:
            with open(self.log, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def launch(self, slot: CgroupSlot, budget: int | None | str = "slot", tuning: str | None = None) -> None:
        """Start the server inside `slot` with memory settings sized to `budget` (bytes, None = unlimited;
        by default the limit the slot applies) under `tuning` ("scaled" | "fixed"; default: the engine
        option, $BTB_PG_TUNING, else "scaled"), TimescaleDB preloaded when it is installed (see module doc)."""
        budget, tuning = self.launch_budget(slot, budget, tuning)
        memory = settings_for_budget(budget, tuning)
        self.prepare()
        preload, why = series_backend_plan(self.bin_dir, self.options)
        mode = timescale_mode(self.options)
        try:
            self._start(slot, memory, preload)
        except PostgresStartError as e:
            if not (preload and mode == "auto" and "timescaledb" in e.log_tail.lower()):
                raise
            # installed, but this server cannot load it (e.g. built for another minor version): the
            # native backend still measures; the reason goes with every result of this engine
            why = f"TimescaleDB installed but the server failed to preload it ({str(e)[-300:]}): native partitions"
            preload = False
            self._start(slot, memory, preload)
        self._write_runtime({"budget": budget, "tuning": tuning, "requested": memory,
                             "series_backend": "timescaledb" if preload else "native", "series_backend_why": why})
        self._ensure_db()

    def _start(self, slot: CgroupSlot, memory: dict[str, str], preload: bool) -> None:
        self.kill()  # a crashed predecessor's backends would hold the shared memory; its pid file is stale
        # Stale lock files of a killed postmaster: PostgreSQL trusts them while the old pid exists, and a
        # killed postmaster can linger as a zombie when nobody reaps it. Nothing of ours runs now.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for lock in Path(self.spec.run_dir).glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        self._write_network_conf()
        self._write_runtime_conf(memory, preload)
        self.log.touch()
        chown_tree(self.log, self.user)
        since = self._log_size()
        argv = as_user(self.user, [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
                                   "-w", "-t", "60", "start"])
        r = subprocess.run(slot.wrap(argv), capture_output=True, text=True, env=engine_env(), timeout=90)
        if r.returncode != 0:
            self.kill()
            tail = self.log_tail(since=since)
            raise PostgresStartError(f"PostgreSQL failed to start on port {self.spec.port}: {r.stderr.strip()}; "
                                     f"last lines of its log ({self.log}):\n{tail}", tail)

    def _ensure_db(self) -> None:
        import psycopg

        try:
            ensure_database(self.dsn_for("postgres"))
        except psycopg.Error as e:
            raise RuntimeError(f"PostgreSQL on port {self.spec.port} started but refuses clients: {e}; "
                               f"last lines of its log ({self.log}):\n{self.log_tail()}") from e

    def pid_file(self) -> Path:
        return self.data_dir / "postmaster.pid"

    def ready(self) -> bool:
        if not self.alive():
            return False
        return accepts_clients(self.dsn)

    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        version, shown, preloaded, tsv = server_report(self.dsn)
        pid = self.pid()
        rt = self._runtime()
        return Endpoint(
            kind="postgres",
            dsn=self.dsn,
            version=f"PostgreSQL {version}",
            pids=(pid,) if pid else (),
            cgroup=str(slot.memory_dir) if slot and slot.memory_dir else None,
            extra={"settings": shown,  # as the running server reports them (SHOW), not as requested
                   "tuning": {k: rt.get(k) for k in ("tuning", "budget", "requested")},
                   "series_backend": "timescaledb" if preloaded else "native",
                   "series_backend_why": rt.get("series_backend_why", ""),
                   "timescaledb": tsv,
                   "auth": AUTH, "socket_dir": self.spec.run_dir,
                   "memory_limit": slot.applied_limit if slot else None,
                   "cgroup_version": slot.version if slot else "none"},
        )

    def stop(self) -> None:
        if self.alive():
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "10", "stop"],
                      timeout=30)
        self.kill()

    def remove(self) -> None:
        """Delete the private socket dir (the work dir goes with the trial dir)."""
        if self.spec.run_dir and Path(self.spec.run_dir).parent == RUN_BASE:
            shutil.rmtree(self.spec.run_dir, ignore_errors=True)
