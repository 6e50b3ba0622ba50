"""`Cgroup`: one cgroup behind one interface, on BenchExec's model: implemented once per cgroup version
(`btb.cgroups.v1`, `btb.cgroups.v2`) and used for both jobs, limiting engines (the providers, through
`CgroupSlot`) and measuring them (the monitor's cgroup source reads through it, nothing else reads the
files again).

A cgroup is a set of directories by controller key: v2 has one (`"unified"`); v1 has one per controller
(`"memory"`, `"cpuacct"`, `"blkio"`) and, on hybrid hosts, a v2 directory (`"unified"`) where pressure
(PSI) can be read. What differs between the versions is the file names and formats (class attributes
and the few abstract readers); finding processes, killing and removing are shared here.

Readers keep their files open (`KeptFile`) until `close()`: a sample is a few `pread`s. They raise
`OSError` when the cgroup is gone (the monitor reopens on that); where a counter does not exist here
they return None.
"""

from __future__ import annotations

import os
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Mapping, Sequence, TypeVar

from btb.cgroups.files import UNLIMITED_V1, KeptFile, open_optional, write

C = TypeVar("C", bound="Cgroup")
T = TypeVar("T")


class CgroupUnavailable(RuntimeError):
    """No cgroup of this version at that place; the message says why (it goes into the record)."""


@dataclass(frozen=True)
class MemoryStat:
    """From memory.stat, bytes: anonymous memory, page cache, shared memory (v1: hierarchical totals)."""

    anon: int | None
    file: int | None
    shmem: int | None


@dataclass(frozen=True)
class Pressure:
    """PSI totals, cumulative microseconds stalled ("some": at least one task, "full": all tasks)."""

    memory_some: int | None = None
    memory_full: int | None = None
    cpu_some: int | None = None
    io_some: int | None = None
    io_full: int | None = None


@dataclass(frozen=True)
class LimitOutcome:
    """What setting a memory limit achieved, read back from the kernel (applied None: unlimited)."""

    applied: int | None
    swap_limited: bool | None
    notes: tuple[str, ...] = ()


def psi_totals(f: KeptFile | None) -> tuple[int | None, int | None]:
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


