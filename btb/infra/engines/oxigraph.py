"""Oxigraph as a local engine: the `oxigraph` server binary of pip `oxigraph` (pinned in pyproject.toml),
`oxigraph serve --location <work>/store --bind 127.0.0.1:<port>`, started inside the trial's cgroup slot
with a scrubbed environment, as an unprivileged OS user when btb runs as root.

Security: **Oxigraph has no authentication** (no user, no password, no TLS: anyone who reaches the port
can query *and update* the store, `POST /update`, `DELETE /store`). What protects it is the bind address
(loopback only, 127.0.0.1, never 0.0.0.0) and, when btb runs as root, the local provider's port guard
(`btb.infra.portguard`): the kernel refuses every other local user's connection to the port. The store
directory is in the private work dir (0700). The Endpoint records both (`auth`, `reachable`).

Version: the pip package pins the server (`oxigraph==0.5.13` ships server 0.5.13); the Endpoint records
what the binary reports (`oxigraph --version`).
Memory: RocksDB block cache + memtables live in the server process: the cgroup is what to read. No setting
can be sized to a budget: the server exposes none (its RocksDB options are fixed in Oxigraph's code, see
docs/rdf.md), so the budget acts through the cgroup only; the Endpoint records that (`tuning`).
Readiness: `GET /query?query=ASK{}` answers in a few ms once the store is open (~20 ms after start).
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.infra import portguard
from btb.engines.base import Endpoint
from btb.infra.engines.base import (EngineSpec, LocalEngine, as_user, chown_tree, engine_env, engine_user,
                                    kill_processes, reachable_for, terminate_processes)

USER_CANDIDATES = ("oxigraph", "nobody")
# Oxigraph keeps evaluating a query whose client went away (oxigraph/oxigraph#1336): only its own `--timeout-s`
# stops it. While loading (long updates) a generous backstop; while serving a trial, the protocol's per-query
# timeout plus a margin, so the client's watchdog fires first and an abandoned query dies soon after — not
# 600 s later, holding a thread and its memory (O1 at 512 MiB was OOM-killed under 16 operators so).
SERVER_TIMEOUT_S = 600
SERVE_MARGIN_S = 2
SERVER_SETTINGS = {"bind": "127.0.0.1", "auth": "none (Oxigraph has none): loopback only, private store dir"}


def server_timeout_s(query_timeout_s: float | None) -> int:
    """The server's `--timeout-s` (whole seconds) for a protocol timeout: that + margin, else the backstop."""
    if not query_timeout_s:
        return SERVER_TIMEOUT_S
    return min(SERVER_TIMEOUT_S, max(1, math.ceil(query_timeout_s + SERVE_MARGIN_S)))


def server_settings(query_timeout_s: float | None) -> dict[str, Any]:
    """What an Endpoint records of the server it started (local process or container)."""
    return {**SERVER_SETTINGS, "timeout_s": server_timeout_s(query_timeout_s)}

TUNING = {"sized": False, "why": "oxigraph serve exposes no memory setting (RocksDB options fixed in its code): "
                             "the budget acts through the cgroup only"}


class OxigraphNotFound(RuntimeError):
    pass


def find_oxigraph(hint: str = "") -> Path:
    """The `oxigraph` binary: in the hint dir, else next to this Python (pip `oxigraph` installs it there)."""
    if hint:
        p = Path(hint) / "oxigraph"
        if p.exists():
            return p
        raise OxigraphNotFound(f"no oxigraph binary in {hint}")
    p = Path(sys.executable).parent / "oxigraph"
    if p.exists():
        return reachable_for(oxigraph_user(), [p.resolve()], "oxigraph")[0]  # a venv in a private dir
    import shutil

    found = shutil.which("oxigraph")
    if found:
        return reachable_for(oxigraph_user(), [Path(found).resolve()], "oxigraph")[0]
    raise OxigraphNotFound("Oxigraph server not found: pip install oxigraph (or set BTB_OXIGRAPH_BIN to its dir)")


def oxigraph_version(binary: Path) -> str:
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, env=engine_env())
    return r.stdout.strip().removeprefix("oxigraph ").strip() or "?"


