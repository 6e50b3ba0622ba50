"""Evict an engine's data files from the OS page cache (a cold run), without touching anyone else's pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable


def evict(dirs: Iterable[Path | str]) -> bool:
    """posix_fadvise(DONTNEED) on every regular file under `dirs`: their clean pages leave the page cache
    (this machine's other processes keep theirs, unlike a global drop_caches). False where it cannot
    (no posix_fadvise, or none of the dirs is reachable from here)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    reached = False
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        reached = True
        for f in d.rglob("*"):
            try:
                if f.is_file() and not f.is_symlink():
                    fd = os.open(f, os.O_RDONLY)
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)
            except OSError:
                continue
    return reached
