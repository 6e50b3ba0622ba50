"""Publishing a dataset directory: written in a fresh sibling, moved in place of the target at the end
(never half-written, never left behind), and the per-file sizes/digests its manifest records.
The generator and the Brick import write through this."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from btb.dataset.format import MANIFEST, SERIES_DIR


@contextmanager
def publishing(out: Path) -> Iterator[Path]:
    """A fresh dataset directory (with its series/ folder) beside `out`, written by the block and moved in
    place of `out` when it ends; removed when the block raises, so a half-written dataset is never published
    nor left behind. The generator and the Brick import write through this."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (tmp / SERIES_DIR).mkdir(parents=True)
    try:
        yield tmp
        make_private(tmp)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def private_file(path: Path, mode: str = "w"):
    """Open `path` for writing, created 0600 (datasets, their locks and answers are btb's own: no other local
    user reads them, whatever the process umask)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if "w" in mode else 0), 0o600), mode)


def make_private(tree: Path) -> None:
    """Directories 0700 and files 0600 under `tree` (and `tree` itself)."""
    tree.chmod(0o700)
    for p in tree.rglob("*"):
        p.chmod(0o700 if p.is_dir() else 0o600)


def _replace(tmp: Path, out: Path) -> None:
    """Move tmp to out; an existing out is moved aside first and removed after the swap."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def file_info(directory: Path) -> dict[str, dict]:
    """Sizes of every file, plus raw sha256 of the small ones: a cheap check for ensure_dataset."""
    out = {}
    for f in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        rel = f.relative_to(directory).as_posix()
        info: dict = {"bytes": f.stat().st_size}
        if not rel.startswith(SERIES_DIR + "/"):
            info["sha256"] = hashlib.sha256(f.read_bytes()).hexdigest()
        out[rel] = info
    return out
