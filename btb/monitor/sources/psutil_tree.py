"""psutil fallback: sum over a pid and all its descendants.

Honest limits, recorded in `notes`: summed RSS counts shared memory (PostgreSQL shared_buffers) once per
process that touched it, so it over-states; there is no kernel peak; CPU and IO are sums over the
processes alive now plus the reaped children of the roots, so they can drop when a child exits.

Cost: finding descendants means reading /proc/*/stat for every process on the host, so the tree is
re-listed at most every `tree_refresh_s` (shared by all targets); in between, the known processes are
re-read. A process born in between is seen up to that much later.
"""

from __future__ import annotations

import os
import time

import psutil

from btb.monitor.sources.base import Sample, Source, SourceUnavailable


_ppid_cache: tuple[float, dict[int, list[int]]] = (-1e9, {})


def children_map(max_age_s: float) -> dict[int, list[int]]:
    """pid -> child pids for the whole host, cached for `max_age_s` across all sources."""
    global _ppid_cache
    now = time.monotonic()
    if now - _ppid_cache[0] < max_age_s:
        return _ppid_cache[1]
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        ppid = int(raw[raw.rfind(b")") + 2:].split(b" ", 2)[1])
        kids.setdefault(ppid, []).append(int(name))
    _ppid_cache = (now, kids)
    return kids


def descendants(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(kids.get(pid, ()))
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(kids.get(c, ()))
    return out


class PsutilTreeSource(Source):
    name = "psutil"

    def __init__(self, pids: tuple[int, ...], uss: bool = False, tree_refresh_s: float = 1.0):
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
        self.tree_refresh_s = tree_refresh_s
        self._cache: dict[int, psutil.Process] = {r.pid: r for r in self.roots}
        self._root_pids = {r.pid for r in self.roots}
        self.notes = {"mem": "sum of RSS over the process tree (shared memory counted per process)",
                      "peak": "no kernel peak: max of samples"}

    def _tree(self) -> list[psutil.Process]:
        kids = children_map(self.tree_refresh_s)
        procs: dict[int, psutil.Process] = {}
        for r in self.roots:
            if not r.is_running():
                continue
            procs[r.pid] = r
            for c in descendants(r.pid, kids):
                p = self._cache.get(c)
                if p is None:
                    try:
                        p = psutil.Process(c)  # keep objects: a pid reused later is detected by create time
                    except psutil.Error:
                        continue
                procs[c] = p
        self._cache = procs
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
                    if p.pid in self._root_pids:
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