def oxigraph_user() -> str | None:
    """None when btb is not root; else the first existing unprivileged user (the server needs no privilege)."""
    return engine_user(*USER_CANDIDATES)


def sparql_ready(url: str, timeout_s: float = 2.0) -> bool:
    """`ASK {}` answers 200 (never raises): the store is open and serving."""
    try:
        req = urllib.request.Request(f"{url}/query?query=ASK%7B%7D", headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def serve_args(location: str, host: str, port: int, query_timeout_s: float | None = None) -> list[str]:
    """`oxigraph serve` arguments (after the binary): local process or container."""
    return ["serve", "--location", location, "--bind", f"{host}:{port}",
            "--timeout-s", str(server_timeout_s(query_timeout_s))]


class LocalOxigraph(LocalEngine):
    kind = "oxigraph"
    settings_prefix = "oxigraph"

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.work = Path(spec.work)
        self.store = self.work / "store"
        self.log = self.work / "oxigraph.log"
        self.pidfile = self.work / "oxigraph.pid"
        self.user = oxigraph_user()
        self.host = "127.0.0.1"

    @classmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        try:
            binary = find_oxigraph(options.get("bin", ""))
            oxigraph_user()
        except (OxigraphNotFound, RuntimeError) as e:
            return False, str(e)
        return True, str(binary)

    @classmethod
    def default_port(cls, options: dict[str, Any]) -> int:
        return int(options.get("port") or 7878)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.spec.port}"

    # --- life cycle -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o700)
        self.store.mkdir(exist_ok=True)
        self.log.touch()
        chown_tree(self.work, self.user)

    def launch(self, slot: CgroupSlot, query_timeout_s: float | None = None) -> None:
        self.prepare()
        self.kill()
        binary = find_oxigraph(self.options.get("bin", ""))
        self.spec.extra["query_timeout_s"] = query_timeout_s  # kept with the spec: what its Endpoint reports
        argv = as_user(self.user, [str(binary), *serve_args(str(self.store), self.host, self.spec.port, query_timeout_s)])
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(slot.wrap(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=engine_env(), cwd=str(self.work), start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = self._procs()
            if pids:
                self.pidfile.write_text(f"{pids[0]}\n")
            if pids and self.ready():
                return
            if proc.poll() is not None and not pids:
                break
            time.sleep(0.02)
        raise RuntimeError(f"Oxigraph did not answer on port {self.spec.port}: {self.log_tail()}")

    def _procs(self) -> list[int]:
        """The server processes of this store (found by `--location <store>` on their command line)."""
        want = str(self.store)
        return self.pids_by_cmdline(lambda name, cmd: name == "oxigraph" and "serve" in cmd and want in cmd)

    def pid_file(self) -> Path:
        return self.pidfile

    def alive(self) -> bool:
        pid = self.pid()
        return pid is not None and pid in self._procs()

    def ready(self) -> bool:
        return sparql_ready(self.url)

    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        binary = find_oxigraph(self.options.get("bin", ""))
        version = oxigraph_version(binary)
        try:
            from importlib.metadata import version as pkg_version

            pip = pkg_version("oxigraph")
        except Exception:  # noqa: BLE001 - a hint dir instead of the pip package
            pip = "-"
        pid = self.pid()
        return Endpoint(
            kind="oxigraph",
            dsn=self.url,
            version=f"Oxigraph {version} (pip oxigraph {pip})",
            pids=(pid,) if pid else (),
            cgroup=str(slot.memory_dir) if slot and slot.memory_dir else None,
            extra={"auth": "none", "settings": server_settings(self.spec.extra.get("query_timeout_s")), "tuning": dict(TUNING), "store": str(self.store),
                   "reachable": portguard.reachable(),
                   "binary": str(binary), "versions": {"oxigraph": version, "pip": pip},
                   "memory_limit": slot.applied_limit if slot else None,
                   "cgroup_version": slot.version if slot else "none"},
        )

    def kill(self) -> None:
        kill_processes(self._procs, rounds=100)

    def stop(self) -> None:
        """SIGTERM (RocksDB flushes), then kill what is left."""
        terminate_processes(self._procs, grace_s=10, rounds=100)

    def log_file(self) -> Path | None:
        return self.log
