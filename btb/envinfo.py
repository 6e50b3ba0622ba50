"""Environment fingerprint stored with every result: numbers are only comparable on a known machine."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

import btb
from btb.cgroups import capabilities


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision(repo: Path | None = None) -> dict[str, Any] | None:
    """HEAD and a dirty flag (tracked files changed) when btb runs from a git checkout, else None."""
    repo = repo or Path(btb.__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5)
        if head.returncode != 0:
            return None
        st = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"revision": head.stdout.strip(), "dirty": bool(st.stdout.strip()) if st.returncode == 0 else None}


def environment_fingerprint(extra_engine_versions: dict[str, str] | None = None) -> dict[str, Any]:
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "taken_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "os": platform.platform(),
        "kernel": platform.release(),
        "cpu_model": cpu_model(),
        "cpu_logical": os.cpu_count(),
        "cpu_physical": psutil.cpu_count(logical=False),
        "cpu_usable": usable,
        "ram_bytes": vm.total,
        "swap_bytes": sw.total,
        "cgroup": capabilities(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "btb_version": btb.__version__,
        "git": git_revision(),
        "engines": dict(extra_engine_versions or {}),
    }
