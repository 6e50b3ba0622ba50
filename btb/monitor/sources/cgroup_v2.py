"""cgroup v2 source: memory.current/peak/stat/events, cpu.stat, io.stat, PSI.

`memory.peak` can be reset (Linux >= 6.12) only for the file descriptor that wrote to it; this source
writes through its own open fd after every read, so each sample's peak covers exactly the interval since
the previous sample ("interval" scope). On older kernels the write fails and the peak stays cumulative.
"""

from __future__ import annotations

import os

from btb.monitor.sources.base import PFile, Sample, Source, SourceUnavailable, close_all, open_optional, psi_totals


class CgroupV2Source(Source):
    name = "cgroup_v2"

    def __init__(self, cgroup_dir: str, reset_peak: bool = True):
        d = cgroup_dir.rstrip("/")
        if not os.path.exists(f"{d}/memory.current"):
            raise SourceUnavailable(f"{d}: no memory.current (not a v2 cgroup with the memory controller)")
        self.dir = d
        self.current = PFile(f"{d}/memory.current")
        self.peak = open_optional(f"{d}/memory.peak", writable=reset_peak)
        self.stat = open_optional(f"{d}/memory.stat")
        self.events = open_optional(f"{d}/memory.events")
        self.cpu = open_optional(f"{d}/cpu.stat")
        self.io = open_optional(f"{d}/io.stat")
        self.psi = {k: open_optional(f"{d}/{k}.pressure") for k in ("memory", "cpu", "io")}
        lim = open_optional(f"{d}/memory.max")
        self.limit = lim.as_int() if lim else None
        close_all([lim])
        self.resettable = bool(reset_peak and self.peak is not None and self.peak.write(b"reset\n"))

    def read(self, t: float) -> Sample:
        s = Sample(t=t, source=self.name, mem_bytes=self.current.as_int(), mem_limit_bytes=self.limit)
        if self.peak is not None:
            s.mem_peak_bytes = self.peak.as_int()
            s.peak_scope = "interval" if self.resettable else "cumulative"
            if self.resettable:
                self.peak.write(b"reset\n")
        if self.stat is not None:
            st = self.stat.keyed()
            s.anon_bytes, s.file_bytes, s.shmem_bytes = st.get(b"anon"), st.get(b"file"), st.get(b"shmem")
        if self.events is not None:
            s.oom_kills = self.events.keyed().get(b"oom_kill")
        if self.cpu is not None:
            usec = self.cpu.keyed().get(b"usage_usec")
            s.cpu_s = usec / 1e6 if usec is not None else None
        if self.io is not None:
            s.io_read_bytes, s.io_write_bytes = parse_io_stat(self.io.read())
        s.psi_mem_some_us, s.psi_mem_full_us = psi_totals(self.psi["memory"])
        s.psi_cpu_some_us, _ = psi_totals(self.psi["cpu"])
        s.psi_io_some_us, s.psi_io_full_us = psi_totals(self.psi["io"])
        return s

    def close(self) -> None:
        close_all([self.current, self.peak, self.stat, self.events, self.cpu, self.io, *self.psi.values()])


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


__all__ = ["CgroupV2Source", "parse_io_stat", "PFile"]
