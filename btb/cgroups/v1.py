"""cgroup v1: one directory per controller (`"memory"`, `"cpuacct"`, `"blkio"`) and, on hybrid hosts (v1
controllers + a v2 tree without memory, like this project's build machine), a v2 directory
(`"unified"`) joined as well so that pressure (PSI) can be read there.

`memory.max_usage_in_bytes` resets when 0 is written (to the *current* usage, not to 0), for every
reader. blkio sees reads, but buffered writes are charged to the kernel flusher, so written bytes are
under-reported: `gaps()` says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from btb.cgroups.cgroup import Cgroup, LimitOutcome, MemoryStat
from btb.cgroups.files import CGROUP_ROOT, UNLIMITED_V1, fresh_dir, proc_cgroups, read_int, v2_mount, write
from btb.cgroups.v2 import CgroupV2

CONTROLLERS = ("memory", "cpuacct", "blkio")


class CgroupV1(Cgroup):
    version = "v1"
    MEMORY_KEY = "memory"
    CURRENT = "memory.usage_in_bytes"
    PEAK = "memory.max_usage_in_bytes"
    PEAK_RESET = b"0"
    LIMIT = "memory.limit_in_bytes"
    STAT = "memory.stat"
    OOM = "memory.oom_control"
    SWAP_LIMIT = "memory.memsw.limit_in_bytes"
    NOT_THIS = "not a v1 memory cgroup"

    @classmethod
    def own_dirs(cls) -> dict[str, Path]:
        mine = proc_cgroups()
        out: dict[str, Path] = {}
        for c in CONTROLLERS:
            if c in mine:
                d = CGROUP_ROOT / c / mine[c].lstrip("/")
                if d.is_dir() and os.access(d, os.W_OK):
                    out[c] = d
        return out

    @classmethod
    def own(cls) -> CgroupV1 | None:
        dirs = cls.own_dirs()
        if not dirs:
            return None
        if (u := CgroupV2.own_dirs().get("unified")) is not None:  # hybrid host: PSI + cpu.stat live in v2
            dirs["unified"] = u
        return cls(dirs)

    @classmethod
    def dirs_of(cls, memory_dir: Path, pids: tuple[int, ...]) -> dict[str, Path]:
        return {"memory": memory_dir, **{k: Path(v) for k, v in sibling_dirs(str(memory_dir), pids).items()}}

    def can_limit_memory(self) -> bool:
        d = self.dirs.get("memory")
        return d is not None and (d / "memory.limit_in_bytes").exists()

    def create_child(self, name: str) -> CgroupV1:
        dirs: dict[str, Path] = {}
        notes: list[str] = []
        for key, parent in self.dirs.items():
            if key != "unified":
                dirs[key] = fresh_dir(parent / name)
                continue
            try:
                dirs[key] = fresh_dir(parent / name)
            except OSError:
                notes.append("v2 child for pressure could not be made")
        return CgroupV1(dirs, notes)

    def set_memory_limit(self, limit_bytes: int) -> LimitOutcome:
        md = self.dirs["memory"]
        lim, sw = md / "memory.limit_in_bytes", md / "memory.memsw.limit_in_bytes"
        # memsw must stay >= limit at every moment: when shrinking set limit first, when growing memsw first
        cur = read_int(lim) or 0
        order = [(lim, False), (sw, True)] if limit_bytes <= cur else [(sw, True), (lim, False)]
        swap_limited = False
        for path, is_sw in order:
            if not path.exists():
                continue
            ok = write(path, str(limit_bytes))
            if is_sw:
                swap_limited = ok
        notes = []
        if not sw.exists():
            notes.append("memsw accounting off: swap is not limited (no-op if the host has no swap)")
        applied = read_int(lim)
        applied = applied if applied is not None and applied < UNLIMITED_V1 else None
        if applied is None:
            notes.append("memory.limit_in_bytes could not be written")
        return LimitOutcome(applied, swap_limited, tuple(notes))

    def memory_stat(self) -> MemoryStat | None:
        f = self._memory_file(self.STAT)
        if f is None:
            return None
        st = f.keyed()
        # total_* are hierarchical (include sub-cgroups); v1 "cache" includes shmem
        return MemoryStat(st.get(b"total_rss", st.get(b"rss")), st.get(b"total_cache", st.get(b"cache")),
                          st.get(b"total_shmem", st.get(b"shmem")))

    def cpu_seconds(self) -> float | None:
        f = self._file("cpuacct", "cpuacct.usage")
        ns = f.as_int() if f is not None else None
        return ns / 1e9 if ns is not None else None

    def io_bytes(self) -> tuple[int, int] | None:
        f = self._file("blkio", "blkio.throttle.io_service_bytes")
        return parse_blkio(f.read()) if f is not None else None

    def io_accounted(self) -> bool:
        """False when the blkio hierarchy's root has counted nothing (`Total 0` at the top of a running
        host): this host's block layer does not account IO per cgroup (seen on a Firecracker VM's virtio
        disk), so every cgroup's counters stay 0 whatever it reads."""
        d = self.dirs.get("blkio")
        if d is None:
            return False
        top = None
        for a in [Path(d), *Path(d).parents]:
            if (a / "blkio.throttle.io_service_bytes").is_file():
                top = a
        try:
            return top is not None and sum(parse_blkio((top / "blkio.throttle.io_service_bytes").read_bytes())) > 0
        except OSError:
            return False

    def gaps(self) -> dict[str, str]:
        out = {"io_write": "v1 blkio: buffered writes are charged to the flusher (under-reported)"}
        if self._file("cpuacct", "cpuacct.usage") is None:
            out["cpu"] = "no dedicated cpuacct cgroup found for this target"
        return out


