"""The budget of a Docker trial and what the kernel says of it: the per-trial parent cgroup that every
container of the trial is created under (cgroupfs driver), or else a stated equal split; each container's
own memory cgroup and its oom_kill counter. Plain cgroup files, no Docker client: the provider asks Docker,
this module reads the kernel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from btb.cgroups import CGROUP_ROOT, Cgroup, CgroupUnavailable, CgroupV1, CgroupV2, proc_cgroups, v2_mount

PARENT_DIR = "btb-docker"  # per-trial parent cgroups live under <hierarchy>/btb-docker/<slot>


class ParentCgroup:
    """The per-trial parent cgroup every container of the trial is created under (cgroupfs driver): a
    `btb.cgroups` cgroup at <hierarchy root>/btb-docker/<name>, made and limited through that interface."""

    def __init__(self, version: str, name: str):
        self.version, self.name = version, name
        self.rel = f"/{PARENT_DIR}/{name}"  # HostConfig.CgroupParent

    def _root(self) -> Cgroup:
        """The hierarchy's root cgroup, where Docker's cgroupfs driver resolves CgroupParent."""
        if self.version == "1":
            return CgroupV1({"memory": CGROUP_ROOT / "memory"})
        return CgroupV2({"unified": v2_mount() or Path("/sys/fs/cgroup")})

    @property
    def memory_dir(self) -> Path:
        return self._root().memory_dir / PARENT_DIR / self.name

    def _cgroup(self, memory_dir: Path | None = None) -> Cgroup:
        cls = CgroupV1 if self.version == "1" else CgroupV2
        return cls({cls.MEMORY_KEY: memory_dir or self.memory_dir})

    def dirs(self) -> list[Path]:
        """Every directory of it (v1: one per hierarchy, Docker/runc makes them beside the memory one)."""
        if self.version != "1":
            return [self.memory_dir]
        return [d / PARENT_DIR / self.name for d in sorted(CGROUP_ROOT.iterdir()) if (d / PARENT_DIR).is_dir()]

    def create(self, budget: int | None) -> int | None:
        """Make it (a leftover empty one is made anew) and set the budget; the limit read back."""
        cg = self._root().create_child(PARENT_DIR).create_child(self.name)
        if budget:
            cg.set_memory_limit(budget)
        return self.read_limit()

    def read_limit(self) -> int | None:
        return self._cgroup().read_once(Cgroup.memory_limit)

    def swap_limited(self) -> bool:
        return self._cgroup().can_limit_swap()

    def container_dir(self, cid: str) -> Path:
        return self.memory_dir / cid

    def remove(self, timeout_s: float = 5.0) -> None:
        for d in sorted(self.dirs(), key=lambda p: -len(p.parts)):
            for child in sorted((c for c in d.iterdir() if c.is_dir()), key=lambda p: -len(p.parts)) \
                    if d.is_dir() else ():
                self._cgroup(child).remove(timeout_s)  # a container's dir left behind by a killed runc
            self._cgroup(d).remove(timeout_s)


def parent_of(state: dict) -> ParentCgroup | None:
    """The trial's parent cgroup as its state records it (None: split mode, or not made yet)."""
    p = state.get("parent")
    return ParentCgroup(p["version"], p["name"]) if p else None


def budget_mode(info: dict[str, Any]) -> tuple[str, str]:
    """("parent", why) when a per-trial parent cgroup can carry the budget; else ("split", why).
    `info`: the Docker engine's `info()`."""
    driver, version = info.get("CgroupDriver", "?"), str(info.get("CgroupVersion", "1"))
    if driver != "cgroupfs":
        return "split", (f"cgroup driver {driver}: no parent cgroup btb can size before the containers start; "
                         "a hybrid's budget is split in equal shares (stated per trial)")
    probe = CGROUP_ROOT / "memory" if version == "1" else (v2_mount() or Path("/sys/fs/cgroup"))
    if not os.access(probe, os.W_OK):
        return "split", f"{probe} not writable by btb: no per-trial parent cgroup; a hybrid's budget is split"
    return "parent", f"cgroupfs v{version}: a per-trial parent cgroup carries the budget"


def split(kinds: list[str], budget: int | None) -> dict[str, int]:
    """Equal shares of the budget, one per engine kind (split mode)."""
    if not budget:
        return {}
    share = budget // max(1, len(kinds))
    return {k: share for k in kinds}


def container_cgroup(c: Any, version: str, parent: ParentCgroup | None) -> str | None:
    """The container's own memory cgroup dir (from its main process, else from the parent's layout).
    `version`: the engine's CgroupVersion, as a string."""
    pid = c.attrs.get("State", {}).get("Pid")
    theirs = proc_cgroups(pid) if pid else {}
    if "memory" in theirs:
        return str(CGROUP_ROOT / "memory" / theirs["memory"].lstrip("/"))
    if "" in theirs and version == "2":
        return str((v2_mount() or Path("/sys/fs/cgroup")) / theirs[""].lstrip("/"))
    return str(parent.container_dir(c.id)) if parent else None


def oom_kill_count(cgroup_dir: str | None, version: str) -> int | None:
    """The kernel's oom_kill count of a memory cgroup (None: not readable here)."""
    if not cgroup_dir:
        return None
    cls = CgroupV1 if version == "1" else CgroupV2
    try:
        return cls.at(cgroup_dir).read_once(Cgroup.oom_kills)
    except CgroupUnavailable:
        return None