class Cgroup(ABC):
    """One cgroup of one version: made, limited, joined, measured and removed through these methods."""

    version: ClassVar[str]
    MEMORY_KEY: ClassVar[str]  # the directory holding the memory files
    CURRENT: ClassVar[str]  # memory charged now; its presence proves the memory controller is on
    PEAK: ClassVar[str]
    PEAK_RESET: ClassVar[bytes]
    LIMIT: ClassVar[str]
    STAT: ClassVar[str]
    OOM: ClassVar[str]  # keyed file with the oom_kill counter
    SWAP_LIMIT: ClassVar[str]  # the file that limits memory+swap (v1) or swap (v2)
    NOT_THIS: ClassVar[str]  # why a directory without CURRENT is refused

    def __init__(self, dirs: Mapping[str, Path | str], notes: Sequence[str] = ()):
        self.dirs: dict[str, Path] = {k: Path(v) for k, v in dirs.items()}
        self.notes: list[str] = list(notes)  # what could not be done when it was made
        self._files: dict[tuple[str, str], KeptFile | None] = {}

    # --- finding ---------------------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def own_dirs(cls) -> dict[str, Path]:
        """controller key -> this process's own, writable cgroup dir of this version (children go there)."""

    @classmethod
    def own(cls: type[C]) -> C | None:
        """This process's own cgroup, the parent of the ones btb makes; None where none is writable."""
        dirs = cls.own_dirs()
        return cls(dirs) if dirs else None

    @classmethod
    def at(cls: type[C], path: str | Path, pids: tuple[int, ...] = ()) -> C:
        """The existing cgroup whose memory files are in `path` (to measure it); `pids`, its processes,
        help find the other controllers' dirs on v1."""
        d = str(path).rstrip("/")
        if not os.path.exists(f"{d}/{cls.CURRENT}"):
            raise CgroupUnavailable(f"{d}: no {cls.CURRENT} ({cls.NOT_THIS})")
        return cls(cls.dirs_of(Path(d), pids))

    @classmethod
    def dirs_of(cls, memory_dir: Path, pids: tuple[int, ...]) -> dict[str, Path]:
        """All directories of the cgroup whose memory dir is `memory_dir`."""
        return {cls.MEMORY_KEY: memory_dir}

    @property
    def memory_dir(self) -> Path | None:
        return self.dirs.get(self.MEMORY_KEY)

    # --- making and limiting ---------------------------------------------------------------------------
    @abstractmethod
    def can_limit_memory(self) -> bool:
        """Can children of this (own) cgroup be given a memory limit?"""

    @abstractmethod
    def create_child(self: C, name: str) -> C:
        """A fresh child cgroup `name` in every directory of this one (counters start at zero)."""

    @abstractmethod
    def set_memory_limit(self, limit_bytes: int) -> LimitOutcome:
        """Limit memory (and swap, so memory+swap == limit) and read the limit back."""

    def can_limit_swap(self) -> bool:
        """Can swap be limited here (v1: memsw accounting on; v2: swap controller files present)?"""
        d = self.memory_dir
        return d is not None and (d / self.SWAP_LIMIT).exists()

    # --- processes -------------------------------------------------------------------------------------
    def wrap(self, argv: list[str]) -> list[str]:
        """argv prefix that joins the cgroup and then execs the command. On v1, charges do not follow a
        process moved later, so engines start inside rather than being moved in."""
        if not self.dirs:
            return list(argv)
        procs = " ".join(f"{d}/cgroup.procs" for d in self.dirs.values())
        script = f'for f in {procs}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", script, "btb-cgroup-exec", *argv]

    def add_pid(self, pid: int) -> bool:
        """Move a running process in (its memory charged so far stays where it was on v1)."""
        return all([write(d / "cgroup.procs", str(pid)) for d in self.dirs.values()])

    def pids(self) -> list[int]:
        seen: set[int] = set()
        for d in self.dirs.values():
            try:
                seen.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(seen)

    def kill(self) -> int:
        """SIGKILL everything inside (cleanup after an OOM or a failed stop); returns how many were signalled."""
        pids = self.pids()
        u = self.dirs.get("unified")
        if u is not None and (u / "cgroup.kill").exists() and write(u / "cgroup.kill", "1"):
            return len(pids)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        return len(pids)

    def remove(self, timeout_s: float = 2.0) -> bool:
        """rmdir every directory; waits briefly for exiting processes. True when all are gone."""
        self.close()
        deadline = time.monotonic() + timeout_s
        pending = list(self.dirs.values())
        while pending:
            left = []
            for d in pending:
                try:
                    d.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(d)
            pending = left
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return not pending

    # --- measuring -------------------------------------------------------------------------------------
    def _file(self, key: str, name: str) -> KeptFile | None:
        """The file, opened on first use and kept (None, remembered, where it does not exist)."""
        k = (key, name)
        if k not in self._files:
            d = self.dirs.get(key)
            self._files[k] = open_optional(d / name, writable=name == self.PEAK) if d is not None else None
        return self._files[k]

    def _memory_file(self, name: str) -> KeptFile | None:
        return self._file(self.MEMORY_KEY, name)

    def memory_current(self) -> int | None:
        """Charged memory now, page cache included (raises when the cgroup is gone)."""
        f = self._memory_file(self.CURRENT)
        if f is None:
            raise FileNotFoundError(f"{self.memory_dir}/{self.CURRENT}")
        return f.as_int()

    def memory_peak(self) -> int | None:
        """Kernel peak since it was last reset (through this handle on v2) or since the cgroup was made."""
        f = self._memory_file(self.PEAK)
        return f.as_int() if f is not None else None

    def reset_peak(self) -> bool:
        """Reset the kernel peak for the next `memory_peak` (False: not possible here)."""
        f = self._memory_file(self.PEAK)
        return f is not None and f.write(self.PEAK_RESET)

    def memory_limit(self) -> int | None:
        """The limit in force, read back from the kernel (None: unlimited, or no memory controller)."""
        f = self._memory_file(self.LIMIT)
        v = f.as_int() if f is not None else None
        return v if v is not None and v < UNLIMITED_V1 else None

    def oom_kills(self) -> int | None:
        """Cumulative count of processes the kernel OOM-killed in this cgroup."""
        f = self._memory_file(self.OOM)
        return f.keyed().get(b"oom_kill") if f is not None else None

    @abstractmethod
    def memory_stat(self) -> MemoryStat | None: ...

    @abstractmethod
    def cpu_seconds(self) -> float | None:
        """Cumulative CPU time of everything inside."""

    @abstractmethod
    def io_bytes(self) -> tuple[int, int] | None:
        """Cumulative (read, written) bytes over all devices."""

    def pressure(self) -> Pressure:
        """PSI totals where the kernel has them (v2, or a hybrid host's v2 directory)."""
        mem_some, mem_full = psi_totals(self._file("unified", "memory.pressure"))
        cpu_some, _ = psi_totals(self._file("unified", "cpu.pressure"))
        io_some, io_full = psi_totals(self._file("unified", "io.pressure"))
        return Pressure(mem_some, mem_full, cpu_some, io_some, io_full)

    def gaps(self) -> dict[str, str]:
        """What this cgroup measures poorly or not at all, by field (goes into every record)."""
        return {}

    def read_once(self, how: Callable[[Cgroup], T]) -> T | None:
        """`how(self)`, then the files closed: a one-off read (a provider's limit, an OOM count); None when
        the cgroup went away meanwhile."""
        try:
            return how(self)
        except (OSError, ValueError):
            return None
        finally:
            self.close()

    def close(self) -> None:
        """Release the open files (the cgroup itself stays)."""
        for f in self._files.values():
            if f is not None:
                f.close()
        self._files.clear()

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
