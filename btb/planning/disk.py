"""Free disk where a node keeps datasets and engine data, and the refusal of a campaign that does not fit.

The datasets dir (`<state dir>/datasets`) and the engines dir (`BTB_ENGINES_DIR`, or its default) are measured
with `shutil.disk_usage` on the nearest existing directory (nothing is created to measure it). Two dirs on one
filesystem share its free space: their needs are added and checked once, on one line.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

MARGIN = 0.10  # needed = estimate × (1 + MARGIN): WAL, temp files and logs while loading are not in the estimate
GiB = 2**30


@dataclass(frozen=True)
class DirSpace:
    role: str  # "datasets" or "engines"
    path: str
    free: int
    device: int

    def to_dict(self) -> dict:
        return {"role": self.role, "path": self.path, "free": self.free, "device": self.device}

    @classmethod
    def from_dict(cls, d: dict) -> "DirSpace":
        return cls(str(d["role"]), str(d["path"]), int(d["free"]), int(d["device"]))


def measure(role: str, path: Path) -> DirSpace:
    """Free bytes for `path`, measured on its nearest existing ancestor."""
    p = Path(path).absolute()
    probe = next((a for a in (p, *p.parents) if a.exists()), Path("/"))
    return DirSpace(role, str(p), shutil.disk_usage(probe).free, os.stat(probe).st_dev)


def node_dirs(settings) -> list[DirSpace]:  # noqa: ANN001 - btb Settings
    """This node's datasets and engines dirs (what a worker reports with its registration)."""
    return [measure("datasets", settings.datasets_dir), measure("engines", settings.engine_root)]


def shortfalls(needs: dict[str, float], dirs: list[DirSpace], node: str) -> list[str]:
    """One line per filesystem that cannot hold what `needs` (role -> bytes) puts on it; [] when it fits."""
    by_dev: dict[int, list[DirSpace]] = {}
    for d in dirs:
        by_dev.setdefault(d.device, []).append(d)
    out = []
    for group in by_dev.values():
        need = sum(needs.get(d.role, 0.0) for d in group) * (1 + MARGIN)
        free = min(d.free for d in group)
        if need <= free:
            continue
        where = " and ".join(f"{d.role} dir {d.path}" for d in group)
        out.append(f"node {node}: {where}: needed {need / GiB:,.1f} GiB (estimate + {MARGIN:.0%}), free "
                   f"{free / GiB:,.1f} GiB — use a smaller profile or fewer scenarios, or put the data on another "
                   f"disk (BTB_ENGINES_DIR for engine data, XDG_STATE_HOME or BTB_STATE_DIR for datasets)")
    return out
