"""What every monitor source produces (`Sample`) and what it watches (`Target`).

A source is chosen once per target and keeps what it reads open (cgroup files are re-read with
`os.pread`), so a sample costs a few syscalls and no subprocess: the monitor must stay far below 1 % of
a core at 10 Hz.
"""

from __future__ import annotations

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
    resettable: bool = False  # the kernel peak is reset after each read ("interval" peaks)
    notes: dict[str, str] = {}  # what this source measures poorly, by field (replaced per instance)
    skipped: list[str] = []  # why each earlier source was not taken (set by select_source)

    @abstractmethod
    def read(self, t: float) -> Sample: ...

    def close(self) -> None:
        """Release open files / clients."""