def sibling_dirs(memory_dir: str, pids: tuple[int, ...] = ()) -> dict[str, str]:
    """cpuacct / blkio / unified dirs that belong to the same engine as `memory_dir`.

    A dir is only accepted when it is neither a hierarchy root nor this process's own cgroup: reading
    those would count the whole host or the monitor itself.
    """
    mine = proc_cgroups()
    roots = {"cpuacct": CGROUP_ROOT / "cpuacct", "blkio": CGROUP_ROOT / "blkio"}
    if (m := v2_mount()) is not None:
        roots["unified"] = m
    out: dict[str, str] = {}
    for key, root in roots.items():
        ctrl = "" if key == "unified" else key
        for c in _sibling_candidates(memory_dir, pids, key, root):
            if c.is_dir() and c != root and (ctrl not in mine or c != root / mine[ctrl].lstrip("/")):
                out[key] = str(c)
                break
    return out


def _sibling_candidates(memory_dir: str, pids: tuple[int, ...], key: str, root: Path) -> list[Path]:
    """Where the `key` sibling of `memory_dir` may be, most likely first."""
    ctrl = "" if key == "unified" else key
    candidates: list[Path] = []
    # the same path in the other hierarchy: how cgroupfs managers (Docker's parent cgroups, runc) lay
    # them out; first, because an engine's pid sits *below* a parent target (its container's cgroup)
    try:
        rel = Path(memory_dir).relative_to(CGROUP_ROOT / "memory")
        if key != "unified" and str(rel) != ".":
            candidates.append(root / rel)
    except ValueError:
        pass
    for pid in pids:
        rel_s = proc_cgroups(pid).get(ctrl)
        if rel_s is not None:
            candidates.append(root / rel_s.lstrip("/"))
            break
    own = (CgroupV2 if key == "unified" else CgroupV1).own_dirs().get(key)
    if own is not None:  # the slot name `create_slot` uses in every hierarchy
        candidates.append(own / Path(memory_dir).name)
    return candidates


def parse_blkio(raw: bytes) -> tuple[int, int]:
    """Sum 'MAJ:MIN Read N' / 'MAJ:MIN Write N' lines over devices."""
    r = w = 0
    for line in raw.splitlines():
        parts = line.split()
        if len(parts) == 3:
            if parts[1] == b"Read":
                r += int(parts[2])
            elif parts[1] == b"Write":
                w += int(parts[2])
    return r, w
