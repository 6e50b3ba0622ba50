"""The budget of a Docker trial and what the kernel says of it: the per-trial parent cgroup that every
container of the trial is created under (cgroupfs driver), or else a stated equal split; each container's
own memory cgroup and its oom_kill counter. Plain cgroup files, no Docker client: the provider asks Docker,
this module reads the kernel."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from btb.cgroups import CGROUP_ROOT, UNLIMITED_V1, v2_mount
from btb.cgroups.files import keyed, read_int, write

PARENT_DIR = "btb-docker"  # per-trial parent cgroups live under <hierarchy>/btb-docker/<slot>


class ParentCgroup:
    """The per-trial parent cgroup every container of the trial is created under (cgroupfs driver)."""

    def __init__(self, version: str, name: str):
        self.version, self.name = version, name
        self.rel = f"/{PARENT_DIR}/{name}"  # HostConfig.CgroupParent

    @property
    def memory_dir(self) -> Path:
        if self.version == "1":
            return CGROUP_ROOT / "memory" / PARENT_DIR / self.name
        return (v2_mount() or Path("/sys/fs/cgroup")) / PARENT_DIR / self.name

    def dirs(self) -> list[Path]:
        """Every directory of it (v1: one per hierarchy, Docker/runc makes them beside the memory one)."""
        if self.version != "1":
            return [self.memory_dir]
        return [d / PARENT_DIR / self.name for d in sorted(CGROUP_ROOT.iterdir()) if (d / PARENT_DIR).is_dir()]

    def create(self, budget: int | None) -> int | None:
        d = self.memory_dir
        if self.version == "2":  # the memory controller must be enabled down to our dir
            root = d.parent.parent
            d.parent.mkdir(exist_ok=True)
            for p in (root, d.parent):
                write(p / "cgroup.subtree_control", "+memory")
        d.mkdir(parents=True, exist_ok=True)
        if budget:
            if self.version == "1":
                # memsw >= memory at every moment: raise memsw first when it grows, lower memory first when it shrinks
                for f in ("memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
                    if (d / f).exists():
                        write(d / f, str(budget))
            else:
                write(d / "memory.max", str(budget))
                if (d / "memory.swap.max").exists():
                    write(d / "memory.swap.max", "0")
        return self.read_limit()

    def read_limit(self) -> int | None:
        v = read_int(self.memory_dir / ("memory.limit_in_bytes" if self.version == "1" else "memory.max"))
        return v if v is not None and v < UNLIMITED_V1 else None

    def swap_limited(self) -> bool:
        d = self.memory_dir
        return (d / "memory.memsw.limit_in_bytes").exists() if self.version == "1" else (d / "memory.swap.max").exists()

    def container_dir(self, cid: str) -> Path:
        return self.memory_dir / cid

    def remove(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        for d in sorted(self.dirs(), key=lambda p: -len(p.parts)):
            while d.is_dir():
                try:
                    for child in sorted((c for c in d.iterdir() if c.is_dir()), key=lambda p: -len(p.parts)):
                        child.rmdir()  # a container's dir left behind by a killed runc
                    d.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


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
    if pid:
        try:
            for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
                _, ctrls, rel = line.split(":", 2)
                if "memory" in ctrls.split(","):
                    return str(CGROUP_ROOT / "memory" / rel.lstrip("/"))
                if ctrls == "" and version == "2":
                    return str((v2_mount() or Path("/sys/fs/cgroup")) / rel.lstrip("/"))
        except (OSError, ValueError):
            pass
    return str(parent.container_dir(c.id)) if parent else None


def oom_kill_count(cgroup_dir: str | None, version: str) -> int | None:
    """The kernel's oom_kill count of a memory cgroup (None: not readable here)."""
    if not cgroup_dir:
        return None
    f = Path(cgroup_dir) / ("memory.oom_control" if version == "1" else "memory.events")
    try:
        return keyed(f).get("oom_kill") if f.exists() else None
    except OSError:
        return None
