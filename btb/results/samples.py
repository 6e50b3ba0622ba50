"""Monitor samples stored compactly: one binary block per push (about a second of ticks), columnar.

A sample is ~20 numbers; as one JSON object each it cost ~500 B and a JSON decode. A block keeps the
numeric fields as one float64 matrix (NaN for "not measured"), the few strings (target, source, peak
scope) as an index into a small table, and is zlib-compressed: a few dozen bytes per sample, decoded
with one numpy call per block.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np

NUMERIC = ("t", "mem_bytes", "mem_peak_bytes", "anon_bytes", "file_bytes", "shmem_bytes", "cpu_s", "io_read_bytes",
           "io_write_bytes", "oom_kills", "mem_limit_bytes", "psi_mem_some_us", "psi_mem_full_us", "psi_cpu_some_us",
           "psi_io_some_us", "psi_io_full_us")
FLOATS = {"t", "cpu_s"}
LABELS = ("target", "source", "peak_scope")
_MAGIC = b"BTS1"


def encode_block(rows: list[dict[str, Any]]) -> bytes:
    labels: list[tuple] = []
    index: dict[tuple, int] = {}
    idx = np.empty(len(rows), dtype=np.int32)
    mat = np.full((len(rows), len(NUMERIC)), np.nan)
    extras = {}
    for i, r in enumerate(rows):
        lab = tuple(r.get(k) for k in LABELS)
        idx[i] = index.setdefault(lab, len(index))
        if idx[i] == len(labels):
            labels.append(lab)
        for j, k in enumerate(NUMERIC):
            v = r.get(k)
            if v is not None:
                mat[i, j] = v
        if r.get("extra"):
            extras[i] = r["extra"]
    head = json.dumps({"labels": labels, "extras": extras}).encode()
    body = struct.pack("<II", len(rows), len(head)) + head + idx.tobytes() + mat.tobytes()
    return _MAGIC + zlib.compress(body, 1)


def decode_block(blob: bytes) -> list[dict[str, Any]]:
    if blob[:4] != _MAGIC:
        raise ValueError("not a btb sample block")
    body = zlib.decompress(blob[4:])
    n, hl = struct.unpack_from("<II", body)
    head = json.loads(body[8:8 + hl])
    off = 8 + hl
    idx = np.frombuffer(body, dtype=np.int32, count=n, offset=off)
    mat = np.frombuffer(body, dtype=np.float64, count=n * len(NUMERIC), offset=off + 4 * n).reshape(n, len(NUMERIC))
    out = []
    labels = [tuple(x) for x in head["labels"]]
    extras = head.get("extras", {})
    isnan = np.isnan(mat)
    vals = mat.tolist()
    for i in range(n):
        d: dict[str, Any] = dict(zip(LABELS, labels[idx[i]]))
        for j, k in enumerate(NUMERIC):
            d[k] = None if isnan[i, j] else (vals[i][j] if k in FLOATS else int(vals[i][j]))
        d["extra"] = extras.get(str(i), {})
        out.append(d)
    return out
