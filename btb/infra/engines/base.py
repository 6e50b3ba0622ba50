"""`LocalEngine`: one engine process of one kind, run by `LocalProvider` inside a trial's cgroup slot.

An engine lives in its own work directory (`EngineSpec.work`) that only btb and the engine's OS user
can enter; everything needed to find it again after a worker restart is in `EngineSpec` (persisted as
JSON by the provider). Engines are started with a scrubbed environment (`engine_env`): no btb secret
(broker URL, Redis or Flower password) ever reaches an engine process.
"""

from __future__ import annotations

import os
import time
import signal
import pwd
import shutil
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from typing import Any, ClassVar

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.statefile import read_json, write_json

# the only variables an engine process inherits (values from our env when set, else these defaults)
ENGINE_ENV_KEEP = ("TZ",)
ENGINE_ENV_DEFAULTS = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def engine_env(**extra: str) -> dict[str, str]:
    """A clean environment for an engine process: no BTB_*, no broker URL, nothing secret."""
    env = dict(ENGINE_ENV_DEFAULTS)
    env.update({k: os.environ[k] for k in ENGINE_ENV_KEEP if os.environ.get(k) and not k.startswith("BTB_")})
    env.update(extra)
    return env


TUNINGS = ("scaled", "fixed")  # memory.tuning: engine settings sized to the budget, or the fixed ones


def sized_budget(budget_bytes: int | None, tuning: str) -> int | None:
    """The budget an engine's memory settings are sized for, or None when its fixed settings apply
    (unlimited, or `tuning="fixed"`). Raises ValueError on an unknown tuning or a non-positive budget."""
    if tuning not in TUNINGS:
        raise ValueError(f"tuning must be one of {', '.join(TUNINGS)}, not {tuning!r}")
    if budget_bytes is None or tuning == "fixed":
        return None
    if budget_bytes <= 0:
        raise ValueError(f"budget must be positive bytes or None (unlimited), not {budget_bytes!r}")
    return budget_bytes


def engine_user(*candidates: str) -> str | None:
    """OS user to run engines as: None when btb is not root (engines run as btb's user); as root the
    first of `candidates` that exists (most engines refuse or should not run as root)."""
    if os.geteuid() != 0:
        return None
    for name in candidates:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    who = candidates[0] if len(candidates) == 1 else f"none of {candidates}"
    raise RuntimeError(f"running as root but OS user {who!r} does not exist (useradd -r {candidates[0]})")


def kill_processes(procs: Callable[[], list[int]], rounds: int = 50) -> None:
    """SIGKILL whatever `procs()` lists until it lists nothing (an engine's leftovers included)."""
    for _ in range(rounds):
        pids = procs()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


def terminate_processes(procs: Callable[[], list[int]], grace_s: float, poll_s: float = 0.05,
                        rounds: int = 50) -> None:
    """SIGTERM whatever `procs()` lists (an engine that flushes or checkpoints on it), wait up to `grace_s`
    for it to exit, then SIGKILL what is left (`kill_processes`)."""
    for p in procs():
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    while procs() and time.monotonic() < deadline:
        time.sleep(poll_s)
    kill_processes(procs, rounds)


def as_user(user: str | None, argv: list[str]) -> list[str]:
    if not user:
        return list(argv)
    runuser = shutil.which("runuser") or shutil.which("runuser", path=ENGINE_ENV_DEFAULTS["PATH"]) or "runuser"
    return [runuser, "-u", user, "--", *argv]


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (mode 0600 from its creation on): secrets and configs holding them."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def chown_tree(path: Path, user: str | None) -> None:
    if user:
        pw = pwd.getpwnam(user)
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid, follow_symlinks=False)


@dataclass
class EngineSpec:
    """Where one engine of a trial lives: enough to reattach to it from another process."""

    kind: str
    work: str  # private work dir (data, secrets, log): only btb and the engine's OS user enter it
    port: int
    run_dir: str = ""  # private short dir for sockets (never derived from user-chosen names)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EngineSpec:
        return cls(**d)


SHARED_BIN = Path("/var/lib/btb/bin")


def not_world_reachable(f: Path) -> str:
    """The first path component an unprivileged other user cannot pass (dirs o+x, the file o+r), or ''."""
    import stat

    try:
        if not f.stat().st_mode & stat.S_IROTH:
            return str(f)
        for d in f.parents:
            if not d.stat().st_mode & stat.S_IXOTH:
                return str(d)
    except OSError:
        return str(f)
    return ""


def reachable_for(user: str | None, files: list[Path], kind: str) -> list[Path]:
    """Engines run as an unprivileged OS user when btb is root. Binaries that pip put under a private dir
    (a venv below /root, a CI clone in a 0700 home) are copied once into /var/lib/btb/bin/<kind>-<digest>/,
    where that user can read them; otherwise the files are returned as they are."""
    import hashlib
    import shutil

    if user is None or not any(not_world_reachable(f) for f in files):
        return files
    h = hashlib.sha1()
    for f in files:
        st = f.stat()
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    d = SHARED_BIN / f"{kind}-{h.hexdigest()[:12]}"
    out = [d / f.name for f in files]
    if not all(o.exists() for o in out):
        d.mkdir(parents=True, exist_ok=True)
        for f, o in zip(files, out):
            tmp = o.with_suffix(o.suffix + ".tmp")
            shutil.copy2(f, tmp)
            tmp.chmod(0o755)
            os.replace(tmp, o)
    for p in (d, SHARED_BIN, SHARED_BIN.parent):  # traversable by the engine's user
        p.chmod(p.stat().st_mode | 0o755)
    return out


