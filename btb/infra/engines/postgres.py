"""PostgreSQL as a local engine: initdb into the trial's private work dir, loopback TCP on its own port,
started inside the trial's cgroup slot, as the OS user `postgres` when btb runs as root.

Security: only authenticated clients get in. The cluster is made with `--auth=scram-sha-256` and a
generated superuser password that lives in a 0600 passfile in the work dir (0700, engine user): clients
get `passfile=` in their DSN, so the password itself is never on an argv, in a DSN, a log or a result.
The unix socket lives in a private short directory (mode 0700, `/tmp/btb-pg-XXXXXXXX`) whose path never
depends on user-chosen names (the 107-byte socket path limit). The server runs with a scrubbed env.

Benchmark scratch clusters use non-durable settings (fsync off, ...): they are recorded with every
endpoint so nobody compares them with a durable production setup unknowingly.

Memory settings are sized to the trial's budget at every launch (`settings_for_budget`: shared_buffers
~25 %, effective_cache_size ~75 %, work_mem/maintenance_work_mem scaled; unlimited or `tuning="fixed"`:
the fixed settings), written to `btb-runtime.conf` (rewritten at each launch, so a restart from kept data
under another budget is configured for that budget) and recorded in the Endpoint as the server reports them.

TimescaleDB: when the extension is installed for this PostgreSQL (`scripts/build_timescaledb.sh`) and the
engine's `timescale` option (or $BTB_PG_TIMESCALE) is `auto` (default) or `on`, the server starts with
`shared_preload_libraries = 'timescaledb'` (telemetry off) and P1/P2 put their series in a hypertable;
`off` starts it without (native partitions on the same machine). An installed extension the server cannot
preload (e.g. built for another minor version) makes `auto` fall back to native partitions, saying why.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import (EngineSpec, LocalEngine, as_user, chown_tree, engine_env, engine_user,
                                    kill_processes, sized_budget)
from btb.infra.statefile import read_json, write_json

# Settings of the scratch cluster (recorded in results). Non-durable on purpose: a benchmark cluster.
# Memory settings are not here: they are sized per launch (settings_for_budget) in btb-runtime.conf.
DURABILITY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
}
# Planner costs for data served from memory or SSD (PGTune's setting for SSD storage). PostgreSQL's default
# random_page_cost = 4 prices a random page read at 4 sequential ones (spinning disks): with it the hybrids'
# series SQL joined 1.7k point ids with `ts` by a sequential scan of the window's chunks (F2 Q7 on small-2d:
# 139 ms; 75 ms by index probes) while P1, whose keys the planner estimates fewer, ran the same text by index
# probes. Measured for every query of P1 P2 F2 O2 under both values: `python benchmarks/bench_planner_costs.py`
# (docs/federation.md). One value for every scenario: no paradigm gets a plan hint the others do not.
PLANNER_SETTINGS = {"random_page_cost": "1.1"}
SERVER_SETTINGS = {**DURABILITY_SETTINGS, **PLANNER_SETTINGS}
# The memory settings btb used before budgets sized them: unlimited budgets and `tuning: fixed` keep them.
# (effective_cache_size is PostgreSQL's default, stated so that it is recorded.)
FIXED_MEMORY_SETTINGS = {
    "shared_buffers": "128MB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
}
SCRATCH_SETTINGS = {**SERVER_SETTINGS, **FIXED_MEMORY_SETTINGS}  # what an unlimited engine runs with
TIMESCALE_MODES = ("auto", "off", "on")
# what the Endpoint reports (as SHOW prints it) with every figure
RECORDED_SETTINGS = (*SERVER_SETTINGS, *FIXED_MEMORY_SETTINGS, "shared_preload_libraries")
MiB = 1 << 20
LOG_TAIL_LINES = 25
SUPERUSER = "postgres"
DBNAME = "btb"
AUTH = "scram-sha-256"
RUN_BASE = Path(tempfile.gettempdir())


class PostgresNotFound(RuntimeError):
    pass


class PostgresStartError(RuntimeError):
    """The server did not start; `log_tail` is what its log said during this attempt."""

    def __init__(self, message: str, log_tail: str = ""):
        super().__init__(message)
        self.log_tail = log_tail


def _mb(n: int) -> str:
    """A size in MiB the way SHOW prints it (largest unit that divides it exactly)."""
    return f"{n // 1024}GB" if n % 1024 == 0 else f"{n}MB"


def settings_for_budget(budget_bytes: int | None, tuning: str = "scaled") -> dict[str, str]:
    """PostgreSQL memory settings for a memory budget, as a careful operator sizes them.

    scaled (budget B): shared_buffers = B/4 (floor 8 MB, ceiling 8 GB), effective_cache_size = 3B/4,
    work_mem = B/64 (1 MB .. 128 MB: one query may run several sort/hash nodes, each up to
    hash_mem_multiplier x work_mem, in the leader and 2 parallel workers), maintenance_work_mem = B/16
    (8 MB .. 1 GB: up to 3 autovacuum workers may each take it). 256 MiB -> 64MB / 192MB / 4MB / 16MB;
    1 GiB -> 256MB / 768MB / 16MB / 64MB.
    No budget (unlimited) or tuning "fixed": the fixed settings (FIXED_MEMORY_SETTINGS).
    """
    if sized_budget(budget_bytes, tuning) is None:
        return dict(FIXED_MEMORY_SETTINGS)
    mb = budget_bytes // MiB

    def clamp(v: int, lo: int, hi: int) -> int:
        return max(lo, min(hi, v))

    shared = clamp(mb // 4, 8, 8192)
    return {
        "shared_buffers": _mb(shared),
        "effective_cache_size": _mb(max(shared, mb * 3 // 4)),
        "work_mem": _mb(clamp(mb // 64, 1, 128)),
        "maintenance_work_mem": _mb(clamp(mb // 16, 8, 1024)),
    }


def _pg_dirs(bin_dir: Path) -> tuple[Path, Path]:
    """(pkglibdir, sharedir) of the PostgreSQL whose binaries are in bin_dir: pg_config when it is there,
    else Debian's layout (/usr/lib/postgresql/N/lib, /usr/share/postgresql/N)."""
    pgc = bin_dir / "pg_config"
    if pgc.exists():
        try:
            r = subprocess.run([str(pgc), "--pkglibdir", "--sharedir"], capture_output=True, text=True, timeout=10)
            lib, share = r.stdout.split()[:2]
            return Path(lib), Path(share)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    return bin_dir.parent / "lib", Path("/usr/share/postgresql") / bin_dir.parent.name


