"""Write a dataset directory (btb.dataset.format) for a (profile, seed), streaming one day at a time.

Why this shape: the structure is small and built in memory; the series are produced by worker threads
(numpy releases the GIL) in point_idx order, while this thread writes Parquet and hashes the same
buffers, so memory stays bounded by a few tasks and the fingerprint costs no second read.
Everything lands in a temporary sibling directory that is renamed into place at the end.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import os
import pickle
import queue
import shutil
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset import fingerprint as fp
from btb.dataset.bindings import START, BindingDraw, iso
from btb.dataset.format import (BINDINGS, EDGES, FORMAT_VERSION, MANIFEST, NODES, SERIES_DIR, SERIES_SCHEMA,
                                DatasetError, Manifest)
from btb.dataset.integrity import verify
from btb.dataset.profiles import parse_profile
from btb.dataset.series import M_DOOR, Chunk, SeriesState, Task, clear_caches, generate_task, plan_tasks
from btb.dataset.structure import build_structure
from btb.dataset.structure.model import Structure

# Bump when the content a (profile, seed) produces changes without a FORMAT_VERSION change (the
# generator's own history); ensure_dataset regenerates datasets written by another revision.
# 8: series columns written REQUIRED (not null), fingerprint v3 (values hashed with XXH3-128); values as in 7
CONTENT_REVISION = 8
ROW_GROUP_ROWS = 1 << 20  # fixed, so file bytes do not depend on task size
# value: float64 whose low mantissa bytes are zero for every float32-born sample; byte-stream split puts
# those bytes together and lz4 removes them (small-1w: 3.8 instead of 8.2 bytes a sample, reads 2x faster)
PARQUET_OPTIONS = dict(compression={"point_idx": "lz4", "time": "lz4", "value": "lz4"}, use_byte_stream_split=["value"],
                       use_dictionary=False, write_statistics=["point_idx", "time"],
                       data_page_version="2.0",  # v2 pages: ~20 % less CPU to write than v1 here
                       write_batch_size=65_536)  # default 1,024: ~10 % less CPU per day file, same pages
_TS = pa.timestamp("us", tz="UTC")

Progress = Callable[[int, int], None]


def _series_table(pidx: np.ndarray, t_us: np.ndarray, val: np.ndarray) -> pa.Table:
    n = len(pidx)
    times = pa.Array.from_buffers(_TS, n, [None, pa.py_buffer(t_us)])
    return pa.Table.from_arrays([pa.array(pidx), times, pa.array(val)], schema=SERIES_SCHEMA)


class _DayWriter:
    """Buffers one day's task outputs into fixed-size row groups and hashes the same buffers.

    Row groups are cut by row count, not by task, so file bytes do not depend on the task size.
    """

    def __init__(self, path: Path):
        self.writer = pq.ParquetWriter(str(path), SERIES_SCHEMA, **PARQUET_OPTIONS)
        self.hasher = fp.SeriesHasher()
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add(self, c: Chunk) -> None:
        if not len(c.point_idx):
            return
        self.hasher.update(c.point_idx, c.time, c.value, c.runs, c.time_runs)
        self.pending.append(_series_table(c.point_idx, c.time, c.value))
        self.pending_rows += len(c.point_idx)
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        table = pa.concat_tables(self.pending)
        full = table.num_rows if final else table.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
        if full:
            self.writer.write_table(table.slice(0, full), row_group_size=ROW_GROUP_ROWS)
        rest = table.slice(full)
        self.pending = [rest] if rest.num_rows else []
        self.pending_rows = rest.num_rows

    def close(self) -> bytes:
        if self.pending_rows:
            self._flush(final=True)
        self.writer.close()
        return self.hasher.digest()


class _SeriesPipeline:
    """Generates all days with `threads` workers while up to WRITERS day files are written at once.

    Parquet encoding + hashing cost about as much as generating, so a single writer thread would be
    the bottleneck; days are independent files, so day d+1 is written while day d finishes. Task
    (d+1, i) waits for task (d, i) because it continues that task's per-point state; the pool is FIFO,
    so the awaited task is always already running or done (no deadlock). A semaphore bounds the
    number of generated-but-unwritten task results, which bounds memory.
    """

    WRITERS = 2

    def __init__(self, seed: int, params: dict[str, np.ndarray], tasks: list[Task], days: int, series_dir: Path,
                 threads: int, deadband: float, progress: Progress | None):
        self.seed, self.params, self.tasks, self.days = seed, params, tasks, days
        self.dir, self.threads, self.deadband, self.progress = series_dir, threads, deadband, progress
        self.state = SeriesState.initial(seed, params)
        self.slots = threading.BoundedSemaphore(2 * threads + 2 * self.WRITERS + 2)
        self.lock = threading.Lock()
        self.door_opens: list[tuple[np.ndarray, np.ndarray]] = []  # (point_idx, time) of value 1, for bindings
        self.done = 0
        self.samples = 0
        self.seconds = 0.0
        self.abort = threading.Event()

    def _gen(self, task: Task, day: int, before: Future | None):
        if before is not None:
            before.result()  # same points, previous day: its state must be final
        return generate_task(task, day, self.seed, self.params, self.state, self.deadband)

    def _write_day(self, day: int, futures: "queue.SimpleQueue[tuple[Task, Future] | None]") -> tuple[str, bytes]:
        name = f"day-{day:04d}.parquet"
        w = _DayWriter(self.dir / name)
        while (item := futures.get()) is not None:
            task, f = item
            chunk = f.result()
            if task.model == M_DOOR:  # Q10 bindings need door openings; keep them instead of re-reading
                opened = chunk.value == 1.0
                with self.lock:
                    self.door_opens.append((chunk.point_idx[opened], chunk.time[opened]))
            self.slots.release()
            w.add(chunk)
            with self.lock:
                self.samples += len(chunk.point_idx)
                self.done += 1
                if self.progress:
                    self.progress(self.done, len(self.tasks) * self.days)
        return f"{SERIES_DIR}/{name}", w.close()

    def run(self) -> list[tuple[str, bytes]]:
        t0 = time.perf_counter()
        try:
            return self._run()
        finally:
            self.seconds = time.perf_counter() - t0

    def _order(self, days: range) -> list[tuple[int, int]]:
        """(day, task) submission order for a group of days written at once: a wavefront in which
        day d+1 trails day d by LAG tasks, so both writers get work and every task comes after the
        previous-day task it depends on."""
        lag = 2 * self.threads
        return sorted(((d, i) for d in days for i in range(len(self.tasks))),
                      key=lambda di: (di[1] + (di[0] - days.start) * lag, di[0]))

    def _run(self) -> list[tuple[str, bytes]]:
        if self.progress:
            self.progress(0, len(self.tasks) * self.days)
        with ThreadPoolExecutor(self.threads, thread_name_prefix="btb-gen") as gen, \
                ThreadPoolExecutor(self.WRITERS, thread_name_prefix="btb-write") as wr:
            prev: list[Future | None] = [None] * len(self.tasks)
            day_jobs: list[Future] = []
            queues: dict[int, queue.SimpleQueue] = {}
            try:
                for first in range(0, self.days, self.WRITERS):
                    group = range(first, min(first + self.WRITERS, self.days))
                    queues = {}
                    for d in group:  # writers consume while tasks are submitted
                        queues[d] = queue.SimpleQueue()
                        day_jobs.append(wr.submit(self._write_day, d, queues[d]))
                    for d, i in self._order(group):
                        if self.abort.is_set():
                            raise RuntimeError("series generation aborted")
                        while not self.slots.acquire(timeout=1.0):
                            _raise_failed(day_jobs)
                        prev[i] = gen.submit(self._gen, self.tasks[i], d, prev[i])
                        queues[d].put((self.tasks[i], prev[i]))
                    for q in queues.values():
                        q.put(None)
                return [j.result() for j in day_jobs]
            except BaseException:
                self.abort.set()
                for q in queues.values():  # let running writers finish instead of waiting forever
                    q.put(None)
                for j in day_jobs:
                    j.cancel()
                raise


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


def _raise_failed(jobs: list[Future]) -> None:
    for j in jobs:
        if j.done() and j.exception() is not None:
            raise j.exception()  # type: ignore[misc]


def _file_info(directory: Path) -> dict[str, dict]:
    """Sizes of every file, plus raw sha256 of the small ones: a cheap check for ensure_dataset."""
    out = {}
    for f in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        rel = f.relative_to(directory).as_posix()
        info: dict = {"bytes": f.stat().st_size}
        if not rel.startswith(SERIES_DIR + "/"):
            info["sha256"] = hashlib.sha256(f.read_bytes()).hexdigest()
        out[rel] = info
    return out


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
        pipe = _SeriesPipeline(seed, s.params, plan_tasks(s.params, chunk_points), prof.days, tmp / SERIES_DIR,
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
        files = _file_info(tmp)
        manifest = Manifest(
            format_version=FORMAT_VERSION, profile=prof.name, seed=seed, start=iso(START),
            end=iso(START + timedelta(days=prof.days)), days=prof.days, counts=counts,
            bytes=sum(f["bytes"] for f in files.values()), fingerprint=fp.combine(parts),
            generator={"seconds": round(time.perf_counter() - t0, 3), "structure_s": round(t_struct, 3),
                       "series_s": round(t_series, 3), "threads": threads, "chunk_points": chunk_points,
                       "deadband": deadband, "content_revision": CONTENT_REVISION,
                       "samples_per_s": round(samples / t_series) if t_series > 0 else 0,
                       "btb_version": _btb_version(), "pyarrow": pa.__version__, "numpy": np.__version__,
                       "files": files, "parts": {name: d.hex() for name, d in parts}},
        )
        manifest.write(tmp)
    return manifest


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
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(tmp: Path, out: Path) -> None:
    """Move tmp to out; an existing out is moved aside first and removed after the swap."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
    with open(root / f".{name}.lock", "w") as lock:
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
