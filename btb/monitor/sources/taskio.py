"""Read bytes of a cgroup's processes from the kernel's task IO accounting (`/proc/<pid>/io`), for hosts
whose blkio controller counts nothing (btb.cgroups.v1.CgroupV1.io_accounted).

`read_bytes` there is what a process caused to be fetched from the storage layer (page-cache hits are not
counted), per process, all its threads included. The figure here is cumulative over the processes ever
seen in the cgroup: a process that exits keeps the last value read from it, so the counter never falls
when a backend ends or an engine restarts (what it read after its last sample, at most one interval, is lost).
"""

from __future__ import annotations


def _proc_io(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"/proc/{pid}/io", "rb") as f:
            kv = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
        return int(kv[b"read_bytes"]), int(kv[b"write_bytes"])
    except (OSError, KeyError, ValueError):
        return None


class TaskIo:
    """Cumulative (read, write) bytes of every process seen in the cgroup."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[int, int]] = {}

    def read(self, pids: list[int]) -> tuple[int, int] | None:
        got = False
        for pid in pids:
            io = _proc_io(pid)
            if io is not None:
                prev = self._last.get(pid, (0, 0))
                self._last[pid] = (max(io[0], prev[0]), max(io[1], prev[1]))
                got = True
        if not got and not self._last:
            return None
        return sum(r for r, _ in self._last.values()), sum(w for _, w in self._last.values())
