"""Cgroups that local engines start *inside*, carrying the trial's memory budget.

Processes must start inside their cgroup (on v1, charges do not follow a process moved later), so the
API hands out an argv prefix (`CgroupSlot.wrap`) rather than moving pids. Where no memory limit can be
set, the slot says so (`version == "none"`, `applied_limit is None`): results then read "unlimited",
never a silent pretend.

cgroup v2 and v1 are two implementations of one interface (`CgroupBackend`, as in BenchExec):
`create_slot` uses v2 when its memory controller can be delegated to a child, else v1. On hybrid hosts
(v1 controllers + a v2 tree without memory, like this project's build machine) a v1 slot also joins a
v2 child so that pressure (PSI) and `cpu.stat` can be read there.
"""

from __future__ import annotations

import os
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

CGROUP_ROOT = Path("/sys/fs/cgroup")
UNLIMITED_V1 = 1 << 62  # v1 reports "no limit" as a huge page-aligned number (9223372036854771712)


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def _read_int(path: Path) -> int | None:
    try:
        raw = path.read_text().strip()
    except OSError:
        return None
    if raw == "max":
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _keyed(path: Path) -> dict[str, int]:
    """Parse 'key value' files (memory.stat, memory.events, memory.oom_control)."""
    out: dict[str, int] = {}
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if v.strip().lstrip("-").isdigit():
                out[k] = int(v)
    except OSError:
        pass
    return out


def proc_cgroups(pid: int | str = "self") -> dict[str, str]:
    """controller -> path relative to its hierarchy root, from /proc/<pid>/cgroup ('' key = v2)."""
    out: dict[str, str] = {}
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, ctrls, rel = line.split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = rel
    except (OSError, ValueError):
        pass
    return out


def v2_mount() -> Path | None:
    """Where the cgroup2 hierarchy is mounted (/sys/fs/cgroup on pure v2, .../unified on hybrids)."""
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                return Path(parts[1])
    except OSError:
        pass
    return None


def _fresh_dir(d: Path) -> Path:
    """mkdir `d`; a leftover empty dir from an earlier run is recreated so its peak/OOM counters are new."""
    if d.is_dir():
        procs = (d / "cgroup.procs").read_text().split() if (d / "cgroup.procs").exists() else []
        if not procs:
            try:
                d.rmdir()
            except OSError:
                pass
    d.mkdir(exist_ok=True)
    return d


class CgroupBackend(ABC):
    """One cgroup version: where our own cgroup is, whether memory can be limited, how to read counters."""

    version: ClassVar[str]

    @abstractmethod
    def own_dirs(self) -> dict[str, Path]:
        """controller key -> this process's own, writable cgroup dir (children are made there)."""

    @abstractmethod
    def can_limit_memory(self) -> bool: ...

    @abstractmethod
    def create(self, name: str, limit_bytes: int | None) -> CgroupSlot: ...

    @abstractmethod
    def oom_kill_count(self, memory_dir: Path) -> int | None: ...

    @abstractmethod
    def reset_peak(self, memory_dir: Path) -> bool:
        """Reset the kernel's peak for readers that open the file afterwards (False: not possible)."""


