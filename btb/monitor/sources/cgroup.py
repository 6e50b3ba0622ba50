"""cgroup source (v2 or v1): a thin adapter that reads one engine's cgroup through `btb.cgroups.Cgroup`
into a `Sample` (named `cgroup_v2` / `cgroup_v1` after the version).

When asked to (`reset_peak`), it resets the kernel peak after every read, so each sample's peak covers
exactly the interval since the previous one ("interval" scope); where the kernel refuses (v2 before
Linux 6.12, no write access) the peak stays cumulative and `resettable` is False: attribution then uses
the max of the samples and says so.
"""

from __future__ import annotations

from pathlib import Path

from btb.cgroups import Cgroup, CgroupUnavailable
from btb.monitor.sources.base import Sample, Source, SourceUnavailable
from btb.monitor.sources.taskio import TaskIo


class CgroupSource(Source):
    def __init__(self, cgroup: Cgroup, reset_peak: bool = True):
        self.cgroup = cgroup
        self.name = f"cgroup_{cgroup.version}"
        self.dir = str(cgroup.memory_dir)
        self.limit = cgroup.memory_limit()  # read once: a slot's limit is set before its engines start
        self.resettable = bool(reset_peak and cgroup.reset_peak())
        self.notes = cgroup.gaps()
        # v1 on a host whose block layer accounts nothing per cgroup: the processes' own IO accounting instead
        self.task_io = TaskIo() if getattr(cgroup, "io_accounted", lambda: True)() is False else None
        if self.task_io is not None:
            self.notes = {**self.notes, "io_read": "v1 blkio counts nothing on this host (its root's Total is 0): "
                          "read bytes from /proc/<pid>/io of the cgroup's processes (exited ones kept)"}

    @classmethod
    def open(cls, impl: type[Cgroup], path: str | Path, pids: tuple[int, ...] = (),
             reset_peak: bool = True) -> CgroupSource:
        """The source on the `impl` cgroup at `path`, or SourceUnavailable saying why not."""
        try:
            return cls(impl.at(path, pids), reset_peak)
        except CgroupUnavailable as e:
            raise SourceUnavailable(str(e)) from None

    def read(self, t: float) -> Sample:
        cg = self.cgroup
        s = Sample(t=t, source=self.name, mem_bytes=cg.memory_current(), mem_limit_bytes=self.limit)
        peak = cg.memory_peak()
        if peak is not None:
            s.mem_peak_bytes = peak
            s.peak_scope = "interval" if self.resettable else "cumulative"
            if self.resettable:
                cg.reset_peak()
        if (st := cg.memory_stat()) is not None:
            s.anon_bytes, s.file_bytes, s.shmem_bytes = st.anon, st.file, st.shmem
        s.oom_kills = cg.oom_kills()
        s.cpu_s = cg.cpu_seconds()
        if (io := cg.io_bytes() if self.task_io is None else self.task_io.read(cg.pids())) is not None:
            s.io_read_bytes, s.io_write_bytes = io
        p = cg.pressure()
        s.psi_mem_some_us, s.psi_mem_full_us = p.memory_some, p.memory_full
        s.psi_cpu_some_us = p.cpu_some
        s.psi_io_some_us, s.psi_io_full_us = p.io_some, p.io_full
        return s

    def close(self) -> None:
        self.cgroup.close()


__all__ = ["CgroupSource"]
