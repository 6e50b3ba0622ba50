"""A PostgreSQL server run as a local process: initdb into btb's state dir, own port on loopback,
started inside the trial's cgroup, as a non-root OS user when btb runs as root (postgres refuses root).

Benchmark scratch clusters use non-durable settings (fsync off, ...): they are recorded with every
ingest so nobody compares them with a durable production setup unknowingly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from btb.engines.base import Endpoint
from btb.infra.cgroups import CgroupSlot, create_slot

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


def _run_as() -> str | None:
    """OS user to run the server as: None when not root; else 'postgres' (created by the package)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        raise PostgresNotFound("running as root but OS user 'postgres' does not exist (useradd -r postgres)") from None


@dataclass
class LocalPostgres:
    data_dir: Path
    port: int
    bin_dir: Path
    host: str = "127.0.0.1"
    user: str = "postgres"
    dbname: str = "btb"
    slot: CgroupSlot | None = None
    owns_slot: bool = True  # False when the slot is shared with the trial's other engines

    @property
    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"

    def _as_user(self, argv: list[str]) -> list[str]:
        who = _run_as()
        return ["runuser", "-u", who, "--", *argv] if who else argv

    def _chown(self, path: Path) -> None:
        who = _run_as()
        if who:
            pw = pwd.getpwnam(who)
            for p in [path, *path.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def init(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        r = subprocess.run(
            self._as_user([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", self.user,
                           "-E", "UTF8", "--locale=C"]),
            capture_output=True, text=True,
        )
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed for {self.data_dir}: {(r.stderr or r.stdout).strip()[-800:]}")
        conf = "\n".join(f"{k} = '{v}'" for k, v in SCRATCH_SETTINGS.items())
        with open(self.data_dir / "postgresql.conf", "a") as f:
            f.write(f"\n# btb scratch settings\n{conf}\nunix_socket_directories = '{self.data_dir}'\n")

    def start(self, memory_limit: int | None = None, slot_name: str | None = None,
              slot: CgroupSlot | None = None) -> Endpoint:
        """Start inside a cgroup carrying the budget and create the database.

        Pass `slot` to share one budget between several engines of a trial (hybrids); otherwise a fresh
        slot named `slot_name` with `memory_limit` is made.
        """
        self.init()
        self.slot = slot or create_slot(slot_name or f"btb-pg-{self.port}", memory_limit)
        self.owns_slot = slot is None
        log = self.data_dir.parent / f"{self.data_dir.name}.log"
        log.touch()
        self._chown(log)
        argv = self._as_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "60",
                              "-o", f"-p {self.port} -c listen_addresses={self.host}", "start"])
        r = subprocess.run(self.slot.wrap(argv), capture_output=True, text=True)
        if r.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL failed to start on port {self.port}: {r.stderr.strip()} {tail}")
        self._ensure_db()
        return self.endpoint()

    def _ensure_db(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn.replace(f"dbname={self.dbname}", "dbname=postgres"), autocommit=True) as c:
            if not c.execute("select 1 from pg_database where datname=%s", (self.dbname,)).fetchone():
                c.execute(f'create database "{self.dbname}"')

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def alive(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False

    def endpoint(self) -> Endpoint:
        import psycopg

        with psycopg.connect(self.dsn) as c:
            version = c.execute("show server_version").fetchone()[0]
        pid = self.pid()
        return Endpoint(
            kind="postgres",
            dsn=self.dsn,
            version=f"PostgreSQL {version}",
            pids=(pid,) if pid else (),
            cgroup=str(self.slot.memory_dir) if self.slot and self.slot.memory_dir else None,
            extra={"settings": dict(SCRATCH_SETTINGS),
                   "memory_limit": self.slot.applied_limit if self.slot else None,
                   "cgroup_version": self.slot.version if self.slot else "none"},
        )

    def stop(self, mode: str = "fast") -> None:
        if self.alive():
            subprocess.run(self._as_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
                                          "stop"]), capture_output=True, text=True)
        for _ in range(50):
            if not self.alive():
                break
            time.sleep(0.1)
        if self.slot and self.owns_slot:
            self.slot.remove()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
