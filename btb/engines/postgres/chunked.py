"""P1c: P1's relational structure (the same typed tables, link tables, indexes and Q1–Q5 texts) with the
series as per-(point, day) array chunks (`btb.engines.postgres.chunks`) instead of one row per sample.

Against P1 it changes one thing, the series layout, so P1 vs P1c is "rows vs chunks" on one engine, and
P1c vs F1/O1 is "relational vs graph vs RDF" on one layout. Its statements are P1's structure parts as the
CTE `fed` + the chunk series SQL (`queries/P1c/series/`), composed as P1's are; the window is bound in the
chunks' terms as well: `d0`/`d1` (the days the window touches) and `start_s`/`end_s` (epoch seconds:
a whole-second sample is in [start, end) exactly when it is in [start_s, end_s)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

import psycopg

from btb.dataset.format import US_PER_DAY, Manifest, epoch_us
from btb.engines.postgres import chunks
from btb.engines.postgres.relational import RelationalScenario
from btb.engines.postgres.scenario import query_texts


def bind_window(params: Mapping[str, Any], bound: dict[str, Any]) -> dict[str, Any]:
    """`bound` plus the binding's window in the chunks' terms (see the module doc)."""
    if "start" in params:
        us = epoch_us(params["start"])
        bound["start_s"], bound["d0"] = -(-us // 1_000_000), us // US_PER_DAY
    if "end" in params:
        us = epoch_us(params["end"])
        bound["end_s"], bound["d1"] = -(-us // 1_000_000), (us - 1) // US_PER_DAY
    return bound


class ChunkRelationalScenario(RelationalScenario):
    id: ClassVar[str] = "P1c"
    description: ClassVar[str] = ("PostgreSQL, P1's typed relational tables + FK link tables; series as "
                                  "(point, day) array chunks")
    series_tables: ClassVar[tuple[str, ...]] = (chunks.TABLE,)

    def statements(self) -> dict[str, str]:
        return query_texts("P1", chunks.series_texts())

    def new_appender(self) -> chunks.ChunkAppender:
        return chunks.ChunkAppender()

    def ingest_series(self, conn: psycopg.Connection, dataset_dir: Path, manifest: Manifest,
                      phases: dict[str, float]) -> tuple[str, dict[str, int], Any]:
        n_chunks, n_samples, p = chunks.load(conn, dataset_dir)
        phases.update(p)
        version = conn.execute("show server_version").fetchone()[0]
        return (f"postgresql {version} ts_chunk (point, day) arrays",
                {chunks.TABLE: n_chunks, "samples": n_samples}, chunks.store_details)

    def series_counts(self, conn: psycopg.Connection) -> dict[str, int]:
        return chunks.counts(conn)

    def bind(self, qid: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return bind_window(params, super().bind(qid, params))
