"""cgroup v2: one directory per cgroup (`"unified"`) with memory.current/peak/max/stat/events, cpu.stat,
io.stat and PSI.

`memory.peak` resets (Linux >= 6.12) only for the file descriptor that wrote "reset" to it: the handle
keeps that descriptor, so after `reset_peak()` its `memory_peak()` covers exactly the time since. On
older kernels the write fails and the peak stays cumulative.
"""

from __future__ import annotations

import os
from pathlib import Path

from btb.cgroups.cgroup import Cgroup, LimitOutcome, MemoryStat
from btb.cgroups.files import fresh_dir, proc_cgroups, read_int, v2_mount, write


class CgroupV2(Cgroup):
    version = "v2"
    MEMORY_KEY = "unified"
    CURRENT = "memory.current"
    PEAK = "memory.peak"
    PEAK_RESET = b"reset\n"
    LIMIT = "memory.max"
    STAT = "memory.stat"
    OOM = "memory.events"
    SWAP_LIMIT = "memory.swap.max"
    NOT_THIS = "not a v2 cgroup with the memory controller"

    @classmethod
    def own_dirs(cls) -> dict[str, Path]:
        mnt, rel = v2_mount(), proc_cgroups().get("")
        if mnt is None or rel is None:
            return {}
        d = mnt / rel.lstrip("/")
        return {"unified": d} if d.is_dir() and os.access(d, os.W_OK) else {}

    @staticmethod
    def _delegate_memory(parent: Path) -> bool:
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
        p = self.dirs.get("unified")
        return p is not None and self._delegate_memory(p)

    def create_child(self, name: str) -> CgroupV2:
        parent = self.dirs["unified"]
        self._delegate_memory(parent)
        for extra in ("+cpu", "+io"):  # best effort: cpu.stat usage exists even without the controller
            write(parent / "cgroup.subtree_control", extra)
        return CgroupV2({"unified": fresh_dir(parent / name)})

    def set_memory_limit(self, limit_bytes: int) -> LimitOutcome:
        d = self.dirs["unified"]
        if not (d / "memory.max").exists():
            return LimitOutcome(None, None, ("v2 memory controller not delegated here: the budget is NOT "
                                             "enforced (unlimited)",))
        write(d / "memory.max", str(limit_bytes))
        # v2 counts swap separately: memory+swap == limit means swap.max 0
        swap_limited = write(d / "memory.swap.max", "0") if (d / "memory.swap.max").exists() else False
        applied = read_int(d / "memory.max")
        return LimitOutcome(applied, swap_limited, () if applied is not None else ("memory.max could not be written",))

    def memory_stat(self) -> MemoryStat | None:
        f = self._memory_file(self.STAT)
        if f is None:
            return None
        st = f.keyed()
        return MemoryStat(st.get(b"anon"), st.get(b"file"), st.get(b"shmem"))

    def cpu_seconds(self) -> float | None:
        f = self._file("unified", "cpu.stat")
        usec = f.keyed().get(b"usage_usec") if f is not None else None
        return usec / 1e6 if usec is not None else None

    def io_bytes(self) -> tuple[int, int] | None:
        f = self._file("unified", "io.stat")
        return parse_io_stat(f.read()) if f is not None else None


def parse_io_stat(raw: bytes) -> tuple[int, int]:
    """Sum rbytes/wbytes over devices ('8:0 rbytes=.. wbytes=.. rios=..' lines)."""
    r = w = 0
    for line in raw.splitlines():
        for kv in line.split()[1:]:
            if kv.startswith(b"rbytes="):
                r += int(kv[7:])
            elif kv.startswith(b"wbytes="):
                w += int(kv[7:])
    return r, w
