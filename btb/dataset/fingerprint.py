"""Content fingerprint of a dataset: sha256 over the *logical* data, not the file bytes.

Each table column is hashed as a stream of canonical values (validity, lengths, bytes, little-endian
numbers), so row-group layout, chunking, thread count and Parquet compression do not change it; any
change to a value, an id or a binding does. The generator computes the same digest while writing.

The one bulk stream, the series' raw float64 values (8 bytes a sample, ~117 MB at small-1w), is hashed
with XXH3-128 instead of sha256: sha256 at ~1.25 GB/s was ~12 % of the generator's CPU, XXH3 runs at
~20 GB/s. Its 128-bit digest goes into the sha256 of the day file like every other part. The fingerprint
guards against accidental change (corruption, a generator that drifted), not against an adversary.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import xxhash

from btb.dataset.format import BINDINGS, EDGES, NODES, series_files

SERIES_COLUMNS = ("point_idx", "time", "value")
_TAG = b"btb-fingerprint-v3"  # v3: series values hashed with XXH3-128


def hash_table(table: pa.Table) -> bytes:
    """Digest of a table's columns (names, types, values) independent of its chunk layout."""
    h = hashlib.sha256()
    for name in table.column_names:
        col = table.column(name).combine_chunks() if table.num_rows else pa.array([], table.schema.field(name).type)
        h.update(name.encode() + b"\0" + str(col.type).encode() + b"\0")
        h.update(_column_digest(col))
    return h.digest()


_STRINGS = {pa.string(): np.int32, pa.large_string(): np.int64}


def _column_digest(arr: pa.Array) -> bytes:
    """Digest of one column: validity bytes, then string lengths + bytes or little-endian numbers
    (null slots hash as "" or 0)."""
    fast = _column_digest_buffers(arr)
    return fast if fast is not None else _column_digest_compute(arr)


def _column_digest_buffers(arr: pa.Array) -> bytes | None:
    """_column_digest straight from the Arrow buffers for strings and fixed-width numbers (what nodes
    and edges hold), without pyarrow.compute (whose import alone costs the generator ~40 ms of GIL);
    None for anything else. Same bytes hashed as _column_digest_compute."""
    n, off = len(arr), arr.offset
    bufs = arr.buffers()
    if arr.null_count and bufs[0] is not None:
        bits = np.unpackbits(np.frombuffer(bufs[0], np.uint8), bitorder="little")[off: off + n]
        valid = bits.astype(np.uint8)
    elif arr.null_count:
        return None  # nulls without a bitmap (null type): leave it to the general path
    else:
        valid = np.ones(n, np.uint8)
    h = hashlib.sha256()
    h.update(valid.tobytes())
    if arr.type in _STRINGS:
        offs = np.frombuffer(bufs[1], dtype=_STRINGS[arr.type])[off: off + n + 1].astype(np.int64) if n else \
            np.zeros(1, np.int64)
        lens = np.diff(offs)
        if np.any(lens[valid == 0]):
            return None  # a null slot that spans bytes: the general path drops them
        h.update(lens.astype("<i8").tobytes())
        if bufs[2] is not None and n:
            h.update(memoryview(bufs[2])[int(offs[0]): int(offs[-1])])
        return h.digest()
    if pa.types.is_timestamp(arr.type):
        dtype = np.dtype("int64")
    elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        dtype = np.dtype(arr.type.to_pandas_dtype())
    else:
        return None
    vals = np.frombuffer(bufs[1], dtype=dtype)[off: off + n] if n else np.empty(0, dtype)
    if arr.null_count:
        vals = vals.copy()
        vals[valid == 0] = 0
    h.update(np.ascontiguousarray(vals).tobytes())
    return h.digest()


def _column_digest_compute(arr: pa.Array) -> bytes:
    h = hashlib.sha256()
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.uint8)
    h.update(valid.tobytes())
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string()).fill_null("")
        offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
        h.update(np.diff(offs).astype("<i8").tobytes())
        data = arr.buffers()[2]
        if data is not None and len(arr):
            h.update(memoryview(data)[int(offs[0]): int(offs[-1])])
    else:
        if pa.types.is_timestamp(arr.type):
            arr = arr.cast(pa.int64())
        vals = arr.fill_null(0).to_numpy(zero_copy_only=False)
        h.update(np.ascontiguousarray(vals).tobytes())
    return h.digest()


