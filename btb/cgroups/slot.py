"""`CgroupSlot`: the cgroup a trial's engines start inside, as the provider records it (JSON in the
trial's state, so a restarted worker finds it again): its directories, the limit the kernel read back,
and notes on what could not be done. Version "none" (no directories) means nothing is limited or
measured by cgroup; results then read "unlimited", never a silent pretend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from btb.cgroups.cgroup import Cgroup
from btb.cgroups.v1 import CgroupV1
from btb.cgroups.v2 import CgroupV2

# the implementations by version, in the order btb prefers them (DESIGN §6: v2, then v1)
VERSIONS: dict[str, type[Cgroup]] = {"v2": CgroupV2, "v1": CgroupV1}


@dataclass
class CgroupSlot:
    name: str
    version: str  # "v1", "v2" or "none"
    dirs: dict[str, Path] = field(default_factory=dict)  # controller -> directory (v2: {"unified": dir})
    applied_limit: int | None = None  # bytes actually read back from the limit file; None = unlimited
    swap_limited: bool | None = None  # None: no limit requested
    notes: list[str] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "applied_limit": self.applied_limit,
                "swap_limited": self.swap_limited, "notes": self.notes,
                "dirs": {k: str(v) for k, v in self.dirs.items()}}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> CgroupSlot:
        return cls(s["name"], s["version"], {k: Path(v) for k, v in s["dirs"].items()},
                   applied_limit=s.get("applied_limit"), swap_limited=s.get("swap_limited"),
                   notes=list(s.get("notes", [])))

    def cgroup(self) -> Cgroup | None:
        """A handle on the slot's cgroup (None for "none"); close it, or use it in a `with`."""
        cls = VERSIONS.get(self.version)
        return cls(self.dirs) if cls is not None else None

    @property
    def memory_dir(self) -> Path | None:
        """Directory holding the memory files (v1 memory controller dir, or v2 dir with memory.current):
        what the monitor is pointed at."""
        cg = self.cgroup()
        return cg.memory_dir if cg is not None else None

    def wrap(self, argv: list[str]) -> list[str]:
        """argv prefix that joins the cgroup(s) and then execs the command."""
        cg = self.cgroup()
        return cg.wrap(argv) if cg is not None else list(argv)

    def read_limit(self) -> int | None:
        """The memory limit in force now, read back from the kernel (None: unlimited or no memory dir)."""
        cg = self.cgroup()
        return cg.read_once(lambda c: c.memory_limit()) if cg is not None else None

    def oom_kill_count(self) -> int | None:
        cg = self.cgroup()
        return cg.read_once(lambda c: c.oom_kills()) if cg is not None else None

    def pids(self) -> list[int]:
        cg = self.cgroup()
        return cg.pids() if cg is not None else []

    def kill(self) -> int:
        """SIGKILL everything inside (cleanup after an OOM or a failed stop); returns how many were signalled."""
        cg = self.cgroup()
        return cg.kill() if cg is not None else 0

    def remove(self, timeout_s: float = 2.0) -> bool:
        """rmdir every directory; waits briefly for exiting processes. True when all are gone."""
        cg = self.cgroup()
        return cg.remove(timeout_s) if cg is not None else True
