"""cgroup v2 and v1 as two implementations of one interface (`CgroupBackend`, as in BenchExec), and
`CgroupSlot`: the child cgroup(s) a trial's engines start inside. On hybrid hosts (v1 controllers + a
v2 tree without memory, like this project's build machine) a v1 slot also joins a v2 child so that
pressure (PSI) and `cpu.stat` can be read there.
"""

from __future__ import annotations

import os
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from btb.cgroups.files import (CGROUP_ROOT, UNLIMITED_V1, fresh_dir, keyed, proc_cgroups, read_int, v2_mount,
                               write)


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
        dirs = {c: fresh_dir(p / name) for c, p in self.own_dirs().items()}
        slot = CgroupSlot(name, "v1", dirs)
        v2 = CgroupsV2()
        if (u := v2.own_dirs().get("unified")) is not None:  # hybrid host: PSI + cpu.stat live in v2
            try:
                dirs["unified"] = fresh_dir(u / name)
            except OSError:
                slot.notes.append("v2 child for pressure could not be made")
        md = dirs["memory"]
        if limit_bytes:
            lim, sw = md / "memory.limit_in_bytes", md / "memory.memsw.limit_in_bytes"
            # memsw must stay >= limit at every moment: when shrinking set limit first, when growing memsw first
            cur = read_int(lim) or 0
            order = [(lim, False), (sw, True)] if limit_bytes <= cur else [(sw, True), (lim, False)]
            slot.swap_limited = False
            for path, is_sw in order:
                if not path.exists():
                    continue
                ok = write(path, str(limit_bytes))
                if is_sw:
                    slot.swap_limited = ok
            if not sw.exists():
                slot.notes.append("memsw accounting off: swap is not limited (no-op if the host has no swap)")
            applied = read_int(lim)
            slot.applied_limit = applied if applied is not None and applied < UNLIMITED_V1 else None
            if slot.applied_limit is None:
                slot.notes.append("memory.limit_in_bytes could not be written")
        return slot

    def oom_kill_count(self, memory_dir: Path) -> int | None:
        return keyed(memory_dir / "memory.oom_control").get("oom_kill")

    def reset_peak(self, memory_dir: Path) -> bool:
        # writing 0 resets max_usage_in_bytes to the *current* usage (not to 0)
        return write(memory_dir / "memory.max_usage_in_bytes", "0")


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
        return write(parent / "cgroup.subtree_control", "+memory")

    def can_limit_memory(self) -> bool:
        p = self.own_dirs().get("unified")
        return p is not None and self._delegate_memory(p)

    def create(self, name: str, limit_bytes: int | None) -> CgroupSlot:
        parent = self.own_dirs()["unified"]
        self._delegate_memory(parent)
        for extra in ("+cpu", "+io"):  # best effort: cpu.stat usage exists even without the controller
            write(parent / "cgroup.subtree_control", extra)
        d = fresh_dir(parent / name)
        slot = CgroupSlot(name, "v2", {"unified": d})
        if limit_bytes and (d / "memory.max").exists():
            write(d / "memory.max", str(limit_bytes))
            # v2 counts swap separately: memory+swap == limit means swap.max 0
            slot.swap_limited = write(d / "memory.swap.max", "0") if (d / "memory.swap.max").exists() else False
            slot.applied_limit = read_int(d / "memory.max")
            if slot.applied_limit is None:
                slot.notes.append("memory.max could not be written")
        elif limit_bytes:
            slot.notes.append("v2 memory controller not delegated here: the budget is NOT enforced (unlimited)")
        return slot

    def oom_kill_count(self, memory_dir: Path) -> int | None:
        return keyed(memory_dir / "memory.events").get("oom_kill")

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

    def read_limit(self) -> int | None:
        """The memory limit in force now, read back from the kernel (None: unlimited or no memory dir)."""
        md = self.memory_dir
        if md is None:
            return None
        v = read_int(md / ("memory.limit_in_bytes" if self.version == "v1" else "memory.max"))
        return v if v is not None and v < UNLIMITED_V1 else None

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
        if u is not None and (u / "cgroup.kill").exists() and write(u / "cgroup.kill", "1"):
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