class CgroupsV1(CgroupBackend):
    version = "v1"
    CONTROLLERS = ("memory", "cpuacct", "blkio")

    def own_dirs(self) -> dict[str, Path]:
        mine = proc_cgroups()
        out: dict[str, Path] = {}
        for c in self.CONTROLLERS:
            if c in mine:
                d = CGROUP_ROOT / c / mine[c].lstrip("/")
                if d.is_dir() and os.access(d, os.W_OK):
                    out[c] = d
        return out

    def can_limit_memory(self) -> bool:
        d = self.own_dirs().get("memory")
        return d is not None and (d / "memory.limit_in_bytes").exists()

    def create(self, name: str, limit_bytes: int | None) -> CgroupSlot:
        dirs = {c: _fresh_dir(p / name) for c, p in self.own_dirs().items()}
        slot = CgroupSlot(name, "v1", dirs)
        v2 = CgroupsV2()
        if (u := v2.own_dirs().get("unified")) is not None:  # hybrid host: PSI + cpu.stat live in v2
            try:
                dirs["unified"] = _fresh_dir(u / name)
            except OSError:
                slot.notes.append("v2 child for pressure could not be made")
        md = dirs["memory"]
        if limit_bytes:
            lim, sw = md / "memory.limit_in_bytes", md / "memory.memsw.limit_in_bytes"
            # memsw must stay >= limit at every moment: when shrinking set limit first, when growing memsw first
            cur = _read_int(lim) or 0
            order = [(lim, False), (sw, True)] if limit_bytes <= cur else [(sw, True), (lim, False)]
            slot.swap_limited = False
            for path, is_sw in order:
                if not path.exists():
                    continue
                ok = _write(path, str(limit_bytes))
                if is_sw:
                    slot.swap_limited = ok
            if not sw.exists():
                slot.notes.append("memsw accounting off: swap is not limited (no-op if the host has no swap)")
            applied = _read_int(lim)
            slot.applied_limit = applied if applied is not None and applied < UNLIMITED_V1 else None
            if slot.applied_limit is None:
                slot.notes.append("memory.limit_in_bytes could not be written")
        return slot

    def oom_kill_count(self, memory_dir: Path) -> int | None:
        return _keyed(memory_dir / "memory.oom_control").get("oom_kill")

    def reset_peak(self, memory_dir: Path) -> bool:
        # writing 0 resets max_usage_in_bytes to the *current* usage (not to 0)
        return _write(memory_dir / "memory.max_usage_in_bytes", "0")


class CgroupsV2(CgroupBackend):
    version = "v2"

    def own_dirs(self) -> dict[str, Path]:
        mnt, rel = v2_mount(), proc_cgroups().get("")
        if mnt is None or rel is None:
            return {}
        d = mnt / rel.lstrip("/")
        return {"unified": d} if d.is_dir() and os.access(d, os.W_OK) else {}

    def _delegate_memory(self, parent: Path) -> bool:
        """Make `memory` available to children. Fails (EBUSY) on a non-root cgroup holding processes."""
        try:
            avail = (parent / "cgroup.controllers").read_text().split()
            if "memory" not in avail:
                return False
            if "memory" in (parent / "cgroup.subtree_control").read_text().split():
                return True
        except OSError:
            return False
        return _write(parent / "cgroup.subtree_control", "+memory")

    def can_limit_memory(self) -> bool:
        p = self.own_dirs().get("unified")
        return p is not None and self._delegate_memory(p)

    def create(self, name: str, limit_bytes: int | None) -> CgroupSlot:
        parent = self.own_dirs()["unified"]
        self._delegate_memory(parent)
        for extra in ("+cpu", "+io"):  # best effort: cpu.stat usage exists even without the controller
            _write(parent / "cgroup.subtree_control", extra)
        d = _fresh_dir(parent / name)
        slot = CgroupSlot(name, "v2", {"unified": d})
        if limit_bytes and (d / "memory.max").exists():
            _write(d / "memory.max", str(limit_bytes))
            # v2 counts swap separately: memory+swap == limit means swap.max 0
            slot.swap_limited = _write(d / "memory.swap.max", "0") if (d / "memory.swap.max").exists() else False
            slot.applied_limit = _read_int(d / "memory.max")
            if slot.applied_limit is None:
                slot.notes.append("memory.max could not be written")
        elif limit_bytes:
            slot.notes.append("v2 memory controller not delegated here: the budget is NOT enforced (unlimited)")
        return slot

    def oom_kill_count(self, memory_dir: Path) -> int | None:
        return _keyed(memory_dir / "memory.events").get("oom_kill")

    def reset_peak(self, memory_dir: Path) -> bool:
        # memory.peak resets (Linux >= 6.12) only for the writing file descriptor: a slot-level reset is
        # meaningless; the cgroup_v2 source resets through its own open fd instead.
        return False


