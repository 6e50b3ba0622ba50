"""btb's own memory while it works: the resident set of this process alone, sampled by a daemon thread.

Issue 27 bounds it (≤ 1 GiB whatever the dataset), so every trial and `btb validate` record it. The engines,
DuckDB's host and client processes are children of btb but are not btb's memory: they are measured as what they
are (the monitor, by cgroup), so this reads the RSS of this process (psutil: /proc/self/statm), never a tree. ru_maxrss is no substitute: it is the peak of the process's whole life, and a worker lives for many trials.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading

import psutil


def rss_bytes() -> int | None:
    """This process's resident set now (None where the OS does not say). The process is looked up at each
    call: a Celery pool child forks after import, and a Process made then would name its parent."""
    try:
        return psutil.Process().memory_info().rss
    except psutil.Error:
        return None


def _libc():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lib if hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def give_back() -> None:
    """Return freed memory to the OS between two phases (never inside a timed window). glibc keeps what a
    phase freed in its per-thread arenas: after a trial whose 16 client threads decoded FalkorDB's chunks,
    the worker held 1.9 GB it no longer used, and every later trial started from there; malloc_trim(0)
    gave 455 MiB back to 283 MiB by hand (F1 Q7 on small-1w). Elsewhere (no glibc) only the collector runs.
    Best effort: it runs on the paths that close a trial, so nothing it meets may keep the trial from ending."""
    try:
        gc.collect()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)
    except Exception:  # noqa: BLE001 - memory not returned is a larger RSS, never a lost trial
        pass


class OwnMemory:
    """`with OwnMemory() as m:` … `m.peak_bytes`: the highest RSS seen, every `period_s` and at both ends."""

    def __init__(self, period_s: float = 0.25):
        self.period_s = period_s
        self.start_bytes: int | None = None
        self.end_bytes: int | None = None
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="btb-own-memory", daemon=True)

    def _see(self) -> int | None:
        now = rss_bytes()
        if now is not None and (self.peak_bytes is None or now > self.peak_bytes):
            self.peak_bytes = now
        return now

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self._see()

    def start(self) -> "OwnMemory":
        self.start_bytes = self._see()
        self._thread.start()
        return self

    def stop(self) -> "OwnMemory":
        self._stop.set()
        self._thread.join(timeout=5)
        self.end_bytes = self._see()
        return self

    def __enter__(self) -> "OwnMemory":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fields(self) -> dict[str, int | None]:
        """What a trial keeps of it (trials.json, ingest.csv)."""
        return {"btb_rss_peak_bytes": self.peak_bytes, "btb_rss_start_bytes": self.start_bytes,
                "btb_rss_end_bytes": self.end_bytes}
