"""What every monitor source produces (`Sample`) and what it watches (`Target`).

Sources keep their files open and re-read them with `os.pread`, so a sample costs a few syscalls and no
subprocess: the monitor must stay far below 1 % of a core at 10 Hz.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

# How the sample's mem_peak_bytes relates to time (see attribution):
#   "interval"   - kernel peak since the previous sample (the source resets it after each read)
#   "cumulative" - kernel peak since the cgroup was made (cannot be reset here)
#   "none"       - no kernel peak; only the sampled values exist
PeakScope = Literal["interval", "cumulative", "none"]


@dataclass(frozen=True)
class Target:
    """One engine to watch: its cgroup dir (memory dir on v1), main pids, Docker container."""

    name: str
    cgroup: str | None = None
    pids: tuple[int, ...] = ()
    container: str | None = None

    @classmethod
    def from_endpoint(cls, name: str, endpoint: Any) -> Target:
        """Anything endpoint-like (btb.engines.base.Endpoint) with pids / cgroup / container."""
        return cls(name, getattr(endpoint, "cgroup", None), tuple(getattr(endpoint, "pids", ()) or ()),
                   getattr(endpoint, "container", None))


@dataclass
class Sample:
    t: float  # wall clock, epoch seconds (phase windows are recorded in the same clock)
    source: str
    mem_bytes: int | None = None  # total charged memory (cgroups: page cache included)
    mem_peak_bytes: int | None = None  # kernel peak, see peak_scope
    peak_scope: PeakScope = "none"
    anon_bytes: int | None = None
    file_bytes: int | None = None
    shmem_bytes: int | None = None
    cpu_s: float | None = None  # cumulative CPU seconds
    io_read_bytes: int | None = None  # cumulative
    io_write_bytes: int | None = None  # cumulative
    oom_kills: int | None = None  # cumulative oom_kill count of the cgroup
    mem_limit_bytes: int | None = None
    # PSI totals, cumulative microseconds stalled ("some" = at least one task, "full" = all tasks)
    psi_mem_some_us: int | None = None
    psi_mem_full_us: int | None = None
    psi_cpu_some_us: int | None = None
    psi_io_some_us: int | None = None
    psi_io_full_us: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SourceUnavailable(RuntimeError):
    """This source cannot watch this target here; the message says why (it goes into the record)."""


class Source(ABC):
    name: str = "?"

    @abstractmethod
    def read(self, t: float) -> Sample: ...

    def close(self) -> None:
        """Release open files / clients."""


class PFile:
    """A file kept open and re-read from offset 0 (cgroup files regenerate on every read)."""

    __slots__ = ("path", "fd")

    def __init__(self, path: str, writable: bool = False):
        self.path = path
        self.fd = -1
        if writable:
            try:
                self.fd = os.open(path, os.O_RDWR)
            except OSError:
                self.fd = -1
        if self.fd < 0:
            self.fd = os.open(path, os.O_RDONLY)  # raises FileNotFoundError: caller decides

    def read(self) -> bytes:
        return os.pread(self.fd, 65536, 0)

    def as_int(self) -> int | None:
        raw = self.read().strip()
        return None if raw in (b"max", b"") else int(raw)

    def keyed(self) -> dict[bytes, int]:
        out: dict[bytes, int] = {}
        for line in self.read().splitlines():
            k, _, v = line.partition(b" ")
            try:
                out[k] = int(v)
            except ValueError:
                pass
        return out

    def write(self, data: bytes) -> bool:
        try:
            os.pwrite(self.fd, data, 0)
            return True
        except OSError:
            return False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_optional(path: str, writable: bool = False) -> PFile | None:
    try:
        return PFile(path, writable)
    except OSError:
        return None


def psi_totals(f: PFile | None) -> tuple[int | None, int | None]:
    """(some total_us, full total_us) from a *.pressure file."""
    if f is None:
        return None, None
    some = full = None
    for line in f.read().splitlines():
        parts = line.split()
        if not parts:
            continue
        total = next((int(p[6:]) for p in parts if p.startswith(b"total=")), None)
        if parts[0] == b"some":
            some = total
        elif parts[0] == b"full":
            full = total
    return some, full


def close_all(files) -> None:
    for f in files:
        if f is not None:
            f.close()
