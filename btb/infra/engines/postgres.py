"""PostgreSQL as a local engine: initdb into the trial's private work dir, loopback TCP on its own port,
started inside the trial's cgroup slot, as the OS user `postgres` when btb runs as root.

Security: only authenticated clients get in. The cluster is made with `--auth=scram-sha-256` and a
generated superuser password that lives in a 0600 passfile in the work dir (0700, engine user): clients
get `passfile=` in their DSN, so the password itself is never on an argv, in a DSN, a log or a result.
The unix socket lives in a private short directory (mode 0700, `/tmp/btb-pg-XXXXXXXX`) whose path never
depends on user-chosen names (the 107-byte socket path limit). The server runs with a scrubbed env.

Benchmark scratch clusters use non-durable settings (fsync off, ...): they are recorded with every
endpoint so nobody compares them with a durable production setup unknowingly.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import EngineSpec, LocalEngine, as_user, chown_tree, engine_env, engine_user

# Settings of the scratch cluster (recorded in results). Non-durable on purpose: a benchmark cluster.
SCRATCH_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "shared_buffers": "128MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
}
SUPERUSER = "postgres"
DBNAME = "btb"
AUTH = "scram-sha-256"
RUN_BASE = Path(tempfile.gettempdir())


class PostgresNotFound(RuntimeError):
    pass


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


class LocalPostgres(LocalEngine):
    kind = "postgres"
    settings_prefix = "pg"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.work = Path(spec.work)
        self.data_dir = self.work / "data"
        self.passfile = self.work / "pgpass"
        self.log = self.work / "postgres.log"
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
        except RuntimeError as e:
            return False, str(e)
        return True, str(b)

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
        conf = "\n".join(f"{k} = '{v}'" for k, v in SCRATCH_SETTINGS.items())
        if (self.bin_dir.parent / "lib" / "timescaledb.so").exists():  # installed: it must be preloaded
            conf += "\nshared_preload_libraries = 'timescaledb'\ntimescaledb.telemetry_level = 'off'"
        with open(self.data_dir / "postgresql.conf", "a") as f:
            f.write(f"\n# btb scratch settings\n{conf}\n")
        self._write_network_conf()

    def _write_network_conf(self) -> None:
        """Port and socket dir in their own include file: rewritten at every launch (a restart may move
        the socket dir when /tmp was cleaned), never depending on the data dir's path length."""
        net = self.data_dir / "btb-network.conf"
        net.write_text(f"listen_addresses = '{self.host}'\nport = {self.spec.port}\n"
                       f"unix_socket_directories = '{self.spec.run_dir}'\nunix_socket_permissions = 0700\n")
        conf = self.data_dir / "postgresql.conf"
        if "include_if_exists = 'btb-network.conf'" not in conf.read_text():
            with open(conf, "a") as f:
                f.write("include_if_exists = 'btb-network.conf'\n")
        chown_tree(self.data_dir, self.user)

    def launch(self, slot: CgroupSlot) -> None:
        self.prepare()
        self.kill()  # a crashed predecessor's backends would hold the shared memory; its pid file is stale
        # Stale lock files of a killed postmaster: PostgreSQL trusts them while the old pid exists, and a
        # killed postmaster can linger as a zombie when nobody reaps it. Nothing of ours runs now.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for lock in Path(self.spec.run_dir).glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        self._write_network_conf()
        self.log.touch()
        chown_tree(self.log, self.user)
        argv = as_user(self.user, [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
                                   "-w", "-t", "60", "start"])
        r = subprocess.run(slot.wrap(argv), capture_output=True, text=True, env=engine_env(), timeout=90)
        if r.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL failed to start on port {self.spec.port}: {r.stderr.strip()} {tail}")
        self._ensure_db()

    def _ensure_db(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn_for("postgres"), autocommit=True, connect_timeout=10) as c:
            if not c.execute("select 1 from pg_database where datname=%s", (DBNAME,)).fetchone():
                c.execute(f'create database "{DBNAME}"')

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> tuple[int, ...]:
        p = self.pid()
        return (p,) if p and self.alive() else ()

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
        try:
            import psycopg

            with psycopg.connect(self.dsn, connect_timeout=2, autocommit=True) as c:
                c.execute("select 1").fetchone()
            return True
        except Exception:  # noqa: BLE001 - recovering, starting, refused: all "not now"
            return False

    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        import psycopg

        with psycopg.connect(self.dsn, connect_timeout=10) as c:
            version = c.execute("show server_version").fetchone()[0]
        pid = self.pid()
        return Endpoint(
            kind="postgres",
            dsn=self.dsn,
            version=f"PostgreSQL {version}",
            pids=(pid,) if pid else (),
            cgroup=str(slot.memory_dir) if slot and slot.memory_dir else None,
            extra={"settings": dict(SCRATCH_SETTINGS), "auth": AUTH, "socket_dir": self.spec.run_dir,
                   "memory_limit": slot.applied_limit if slot else None,
                   "cgroup_version": slot.version if slot else "none"},
        )

    def stop(self) -> None:
        if self.alive():
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "10", "stop"],
                      timeout=30)
        self.kill()

    def kill(self) -> None:
        for _ in range(50):
            pids = self._procs()
            if not pids:
                return
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)

    def log_file(self) -> Path | None:
        return self.log

    def remove(self) -> None:
        """Delete the private socket dir (the work dir goes with the trial dir)."""
        if self.spec.run_dir and Path(self.spec.run_dir).parent == RUN_BASE:
            shutil.rmtree(self.spec.run_dir, ignore_errors=True)
