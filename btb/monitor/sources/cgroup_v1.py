"""cgroup v1 source: memory (usage, max_usage, stat, oom_control), cpuacct.usage, blkio throttle bytes.

The memory dir is the target; its cpuacct/blkio siblings (and, on hybrid hosts, a v2 dir for PSI) are
found from the engine's pids or, failing that, by the slot name `create_slot` uses in every hierarchy.
`max_usage_in_bytes` is reset after each read (writing 0 resets it to the current usage), which makes
each sample's peak an interval peak. blkio on v1 sees reads, but buffered writes are charged to the
kernel flusher, so io_write_bytes under-reports: said in `extra`.
"""

from __future__ import annotations

import os
from pathlib import Path

from btb.cgroups import CGROUP_ROOT, BACKENDS, proc_cgroups, v2_mount
from btb.monitor.sources.base import PFile, Sample, Source, SourceUnavailable, close_all, open_optional, psi_totals


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
            rel = proc_cgroups(pid).get(ctrl)
            if rel is not None:
                candidates.append(root / rel.lstrip("/"))
                break
        own = BACKENDS["v2" if key == "unified" else "v1"].own_dirs().get(key)
        if own is not None:
            candidates.append(own / Path(memory_dir).name)
        for c in candidates:
            if c.is_dir() and c != root and (ctrl not in mine or c != root / mine[ctrl].lstrip("/")):
                out[key] = str(c)
                break
    return out


class CgroupV1Source(Source):
    name = "cgroup_v1"

    def __init__(self, memory_dir: str, pids: tuple[int, ...] = (), reset_peak: bool = True):
        d = memory_dir.rstrip("/")
        if not os.path.exists(f"{d}/memory.usage_in_bytes"):
            raise SourceUnavailable(f"{d}: no memory.usage_in_bytes (not a v1 memory cgroup)")
        self.dir = d
        self.siblings = sibling_dirs(d, pids)
        self.usage = PFile(f"{d}/memory.usage_in_bytes")
        self.peak = open_optional(f"{d}/memory.max_usage_in_bytes", writable=reset_peak)
        self.stat = open_optional(f"{d}/memory.stat")
        self.oom = open_optional(f"{d}/memory.oom_control")
        ca, bl, u = self.siblings.get("cpuacct"), self.siblings.get("blkio"), self.siblings.get("unified")
        self.cpu = open_optional(f"{ca}/cpuacct.usage") if ca else None
        self.blkio = open_optional(f"{bl}/blkio.throttle.io_service_bytes") if bl else None
        self.psi = {k: (open_optional(f"{u}/{k}.pressure") if u else None) for k in ("memory", "cpu", "io")}
        lim = open_optional(f"{d}/memory.limit_in_bytes")
        v = lim.as_int() if lim else None
        self.limit = v if v is not None and v < (1 << 62) else None
        close_all([lim])
        self.resettable = bool(reset_peak and self.peak is not None and self.peak.write(b"0"))
        self.notes = {"io_write": "v1 blkio: buffered writes are charged to the flusher (under-reported)"}
        if self.cpu is None:
            self.notes["cpu"] = "no dedicated cpuacct cgroup found for this target"

    def read(self, t: float) -> Sample:
        s = Sample(t=t, source=self.name, mem_bytes=self.usage.as_int(), mem_limit_bytes=self.limit)
        if self.peak is not None:
            s.mem_peak_bytes = self.peak.as_int()
            s.peak_scope = "interval" if self.resettable else "cumulative"
            if self.resettable:
                self.peak.write(b"0")
        if self.stat is not None:
            st = self.stat.keyed()
            # total_* are hierarchical (include sub-cgroups); v1 "cache" includes shmem
            s.anon_bytes = st.get(b"total_rss", st.get(b"rss"))
            s.file_bytes = st.get(b"total_cache", st.get(b"cache"))
            s.shmem_bytes = st.get(b"total_shmem", st.get(b"shmem"))
        if self.oom is not None:
            s.oom_kills = self.oom.keyed().get(b"oom_kill")
        if self.cpu is not None:
            s.cpu_s = self.cpu.as_int() / 1e9
        if self.blkio is not None:
            s.io_read_bytes, s.io_write_bytes = parse_blkio(self.blkio.read())
        s.psi_mem_some_us, s.psi_mem_full_us = psi_totals(self.psi["memory"])
        s.psi_cpu_some_us, _ = psi_totals(self.psi["cpu"])
        s.psi_io_some_us, s.psi_io_full_us = psi_totals(self.psi["io"])
        return s

    def close(self) -> None:
        close_all([self.usage, self.peak, self.stat, self.oom, self.cpu, self.blkio, *self.psi.values()])


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


__all__ = ["CgroupV1Source", "parse_blkio", "sibling_dirs", "PFile"]
