"""Cgroups in one home, used by the engine providers (btb.infra) and the monitor (btb.monitor).

Processes must start inside their cgroup (on v1, charges do not follow a process moved later), so the
API hands out an argv prefix (`CgroupSlot.wrap`) rather than moving pids. Where no memory limit can be
set, the slot says so (`version == "none"`, `applied_limit is None`): results then read "unlimited",
never a silent pretend.

- `files`: reading/writing cgroup files, our own cgroups, the v2 mount;
- `backends`: cgroup v1 and v2 as two implementations of one interface, and `CgroupSlot`;
- here: `create_slot` (v2 when its memory controller can be delegated, else v1, else "none") and
  `capabilities` (what this host lets btb limit and read).
"""

from __future__ import annotations

from btb.cgroups.backends import BACKENDS, CgroupBackend, CgroupSlot, CgroupsV1, CgroupsV2
from btb.cgroups.files import CGROUP_ROOT, UNLIMITED_V1, proc_cgroups, v2_mount

__all__ = ["BACKENDS", "CGROUP_ROOT", "UNLIMITED_V1", "CgroupBackend", "CgroupSlot", "CgroupsV1", "CgroupsV2",
           "capabilities", "create_slot", "proc_cgroups", "v2_mount"]


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
