"""Write a dataset directory (btb.dataset.format) for a (profile, seed), streaming one day at a time.

Why this shape: the structure is small and built in memory; the series are generated and written by
threads (btb.dataset.series_writer) while the nodes/edges files and the binding draw are made in a forked
child (_StructureFiles). Everything lands in a temporary sibling directory that is renamed into place at
the end (btb.dataset.publish). ensure_dataset reuses a dataset whose content checks out.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import pickle
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset import fingerprint as fp
from btb.dataset.bindings import BINDINGS_REVISION, START, BindingDraw, iso
from btb.dataset.format import BINDINGS, EDGES, FORMAT_VERSION, NODES, SERIES_DIR, DatasetError, Manifest
from btb.dataset.integrity import verify
from btb.dataset.profiles import parse_profile
from btb.dataset.publish import file_info, private_file, publishing
from btb.dataset.series import clear_caches, plan_tasks
from btb.dataset.series_writer import Progress, SeriesPipeline
from btb.dataset.structure import build_structure
from btb.dataset.structure.model import Structure

# Bump when the content a (profile, seed) produces changes without a FORMAT_VERSION change (the
# generator's own history); ensure_dataset regenerates datasets written by another revision.
# 8: series columns written REQUIRED (not null), fingerprint v3 (values hashed with XXH3-128); values as in 7
# 9: bindings revision 2 (windows by role: dashboards recent, reports over history); series as in 8
CONTENT_REVISION = 9


class _StructureFiles:
    """nodes.parquet, edges.parquet, their digests and the binding draw, started by start() and
    collected by result() -> (parts, BindingDraw).

    This is ~0.12 s of mostly pure Python at small-1w (tables, draw). In a thread it would take the GIL
    from the series threads, whose step loops need it between numpy calls (a run given a ready draw was
    ~0.1 s shorter). So it runs in a child forked from this process (it inherits the structure; the
    digests and the draw come back pickled through a pipe) when a fork is safe: POSIX, and no other
    Python thread running (a fork copies only the calling thread; one holding a lock would leave it
    locked in the child). Otherwise, or if the child fails, it runs in this process: same files, same
    RNG, same draw.
    """

    def __init__(self, s: Structure, directory: Path, seed: int, days: int):
        self.s, self.dir, self.seed, self.days = s, directory, seed, days
        self.out: tuple[list[tuple[str, bytes]], BindingDraw] | None = None
        self.pid = 0
        self.fd = -1

    def _work(self) -> tuple[list[tuple[str, bytes]], BindingDraw]:
        nodes, edges = self.s.nodes_table(), self.s.edges_table()
        pq.write_table(nodes, self.dir / NODES, compression="zstd")
        pq.write_table(edges, self.dir / EDGES, compression="zstd")
        parts = [(NODES, fp.hash_table(nodes)), (EDGES, fp.hash_table(edges))]
        return parts, BindingDraw(nodes, edges, self.seed, self.days)

    def start(self) -> "_StructureFiles":
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return self  # result() does the work, in the calling thread, while the series run
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: work, send, leave without running the parent's exit handlers
            code = 1
            try:
                os.close(r)
                with os.fdopen(w, "wb") as f:
                    pickle.dump(self._work(), f, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.fd = pid, r
        return self

    def result(self) -> tuple[list[tuple[str, bytes]], BindingDraw]:
        if self.out is None:
            data = b""
            if self.pid:
                with os.fdopen(self.fd, "rb") as f:
                    self.fd = -1
                    data = f.read()
                ok = os.waitpid(self.pid, 0)[1] == 0
                self.pid = 0
                if ok and data:
                    self.out = pickle.loads(data)
            if self.out is None:  # the child failed: do it here (rewrites its files)
                self.out = self._work()
        return self.out

    def cancel(self) -> None:
        """Stop waiting for the child (an error elsewhere): close the pipe and reap it."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0


def generate(profile: str, seed: int, out: Path, *, threads: int | None = None, chunk_points: int | None = None,
             progress: Progress | None = None, deadband: float = 0.0) -> Manifest:
    """Generate `profile` with `seed` into `out` (replaced atomically); returns the manifest.

    `threads`/`chunk_points` tune speed and memory only; the content and fingerprint do not change.
    `deadband` (default off) thins sensor series like a change-of-value historian (in units of the
    point's noise sigma); it changes the content, and is recorded in the manifest.
    """
    # The structure and the binding draw allocate ~1e6 Python objects and no reference cycles worth
    # collecting: cyclic GC passes over them cost CPU (and GIL time the writers wait for) for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(profile, seed, out, threads, chunk_points, progress, deadband)
    finally:
        clear_caches()
        if gc_was_enabled:
            gc.enable()