class _RunHasher:
    """Hashes a column as run-length pairs (value, length), merging runs split across chunks, so the
    digest depends on the column's values only, never on where chunks or row groups break it."""

    def __init__(self, dtype: str):
        self.dtype = dtype
        self._val, self._len = hashlib.sha256(), hashlib.sha256()
        self._pending: tuple[int, int] | None = None

    def add(self, vals: np.ndarray, lens: np.ndarray) -> None:
        if not len(vals):
            return
        vals, lens = np.asarray(vals, dtype=self.dtype), np.array(lens, dtype="<i8")
        if self._pending is not None:
            pv, pl = self._pending
            if vals[0] == pv:
                lens[0] += pl
            else:
                self._emit(np.array([pv], self.dtype), np.array([pl], "<i8"))
        self._emit(vals[:-1], lens[:-1])
        self._pending = (int(vals[-1]), int(lens[-1]))

    def _emit(self, vals: np.ndarray, lens: np.ndarray) -> None:
        if len(vals):
            self._val.update(np.ascontiguousarray(vals).data)
            self._len.update(np.ascontiguousarray(lens).data)

    def digests(self) -> bytes:
        if self._pending is not None:
            self._emit(np.array([self._pending[0]], self.dtype), np.array([self._pending[1]], "<i8"))
            self._pending = None
        return self._val.digest() + self._len.digest()


class SeriesHasher:
    """Streams the (point_idx, time, value) rows of one day file into a digest, chunk layout agnostic.

    point_idx is hashed as runs, and time as its first value plus the runs of its successive
    differences (a regular series is one run per point): both are exact encodings of the columns, and
    the generator knows them without scanning, so hashing costs 8 bytes (the values) per sample, with
    XXH3-128 (see the module docstring).
    """

    def __init__(self) -> None:
        self._pidx, self._dt = _RunHasher("<i4"), _RunHasher("<i8")
        self._value = xxhash.xxh3_128()
        self._first: int | None = None
        self._last: int | None = None
        self.rows = 0

    def update(self, point_idx: np.ndarray, time_us: np.ndarray, value: np.ndarray,
               runs: tuple[np.ndarray, np.ndarray] | None = None,
               time_runs: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """`runs`: point_idx as (values, lengths); `time_runs`: np.diff(time_us) as runs. Either may be
        None, and is then computed from the column."""
        n = len(point_idx)
        if not n:
            return
        self._pidx.add(*(runs if runs is not None else _runs(np.asarray(point_idx))))
        first = int(time_us[0])
        if self._last is None:
            self._first = first
        else:
            self._dt.add(np.array([first - self._last], "<i8"), np.ones(1, "<i8"))
        self._dt.add(*(time_runs if time_runs is not None else _runs(np.diff(np.asarray(time_us, dtype=np.int64)))))
        self._last = int(time_us[-1])
        self._value.update(np.ascontiguousarray(value, dtype="<f8").data)
        self.rows += n

    def digest(self) -> bytes:
        head = f"{self.rows}:{self._first}".encode()
        return hashlib.sha256(head + self._pidx.digests() + self._dt.digests() + self._value.digest()).digest()


def _runs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(p):
        return p, np.empty(0, np.int64)
    starts = np.concatenate([[0], np.flatnonzero(p[1:] != p[:-1]) + 1])
    return p[starts], np.diff(np.concatenate([starts, [len(p)]]))


def hash_series_file(path: Path) -> bytes:
    """Digest of one day file, read one row group at a time (bounded memory)."""
    hs = SeriesHasher()
    pf = pq.ParquetFile(path)
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=list(SERIES_COLUMNS))
        cols = [t.column(c).combine_chunks() for c in SERIES_COLUMNS]
        hs.update(cols[0].to_numpy(), cols[1].cast(pa.int64()).to_numpy(), cols[2].to_numpy())
    return hs.digest()


def hash_bindings(bindings: dict) -> bytes:
    return hashlib.sha256(json.dumps(bindings, sort_keys=True, separators=(",", ":")).encode()).digest()


def combine(parts: list[tuple[str, bytes]]) -> str:
    """Final fingerprint from (part name, digest) pairs in canonical order."""
    h = hashlib.sha256(_TAG)
    for name, d in parts:
        h.update(name.encode() + b"\0" + d)
    return h.hexdigest()


def fingerprint_parts(directory: Path) -> list[tuple[str, bytes]]:
    d = Path(directory)
    parts = [(NODES, hash_table(pq.read_table(d / NODES))), (EDGES, hash_table(pq.read_table(d / EDGES)))]
    for f in series_files(d):
        parts.append((f"series/{f.name}", hash_series_file(f)))
    parts.append((BINDINGS, hash_bindings(json.loads((d / BINDINGS).read_text()))))
    return parts


def fingerprint(directory: Path) -> str:
    """sha256 hex over the dataset's logical content (nodes, edges, every day file, bindings)."""
    return combine(fingerprint_parts(Path(directory)))
