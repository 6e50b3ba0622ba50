"""psutil fallback: sum over a pid and all its descendants.

Honest limits, recorded in `notes`: summed RSS counts shared memory (PostgreSQL shared_buffers) once per
process that touched it, so it over-states; there is no kernel peak; CPU and IO are sums over the
processes alive now plus the reaped children of the roots, so they can drop when a child exits.
"""

from __future__ import annotations

import psutil

from btb.monitor.sources.base import Sample, Source, SourceUnavailable


class PsutilTreeSource(Source):
    name = "psutil"

    def __init__(self, pids: tuple[int, ...], uss: bool = False):
        if not pids:
            raise SourceUnavailable("no pids to follow")
        self.roots: list[psutil.Process] = []
        for p in pids:
            try:
                self.roots.append(psutil.Process(p))
            except psutil.Error:
                pass
        if not self.roots:
            raise SourceUnavailable(f"none of the pids {pids} is alive")
        self.uss = uss  # USS reads smaps of every process: precise but ~100x dearer
        self._cache: dict[int, psutil.Process] = {r.pid: r for r in self.roots}
        self.notes = {"mem": "sum of RSS over the process tree (shared memory counted per process)",
                      "peak": "no kernel peak: max of samples"}

    def _tree(self) -> list[psutil.Process]:
        procs: dict[int, psutil.Process] = {}
        for r in self.roots:
            try:
                if not r.is_running():
                    continue
                procs[r.pid] = r
                for c in r.children(recursive=True):
                    procs[c.pid] = self._cache.setdefault(c.pid, c)  # keep objects: cpu_times stay cheap
            except psutil.Error:
                pass
        self._cache = {pid: p for pid, p in self._cache.items() if pid in procs}
        return list(procs.values())

    def read(self, t: float) -> Sample:
        rss = shared = uss = 0
        cpu = 0.0
        rd = wr = 0
        n = 0
        for p in self._tree():
            try:
                with p.oneshot():
                    mi = p.memory_info()
                    ct = p.cpu_times()
                    rss += mi.rss
                    shared += getattr(mi, "shared", 0)
                    cpu += ct.user + ct.system
                    if p in self.roots:
                        cpu += ct.children_user + ct.children_system
                    try:
                        io = p.io_counters()
                        rd += io.read_bytes
                        wr += io.write_bytes
                    except (psutil.AccessDenied, AttributeError):
                        pass
                    if self.uss:
                        uss += p.memory_full_info().uss
                n += 1
            except psutil.Error:
                continue
        s = Sample(t=t, source=self.name, mem_bytes=rss if n else None, anon_bytes=max(rss - shared, 0) if n else None,
                   cpu_s=cpu if n else None, io_read_bytes=rd if n else None, io_write_bytes=wr if n else None,
                   extra={"processes": n})
        if self.uss:
            s.extra["uss_bytes"] = uss
        return s
