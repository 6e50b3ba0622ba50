"""What every scenario's write path shares: the records it takes (from `btb.dataset.changes`), what it
returns, and the split of a batch into (point, day) pieces that the chunk layouts (F1, M1, O1) store.

Each paradigm's own write code sits beside its scenario (`postgres/writes.py`, `graph/writes.py`,
`rdf/writes.py`); what a write costs there (a COPY into a partition, a chunk's arrays rewritten, a chunk
read back and re-encoded) is the paradigm's, and is what the write benchmark measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from btb.dataset.changes import (AddEquipment, Change, MoveEquipment, MovePoint, Overlay, RenamePoint,
                                 SampleBatch)
from btb.dataset.format import US_PER_DAY

__all__ = ["AddEquipment", "Change", "MoveEquipment", "MovePoint", "Overlay", "RenamePoint", "SampleBatch",
           "Written", "ChunkPiece", "chunk_pieces"]


@dataclass
class Written:
    """What one write stored: samples (appends) or structure rows touched (changes), and its phases in
    seconds where the paradigm has several (e.g. chunks read / merged / written)."""

    samples: int = 0
    rows: int = 0
    phases: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ChunkPiece:
    """The samples of one batch that fall into one (point, UTC day since the epoch) chunk, in time order."""

    idx: int
    day: int
    ts: np.ndarray  # int64 µs
    vs: np.ndarray  # float64


def chunk_pieces(batch: SampleBatch) -> Iterator[ChunkPiece]:
    """Split a batch by (point, day), each piece sorted by time (a stable sort keeps a gateway's order)."""
    if not len(batch):
        return
    day = batch.time_us // US_PER_DAY
    order = np.lexsort((batch.time_us, day, batch.point_idx))
    p, d = batch.point_idx[order], day[order]
    t, v = batch.time_us[order].astype(np.int64), batch.value[order].astype(np.float64)
    cuts = np.flatnonzero((np.diff(p) != 0) | (np.diff(d) != 0)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(p)]):
        yield ChunkPiece(int(p[lo]), int(d[lo]), t[lo:hi], v[lo:hi])
