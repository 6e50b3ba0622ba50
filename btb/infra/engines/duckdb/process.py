"""DuckDB as a local engine: the engine host (`host.py`, this Python running `-m btb.infra.engines.duckdb.host`)
started inside the trial's cgroup slot, owning `<work>/duck.duckdb`, answering on a unix socket in a private
0700 run dir (`<run_dir>/host.sock`, 0600) after an HMAC challenge with a per-engine key (`<work>/authkey`,
0600, by reference in the Endpoint).

It runs as btb's own OS user (also when btb is root), as the library would inside btb: DuckDB reads the
dataset's Parquet files in place (D1 loads them with its own reader, D2 queries them at every run), and those
live in btb's private state dir, which an unprivileged engine user cannot enter. Nothing but btb reaches it:
the socket's dir is 0700 and every connection must answer the key challenge.

Memory: `settings.py` sizes memory_limit and threads to the budget at every launch (recorded in
`runtime.json` and the Endpoint); the cgroup limit binds the whole process. Cold runs: `stop()` closes the
database cleanly (SIGTERM → checkpoint), the next launch opens it with empty caches; the provider evicts the
work dir's files from the page cache, and D2's Parquet files are hard links in the work dir
(`parquet/`, made at its load) so the same eviction reaches them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import (EngineSpec, LocalEngine, engine_env, kill_processes, terminate_processes,
                                    write_private)
from btb.engines.duckdb.client import DSN_PREFIX, answers
from btb.infra.engines.duckdb.settings import malloc_env, settings_for_budget
from btb.infra.statefile import read_json, write_json

RUN_BASE = Path(tempfile.gettempdir())
HOST_MODULE = "btb.infra.engines.duckdb.host"
DATABASE = "duck.duckdb"
START_TIMEOUT_S = 60


def duckdb_version() -> str:
    from importlib.metadata import version

    return version("duckdb")


class LocalDuckDB(LocalEngine):
    kind = "duckdb"
    settings_prefix = "duckdb"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.work = Path(spec.work)
        self.database = self.work / DATABASE
        self.temp_dir = self.work / "tmp"
        self.config = self.work / "host.json"
        self.authkey = self.work / "authkey"
        self.pidfile = self.work / "host.pid"
        self.log = self.work / "host.log"
        self.runtime = self.work / "runtime.json"

    @classmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        try:
            v = duckdb_version()
        except Exception as e:  # noqa: BLE001 - the pip package is missing: this kind only is disabled
            return False, f"DuckDB not installed: pip install duckdb ({type(e).__name__})"
        return True, f"duckdb {v} (pip), engine host {HOST_MODULE} on {sys.executable}"

    @property
    def socket(self) -> str:
        return str(Path(self.spec.run_dir) / "host.sock")

    @property
    def dsn(self) -> str:
        return DSN_PREFIX + self.socket

    # --- life cycle -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        if not self.spec.run_dir or not Path(self.spec.run_dir).is_dir():
            self.spec.run_dir = tempfile.mkdtemp(prefix="btb-duck-", dir=RUN_BASE)  # 0700, short, unguessable
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o700)
        self.temp_dir.mkdir(exist_ok=True)
        if not self.authkey.exists():
            fd = os.open(self.authkey, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        self.log.touch()

    def launch(self, slot: CgroupSlot, budget: int | None | str = "slot", tuning: str | None = None) -> None:
        """Start the host inside `slot` with DuckDB sized to `budget` (bytes, None = unlimited; by default the
        limit the slot applies) under `tuning` (default: the engine option, $BTB_DUCKDB_TUNING, else scaled)."""
        if isinstance(budget, str):
            budget = slot.applied_limit if slot is not None else None
        tuning = tuning or self.options.get("tuning") or os.environ.get("BTB_DUCKDB_TUNING") or "scaled"
        requested = settings_for_budget(budget, tuning, temp_dir=str(self.temp_dir))
        malloc = os.environ.get("BTB_DUCKDB_MALLOC") or "tuned"
        env = engine_env(**malloc_env(malloc))
        self.prepare()
        self.kill()
        self.pidfile.unlink(missing_ok=True)
        write_private(self.config, json.dumps({
            "database": str(self.database), "socket": self.socket, "authkey_file": str(self.authkey),
            "pid_file": str(self.pidfile), "settings": requested}))
        argv = [sys.executable, "-I", "-m", HOST_MODULE, str(self.config)]
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(slot.wrap(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, cwd=str(self.work), start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.pid() is not None and self.ready():
                write_json(self.runtime, {"budget": budget, "tuning": tuning, "requested": requested,
                                          "malloc": malloc})
                return
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"DuckDB host did not answer on {self.socket} (exit {proc.poll()}): {self.log_tail()}")

    def _procs(self) -> list[int]:
        """The host processes of this engine (found by their config path on the command line)."""
        want = str(self.config)
        return self.pids_by_cmdline(lambda name, cmd: HOST_MODULE in cmd and want in cmd)

    def pid_file(self) -> Path:
        return self.pidfile

    def alive(self) -> bool:
        pid = self.pid()
        return pid is not None and pid in self._procs()

    def ready(self) -> bool:
        return self.alive() and answers(self.dsn, self.authkey) is not None

    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        info = answers(self.dsn, self.authkey) or {}
        rt = read_json(self.runtime) or {}
        pid = self.pid()
        return Endpoint(
            kind="duckdb", dsn=self.dsn, version=f"DuckDB {info.get('version', duckdb_version())}",
            pids=(pid,) if pid else (),
            cgroup=str(slot.memory_dir) if slot and slot.memory_dir else None,
            extra={"authkey_file": str(self.authkey), "database": str(self.database), "work": str(self.work),
                   "settings": info.get("settings", {}),  # as the running host reports them
                   "tuning": {k: rt.get(k) for k in ("tuning", "budget", "requested", "malloc")},
                   "auth": "unix socket in a 0700 dir + HMAC key challenge", "socket_dir": self.spec.run_dir,
                   "memory_limit": slot.applied_limit if slot else None,
                   "cgroup_version": slot.version if slot else "none"},
        )

    def kill(self) -> None:
        kill_processes(self._procs)

    def stop(self) -> None:
        """SIGTERM: the host closes the database (checkpoint) and exits; then kill what is left."""
        terminate_processes(self._procs, grace_s=20, poll_s=0.02)

    def remove(self) -> None:
        """Delete the private socket dir (the work dir goes with the trial dir)."""
        if self.spec.run_dir and Path(self.spec.run_dir).parent == RUN_BASE:
            shutil.rmtree(self.spec.run_dir, ignore_errors=True)

    def log_file(self) -> Path | None:
        return self.log
