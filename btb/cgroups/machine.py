"""This machine's cgroups: which version btb limits memory with (chosen once per process), the slots it
makes, what the host allows (`capabilities`), and which cgroup holds a given process or path.
"""

from __future__ import annotations

import functools
from pathlib import Path

from btb.cgroups.cgroup import Cgroup, CgroupUnavailable
from btb.cgroups.files import CGROUP_ROOT, proc_cgroups, v2_mount
from btb.cgroups.slot import VERSIONS, CgroupSlot
from btb.cgroups.v1 import CgroupV1
from btb.cgroups.v2 import CgroupV2


@functools.cache
def limit_version() -> str:
    """The cgroup version btb limits memory with here: v2 when its memory controller can be delegated,
    else v1, else "none". Decided once: the host's cgroup setup does not change under a running btb."""
    for version, cls in VERSIONS.items():
        own = cls.own()
        if own is not None and own.can_limit_memory():
            return version
    return "none"


def create_slot(name: str, limit_bytes: int | None) -> CgroupSlot:
    """Make child cgroups named `name` under this process's own cgroups, carrying the limit; a "none"
    slot where no memory controller is writable (nothing limited or measured by cgroup; the monitor
    falls back to psutil)."""
    version = limit_version()
    parent = VERSIONS[version].own() if version in VERSIONS else None
    if parent is None:
        slot = CgroupSlot(name, "none")
        if limit_bytes:
            slot.notes.append("no cgroup memory controller is writable here: the budget is NOT enforced (unlimited)")
        return slot
    child = parent.create_child(name)
    slot = CgroupSlot(name, version, child.dirs, notes=list(child.notes))
    if limit_bytes:
        outcome = child.set_memory_limit(limit_bytes)
        slot.applied_limit, slot.swap_limited = outcome.applied, outcome.swap_limited
        slot.notes.extend(outcome.notes)
    return slot


def capabilities() -> dict[str, object]:
    """What this host lets btb limit and read, without creating anything (see btb.doctor for a real probe)."""
    v1_dirs, v2_dirs = CgroupV1.own_dirs(), CgroupV2.own_dirs()
    u = v2_dirs.get("unified")
    md = v1_dirs.get("memory")
    return {
        "limit_version": limit_version(),
        "v1_controllers": sorted(v1_dirs),
        "v2_mount": str(v2_mount()) if v2_mount() else None,
        "v2_controllers": (u / "cgroup.controllers").read_text().split() if u else [],
        "v2_pressure": bool(u and (u / "memory.pressure").exists()),
        "v1_swap_accounting": bool(md and (md / "memory.memsw.limit_in_bytes").exists()),
    }


def _dedicated(root: Path, rel: str | None, own_rel: str | None) -> Path | None:
    """The pid's cgroup dir, unless it is the hierarchy root or our own (that would not be the engine alone)."""
    if rel is None or rel in ("/", "") or rel == own_rel:
        return None
    d = root / rel.lstrip("/")
    return d if d.is_dir() else None


def cgroup_of_pids(pids: tuple[int, ...]) -> tuple[str | None, str | None]:
    """(v2 dir, v1 memory dir) that hold the first live pid, when dedicated to it."""
    mine = proc_cgroups()
    for pid in pids:
        theirs = proc_cgroups(pid)
        if not theirs:
            continue
        mnt = v2_mount()
        v2 = _dedicated(mnt, theirs.get(""), mine.get("")) if mnt else None
        v1 = _dedicated(CGROUP_ROOT / "memory", theirs.get("memory"), mine.get("memory"))
        return (str(v2) if v2 else None, str(v1) if v1 else None)
    return None, None


def cgroup_at(path: str | Path, pids: tuple[int, ...] = ()) -> Cgroup | None:
    """The cgroup whose memory files are in `path`, of whichever version they prove (None: neither)."""
    for cls in VERSIONS.values():
        try:
            return cls.at(path, pids)
        except CgroupUnavailable:
            continue
    return None


def cgroup_of(path: str | None, pids: tuple[int, ...]) -> Cgroup | None:
    """An engine's cgroup from its recorded path, else from its pids' dedicated cgroups (v2 first)."""
    if path:
        return cgroup_at(path, pids)
    for d in cgroup_of_pids(pids) if pids else ():
        if d and (cg := cgroup_at(d, pids)) is not None:
            return cg
    return None
