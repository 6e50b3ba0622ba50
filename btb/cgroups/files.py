"""cgroup file primitives: read/write the files (once, or kept open for sampling), find our own cgroups
and the v2 mount."""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
UNLIMITED_V1 = 1 << 62  # v1 reports "no limit" as a huge page-aligned number (9223372036854771712)


def write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def read_int(path: Path) -> int | None:
    try:
        raw = path.read_text().strip()
    except OSError:
        return None
    if raw == "max":
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def keyed(path: Path) -> dict[str, int]:
    """Parse 'key value' files (memory.stat, memory.events, memory.oom_control)."""
    out: dict[str, int] = {}
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if v.strip().lstrip("-").isdigit():
                out[k] = int(v)
    except OSError:
        pass
    return out


def proc_cgroups(pid: int | str = "self") -> dict[str, str]:
    """controller -> path relative to its hierarchy root, from /proc/<pid>/cgroup ('' key = v2)."""
    out: dict[str, str] = {}
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, ctrls, rel = line.split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = rel
    except (OSError, ValueError):
        pass
    return out


def v2_mount() -> Path | None:
    """Where the cgroup2 hierarchy is mounted (/sys/fs/cgroup on pure v2, .../unified on hybrids)."""
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                return Path(parts[1])
    except OSError:
        pass
    return None


def fresh_dir(d: Path) -> Path:
    """mkdir `d`; a leftover empty dir from an earlier run is recreated so its peak/OOM counters are new."""
    if d.is_dir():
        procs = (d / "cgroup.procs").read_text().split() if (d / "cgroup.procs").exists() else []
        if not procs:
            try:
                d.rmdir()
            except OSError:
                pass
    d.mkdir(exist_ok=True)
    return d


class KeptFile:
    """A cgroup file kept open and re-read from offset 0 with `os.pread` (cgroup files regenerate on every
    read): a sample costs a syscall, no open/close. v2's `memory.peak` resets only for the descriptor that
    wrote to it, so the file that is reset must be the one that is read: another reason to keep it."""

    __slots__ = ("path", "fd")

    def __init__(self, path: str | Path, writable: bool = False):
        self.path = str(path)
        self.fd = -1
        if writable:
            try:
                self.fd = os.open(self.path, os.O_RDWR)
            except OSError:
                self.fd = -1
        if self.fd < 0:
            self.fd = os.open(self.path, os.O_RDONLY)  # raises FileNotFoundError: caller decides

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


def open_optional(path: str | Path, writable: bool = False) -> KeptFile | None:
    """The file kept open, or None where it does not exist (a counter this kernel or version lacks)."""
    try:
        return KeptFile(path, writable)
    except OSError:
        return None
