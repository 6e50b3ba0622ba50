"""The series half of a dataset: day files written while worker threads generate them.

Why this shape: the series are produced by worker threads (numpy releases the GIL) in point_idx order,
while writer threads encode Parquet and hash the same buffers, so memory stays bounded by a few tasks and
the fingerprint costs no second read. The generator and the Brick import both write through it.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset import fingerprint as fp
from btb.dataset.format import SERIES_DIR, SERIES_SCHEMA
from btb.dataset.series import M_DOOR, Chunk, SeriesState, Task, generate_task

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


class DayWriter:
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


class SeriesPipeline:
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

    def _gen(self, task: Task, day: int, before: Future | None, done: Future):
        """One task's day; `done` says when its per-point state is final, for the next day's task. It carries
        no samples: a day's chunks are freed once written (holding the task futures themselves kept a
        whole day in memory until the next day replaced them: xlarge-1d, 59 M samples, 1.1 GB)."""
        try:
            if before is not None:
                before.result()  # same points, previous day: its state must be final
            chunk = generate_task(task, day, self.seed, self.params, self.state, self.deadband)
        except BaseException as e:
            done.set_exception(e)
            raise
        done.set_result(None)
        return chunk

    def _write_day(self, day: int, futures: "queue.SimpleQueue[tuple[Task, Future] | None]") -> tuple[str, bytes]:
        name = f"day-{day:04d}.parquet"
        w = DayWriter(self.dir / name)
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
                        done: Future = Future()
                        queues[d].put((self.tasks[i], gen.submit(self._gen, self.tasks[i], d, prev[i], done)))
                        prev[i] = done
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


def _raise_failed(jobs: list[Future]) -> None:
    for j in jobs:
        if j.done() and j.exception() is not None:
            raise j.exception()  # type: ignore[misc]