BACKENDS: dict[str, CgroupBackend] = {"v2": CgroupsV2(), "v1": CgroupsV1()}


@dataclass
class CgroupSlot:
    name: str
    version: str  # "v1", "v2" or "none"
    dirs: dict[str, Path] = field(default_factory=dict)  # controller -> directory (v2: {"unified": dir})
    applied_limit: int | None = None  # bytes actually read back from the limit file; None = unlimited
    swap_limited: bool | None = None  # None: no limit requested
    notes: list[str] = field(default_factory=list)

    def wrap(self, argv: list[str]) -> list[str]:
        """argv prefix that joins the cgroup(s) and then execs the command."""
        if not self.dirs:
            return list(argv)
        procs = " ".join(f"{d}/cgroup.procs" for d in self.dirs.values())
        script = f'for f in {procs}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", script, "btb-cgroup-exec", *argv]

    @property
    def memory_dir(self) -> Path | None:
        """Directory holding the memory files (v1 memory controller dir, or v2 dir with memory.current)."""
        if "memory" in self.dirs:
            return self.dirs["memory"]
        u = self.dirs.get("unified")
        return u if u is not None and self.version == "v2" else None

    @property
    def backend(self) -> CgroupBackend | None:
        return BACKENDS.get(self.version)

    def oom_kill_count(self) -> int | None:
        md, b = self.memory_dir, self.backend
        return b.oom_kill_count(md) if md and b else None

    def reset_peak(self) -> bool:
        md, b = self.memory_dir, self.backend
        return b.reset_peak(md) if md and b else False

    def pids(self) -> list[int]:
        seen: set[int] = set()
        for d in self.dirs.values():
            try:
                seen.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(seen)

    def kill(self) -> int:
        """SIGKILL everything inside (cleanup after an OOM or a failed stop); returns how many were signalled."""
        pids = self.pids()
        u = self.dirs.get("unified")
        if u is not None and (u / "cgroup.kill").exists() and _write(u / "cgroup.kill", "1"):
            return len(pids)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        return len(pids)

    def remove(self, timeout_s: float = 2.0) -> bool:
        """rmdir every directory; waits briefly for exiting processes. True when all are gone."""
        deadline = time.monotonic() + timeout_s
        pending = list(self.dirs.values())
        while pending:
            left = []
            for d in pending:
                try:
                    d.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(d)
            pending = left
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return not pending


def create_slot(name: str, limit_bytes: int | None) -> CgroupSlot:
    """Make child cgroups named `name` under this process's own cgroups, carrying the limit.

    v2 when its memory controller can be delegated, else v1, else a "none" slot (nothing limited or
    measured by cgroup; the monitor falls back to psutil).
    """
    for backend in BACKENDS.values():
        if backend.can_limit_memory():
            return backend.create(name, limit_bytes)
    slot = CgroupSlot(name, "none")
    if limit_bytes:
        slot.notes.append("no cgroup memory controller is writable here: the budget is NOT enforced (unlimited)")
    return slot


def capabilities() -> dict[str, object]:
    """What this host lets btb limit and read, without creating anything (see btb.doctor for a real probe)."""
    v1, v2 = BACKENDS["v1"], BACKENDS["v2"]
    v1_dirs, v2_dirs = v1.own_dirs(), v2.own_dirs()
    u = v2_dirs.get("unified")
    limit_version = next((b.version for b in BACKENDS.values() if b.can_limit_memory()), "none")
    md = v1_dirs.get("memory")
    return {
        "limit_version": limit_version,
        "v1_controllers": sorted(v1_dirs),
        "v2_mount": str(v2_mount()) if v2_mount() else None,
        "v2_controllers": (u / "cgroup.controllers").read_text().split() if u else [],
        "v2_pressure": bool(u and (u / "memory.pressure").exists()),
        "v1_swap_accounting": bool(md and (md / "memory.memsw.limit_in_bytes").exists()),
    }