def timescale_installed(bin_dir: Path) -> tuple[str | None, str]:
    """(version, where) of the TimescaleDB extension installed for this PostgreSQL, (None, why not)."""
    lib, share = _pg_dirs(bin_dir)
    control = share / "extension" / "timescaledb.control"
    if not (lib / "timescaledb.so").exists() or not control.exists():
        return None, f"TimescaleDB is not installed for this PostgreSQL (no timescaledb.so in {lib})"
    m = re.search(r"default_version\s*=\s*'([^']+)'", control.read_text())
    version = m.group(1) if m else "?"
    return version, f"TimescaleDB {version} installed in {lib}"


def timescale_mode(options: dict[str, Any]) -> str:
    mode = str(options.get("timescale") or os.environ.get("BTB_PG_TIMESCALE") or "auto").lower()
    if mode not in TIMESCALE_MODES:
        raise ValueError(f"timescale must be one of {', '.join(TIMESCALE_MODES)}, not {mode!r}")
    return mode


def series_backend_plan(bin_dir: Path, options: dict[str, Any]) -> tuple[bool, str]:
    """(preload TimescaleDB?, why): which series backend a new engine will run, before starting anything."""
    mode = timescale_mode(options)
    version, where = timescale_installed(bin_dir)
    if mode == "off":
        return False, f"timescale: off ({where}): native daily range partitions"
    if version is None:
        hint = ("`make setup` builds it from $BTB_TIMESCALEDB_SOURCE, ../shared/vendor/timescaledb-*.tar.gz or the "
                "pinned release it downloads and verifies (scripts/fetch_timescaledb.sh); "
                "scripts/build_timescaledb.sh SOURCE builds it by hand")
        if mode == "on":
            raise RuntimeError(f"timescale: on but {where}; {hint}")
        return False, f"{where}: native daily range partitions ({hint})"
    return True, f"{where}: preloaded (shared_preload_libraries = 'timescaledb'): hypertables"


def find_pg_bin(hint: str = "") -> Path:
    """Directory with initdb/pg_ctl/postgres: the hint, $PATH, then Debian's versioned dirs (newest)."""
    candidates: list[Path] = []
    if hint:
        candidates.append(Path(hint))
    if (p := shutil.which("pg_ctl")) and (Path(p).resolve().parent / "initdb").exists():
        candidates.append(Path(p).resolve().parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise PostgresNotFound(
        "PostgreSQL server binaries not found (initdb, pg_ctl). Install them "
        "(Debian: apt-get install -y postgresql) or set BTB_PG_BIN to their directory."
    )


def _conninfo(**kw: Any) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: str(v) for k, v in kw.items()})


