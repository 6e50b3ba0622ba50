"""Cgroups that local engines start *inside*, carrying the trial's memory budget.

Processes must start inside their cgroup (on v1, charges do not follow a process moved later), so the
API hands out an argv prefix (`CgroupSlot.wrap`) rather than moving pids. Where no cgroup can be made,
the slot says so (`version == "none"`, `applied_limit is None`): results then read "unlimited", never a
silent pretend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_v1_dir(controller: str) -> Path | None:
    """The cgroup v1 directory of this process for `controller`, if mounted and writable."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, rel = line.split(":", 2)
            if controller in ctrls.split(","):
                d = CGROUP_ROOT / controller / rel.lstrip("/")
                if d.is_dir() and os.access(d, os.W_OK):
                    return d
    except OSError:
        pass
    return None


@dataclass
class CgroupSlot:
    name: str
    version: str  # "v1", "v2" or "none"
    dirs: dict[str, Path] = field(default_factory=dict)  # controller -> directory (v2: {"unified": dir})
    applied_limit: int | None = None  # bytes actually written to the limit file; None = unlimited

    def wrap(self, argv: list[str]) -> list[str]:
        """argv prefix that joins the cgroup(s) and then execs the command."""
        if not self.dirs:
            return list(argv)
        procs = " ".join(f"{d}/cgroup.procs" for d in self.dirs.values())
        script = f'for f in {procs}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", script, "btb-cgroup-exec", *argv]

    @property
    def memory_dir(self) -> Path | None:
        return self.dirs.get("memory") or self.dirs.get("unified")

    def remove(self) -> None:
        for d in self.dirs.values():
            try:
                d.rmdir()
            except OSError:
                pass


def create_slot(name: str, limit_bytes: int | None) -> CgroupSlot:
    """Make (or reuse) child cgroups named `name` under this process's own cgroups, with the limit."""
    mem = _own_v1_dir("memory")
    if mem is None:
        return CgroupSlot(name, "none")
    dirs: dict[str, Path] = {}
    for controller in ("memory", "cpuacct", "blkio"):
        parent = _own_v1_dir(controller)
        if parent is None:
            continue
        d = parent / name
        d.mkdir(exist_ok=True)
        dirs[controller] = d
    slot = CgroupSlot(name, "v1", dirs)
    md = dirs["memory"]
    if limit_bytes:
        # memsw must stay >= limit: raise limit first when growing is not needed on a fresh dir
        (md / "memory.limit_in_bytes").write_text(str(limit_bytes))
        sw = md / "memory.memsw.limit_in_bytes"
        if sw.exists():
            try:
                sw.write_text(str(limit_bytes))
            except OSError:
                pass
        slot.applied_limit = int((md / "memory.limit_in_bytes").read_text())
    return slot