class LocalEngine(ABC):
    """One local engine process. Subclasses: one per kind, registered in `btb.engines.registry.ENGINES`."""

    kind: ClassVar[str]
    settings_prefix: ClassVar[str] = ""  # btb Settings fields `<prefix>_port`, `<prefix>_bin` (default: kind)

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        self.spec = spec
        self.options = dict(options or {})  # node settings for this kind (e.g. bin dir)

    # --- what this node can do -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        """(binaries found, why not / what was found) without starting anything."""

    @classmethod
    def default_port(cls, options: dict[str, Any]) -> int:
        return int(options.get("port") or 7000)

    # --- life cycle ---------------------------------------------------------------------------------
    @abstractmethod
    def prepare(self) -> None:
        """Create the work dir, data and secrets (idempotent: nothing is redone for an existing store)."""

    @abstractmethod
    def launch(self, slot: CgroupSlot) -> None:
        """Start the engine process *inside* `slot` and wait until it accepts clients (raise if not)."""

    @abstractmethod
    def alive(self) -> bool:
        """The engine's main process exists (it may still be recovering)."""

    @abstractmethod
    def ready(self) -> bool:
        """It accepts an authenticated client right now (one quick attempt; never raises)."""

    @abstractmethod
    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        """How clients reach it (credentials by reference, never inline) and what the monitor watches."""

    @abstractmethod
    def kill(self) -> None:
        """Kill every process of this engine, leftovers of a crashed one included (data is kept)."""

    def stop(self) -> None:
        """Stop gracefully where that is quick; default: kill."""
        self.kill()

    def pid_file(self) -> Path | None:
        """The file whose first word is the engine's main pid (None: the engine has none)."""
        return None

    def pid(self) -> int | None:
        f = self.pid_file()
        try:
            return int(f.read_text().split()[0]) if f is not None else None
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> tuple[int, ...]:
        """The main pid while it is this engine's running process (a stale pid file gives nothing)."""
        p = self.pid()
        return (p,) if p and self.alive() else ()

    def remove(self) -> None:
        """Delete what the engine keeps outside its work dir (e.g. a socket dir). Default: nothing."""

    def log_file(self) -> Path | None:
        """The engine's own log (kept, tail only, after the trial is stopped: see LocalProvider.logs)."""
        return None

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the engine's log, for an error that says why it did not start."""
        f = self.log_file()
        return f.read_text(errors="replace")[-chars:] if f is not None and f.exists() else ""

    def pids_by_cmdline(self, match: Callable[[str, list[str]], bool]) -> list[int]:
        """Processes whose (name, argv) `match` accepts: an engine found by what its command line names
        (its store, its config), orphans of a killed launch included."""
        import psutil

        out = []
        for p in psutil.process_iter(["pid", "name", "cmdline"]):
            try:
                if match(p.info["name"] or "", p.info["cmdline"] or []):
                    out.append(p.pid)
            except (psutil.Error, OSError):
                continue
        return out


class DataDirServer(LocalEngine):
    """A server process run with its data dir as working directory (PostgreSQL, Redis/FalkorDB), whose memory
    settings are sized to the trial's budget at every launch and recorded in `runtime.json`.

    The working directory is how btb tells this engine's processes from a recycled pid or another trial's
    server of the same kind; the shared launch steps (budget and tuning of a launch, the record of how the
    running server was configured) live here so that every such engine resolves them the same way.
    """

    log_name: ClassVar[str]  # the server's log file, in the work dir
    tuning_env: ClassVar[str]  # environment variable with the node's default tuning (after the engine option)

    def __init__(self, spec: EngineSpec, options: dict[str, Any] | None = None):
        super().__init__(spec, options)
        self.work = Path(spec.work)
        self.data_dir = self.work / "data"
        self.log = self.work / self.log_name
        self.runtime = self.work / "runtime.json"  # how the running server was configured (budget, tuning, …)
        self.host = "127.0.0.1"

    @classmethod
    @abstractmethod
    def is_server(cls, process_name: str) -> bool:
        """Whether a process of this name can be this engine's server (its cwd decides whose it is)."""

    def launch_budget(self, slot: CgroupSlot | None, budget: int | None | str,
                      tuning: str | None) -> tuple[int | None, str]:
        """(budget bytes or None = unlimited, tuning) of a launch: budget "slot" is the limit the trial's cgroup
        applies (None where none can be); tuning defaults to the engine option, $<tuning_env>, else "scaled"."""
        if isinstance(budget, str):
            budget = slot.applied_limit if slot is not None else None
        return budget, tuning or self.options.get("tuning") or os.environ.get(self.tuning_env) or "scaled"

    def _write_runtime(self, info: dict[str, Any]) -> None:
        write_json(self.runtime, info)

    def _runtime(self) -> dict[str, Any]:
        return read_json(self.runtime) or {}

    def _procs(self) -> list[int]:
        """Every process of this server (main process, workers, orphans of a killed one): they all run with
        the data dir as working directory."""
        import psutil

        want = str(self.data_dir.resolve()) if self.data_dir.exists() else str(self.data_dir)
        out = []
        for p in psutil.process_iter(["pid", "name"]):
            try:
                if p.info["name"] and self.is_server(p.info["name"]) and p.cwd() == want:
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

    def kill(self) -> None:
        kill_processes(self._procs)

    def log_file(self) -> Path | None:
        return self.log