def _generate(profile: str, seed: int, out: Path, threads: int | None, chunk_points: int | None,
              progress: Progress | None, deadband: float) -> Manifest:
    prof = parse_profile(profile)
    out = Path(out)
    threads = max(1, threads or min(2, os.cpu_count() or 1))
    t0 = time.perf_counter()
    with publishing(out) as tmp:
        s = build_structure(prof.scale, seed)
        t_struct = time.perf_counter() - t0
        pipe = SeriesPipeline(seed, s.params, plan_tasks(s.params, chunk_points), prof.days, tmp / SERIES_DIR,
                               threads, deadband, progress)
        # nodes/edges files and the binding draw: in a forked child when it can (_StructureFiles), so
        # their ~0.1 s of Python does not hold the GIL the series threads need between numpy calls
        structure_files = _StructureFiles(s, tmp, seed, prof.days).start()
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="btb-series") as bg:
                series_job = bg.submit(pipe.run)
                try:
                    parts, draw = structure_files.result()
                except BaseException:
                    pipe.abort.set()
                    raise
                parts = parts + series_job.result()
        finally:
            structure_files.cancel()
        samples, t_series = pipe.samples, pipe.seconds

        bindings = draw.finalize(tmp, regular=deadband <= 0, door_opens=pipe.door_opens)
        (tmp / BINDINGS).write_text(json.dumps(bindings, indent=1, sort_keys=True))
        parts.append((BINDINGS, fp.hash_bindings(bindings)))

        counts = s.counts()
        counts["samples"] = samples
        files = file_info(tmp)
        manifest = Manifest(
            format_version=FORMAT_VERSION, profile=prof.name, seed=seed, start=iso(START),
            end=iso(START + timedelta(days=prof.days)), days=prof.days, counts=counts,
            bytes=sum(f["bytes"] for f in files.values()), fingerprint=fp.combine(parts),
            generator={"seconds": round(time.perf_counter() - t0, 3), "structure_s": round(t_struct, 3),
                       "series_s": round(t_series, 3), "threads": threads, "chunk_points": chunk_points,
                       "deadband": deadband, "content_revision": CONTENT_REVISION,
                       "bindings_revision": BINDINGS_REVISION,
                       "samples_per_s": round(samples / t_series) if t_series > 0 else 0,
                       "btb_version": _btb_version(), "pyarrow": pa.__version__, "numpy": np.__version__,
                       "files": files, "parts": {name: d.hex() for name, d in parts}},
        )
        manifest.write(tmp)
    return manifest


def _btb_version() -> str:
    """The package's version (btb/__init__.py, kept equal to pyproject's): importlib.metadata would
    cost ~11 ms of a small dataset's serial tail (its import and a scan of sys.path)."""
    import btb

    return getattr(btb, "__version__", "unknown")


def ensure_dataset(profile: str, seed: int, root: Path, *, deep: bool = True, repair: bool = True) -> Path:
    """Return root/<profile>-s<seed>, generating it when absent, stale (format/content revision) or damaged.

    Reuse is decided on content: btb.dataset.integrity.verify recomputes the fingerprint of every file.
    A damaged dataset is regenerated (repair=True) or refused with a DatasetError naming the file.
    Safe under concurrency: callers serialise on a lock file per dataset; the directory itself only ever
    appears by atomic rename. (`deep` is kept for callers; the check is always the content check.)
    """
    name = f"{parse_profile(profile).name}-s{seed}"
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    with private_file(root / f".{name}.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            try:
                if _usable(target, profile, seed):
                    return target
            except DatasetError:
                if not repair:
                    raise
        generate(profile, seed, target)
    return target


def _usable(target: Path, profile: str, seed: int) -> bool:
    """False when the dataset is for another profile/seed/revision; DatasetError when it is damaged."""
    try:
        m = Manifest.read(target)
        if m.format_version != FORMAT_VERSION or m.generator.get("content_revision") != CONTENT_REVISION:
            return False
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # verify names the problem
    m = verify(target)
    if m.profile != parse_profile(profile).name or m.seed != seed or m.generator.get("deadband", 0.0):
        return False
    return m.generator.get("content_revision") == CONTENT_REVISION