def with_dbname(dsn: str, dbname: str) -> str:
    """The same conninfo (host, port, passfile, ...) for another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**{**conninfo_to_dict(dsn), "dbname": dbname})


def fresh_database(dsn: str, name: str) -> str:
    """Drop and create database `name` on the server `dsn` points at; returns the DSN for it.
    (One scratch server, one database per scenario: validation and tests.)"""
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_dbname(dsn, "postgres"), autocommit=True, connect_timeout=10) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_dbname(dsn, name)


def ensure_database(admin_dsn: str, dbname: str = DBNAME) -> None:
    """Create btb's database on the server `admin_dsn` (a DSN for database `postgres`) when it is missing."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as c:
        if not c.execute("select 1 from pg_database where datname=%s", (dbname,)).fetchone():
            c.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def accepts_clients(dsn: str, timeout_s: int = 2) -> bool:
    """One quick authenticated `select 1` (never raises): recovering, starting, refused are all "not now"."""
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True) as c:
            c.execute("select 1").fetchone()
        return True
    except Exception:  # noqa: BLE001
        return False


def server_report(dsn: str) -> tuple[str, dict[str, str], bool, str | None]:
    """(server_version, RECORDED_SETTINGS as the server shows them, TimescaleDB preloaded?, its version):
    what every Endpoint of a PostgreSQL engine records, local process or container."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as c:
        version = c.execute("show server_version").fetchone()[0]
        shown = dict(c.execute("select name, current_setting(name) from unnest(%s::text[]) name",
                               (list(RECORDED_SETTINGS),)).fetchall())
        preloaded = "timescaledb" in shown.get("shared_preload_libraries", "")
        row = c.execute("select default_version from pg_available_extensions where name = 'timescaledb'"
                        ).fetchone() if preloaded else None
    return version, shown, preloaded, (row[0] if row else None)


class LocalPostgres(LocalEngine):
    kind = "postgres"
    settings_prefix = "pg"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.work = Path(spec.work)
        self.data_dir = self.work / "data"
        self.passfile = self.work / "pgpass"
        self.log = self.work / "postgres.log"
        self.runtime = self.work / "runtime.json"  # how the running server was configured (budget, backend)
        self.user = engine_user("postgres")
        self.host = "127.0.0.1"

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
        return _conninfo(host=self.host, port=self.spec.port, user=SUPERUSER, dbname=dbname,
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
            fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
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
        if isinstance(budget, str):  # "slot": the limit the trial's cgroup applies (None where none can be)
            budget = slot.applied_limit if slot is not None else None
        tuning = tuning or self.options.get("tuning") or os.environ.get("BTB_PG_TUNING") or "scaled"
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
        self._write_runtime(budget, tuning, memory, preload, why)
        self._ensure_db()

    def _write_runtime(self, budget: int | None, tuning: str, memory: dict[str, str], preload: bool, why: str) -> None:
        info = {"budget": budget, "tuning": tuning, "requested": memory,
                "series_backend": "timescaledb" if preload else "native", "series_backend_why": why}
        write_json(self.runtime, info)

    def _runtime(self) -> dict[str, Any]:
        return read_json(self.runtime) or {}

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

    def _procs(self) -> list[int]:
        """Every process of this cluster (postmaster, backends, orphans of a killed postmaster): they all
        run with the data dir as working directory."""
        import psutil

        want = str(self.data_dir.resolve()) if self.data_dir.exists() else str(self.data_dir)
        out = []
        for p in psutil.process_iter(["pid", "name"]):
            try:
                if p.info["name"] in ("postgres", "postmaster") and p.cwd() == want:
                    out.append(p.pid)
            except (psutil.Error, OSError):
                continue
        return out

    def alive(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            return False
        return Path(cwd) == self.data_dir.resolve()  # not a recycled pid

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

    def kill(self) -> None:
        kill_processes(self._procs)

    def log_file(self) -> Path | None:
        return self.log

    def remove(self) -> None:
        """Delete the private socket dir (the work dir goes with the trial dir)."""
        if self.spec.run_dir and Path(self.spec.run_dir).parent == RUN_BASE:
            shutil.rmtree(self.spec.run_dir, ignore_errors=True)
