"""M1 and M2: the F1/F2 layouts and query texts on Memgraph, over Bolt (`btb.engines.graph.bolt`).

Memgraph runs from its Docker image or on a server, not from a package here: where no node has a
Memgraph engine, `btb submit` refuses M1/M2 ("no live worker can run ...") and the local provider reports
the kind unavailable with "no Memgraph engine on this node" (`btb.infra.engines.memgraph`). Import runs in
`STORAGE MODE IN_MEMORY_ANALYTICAL` (Memgraph's bulk-import mode) and `SHOW STORAGE INFO` is recorded
after the load. Query texts: `queries/cypher` + overrides in `queries/M1`, `queries/M2` where Memgraph's
dialect differs (none known yet: the shared texts have not been run on a Memgraph server here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from btb.engines.graph.falkordb import ChunkGraphScenario, HybridGraphScenario


class _OnMemgraph:
    graph_kind: ClassVar[str] = "memgraph"

    def load_graph(self, dataset_dir: Path, extra_indexes: tuple[tuple[str, str], ...] = ()) -> tuple[dict, dict]:
        s = self.session()
        if s.dialect == "memgraph":
            s.write("STORAGE MODE IN_MEMORY_ANALYTICAL")
        rows, phases = super().load_graph(dataset_dir, extra_indexes)  # type: ignore[misc]
        phases["storage_mode"] = "IN_MEMORY_ANALYTICAL" if s.dialect == "memgraph" else "-"
        return rows, phases

    def after_load(self) -> dict[str, Any]:
        s = self.session()
        if s.dialect != "memgraph":
            return {}
        return {"storage_info": {str(r[0]): r[1] for r in s.query("SHOW STORAGE INFO")}}


class MemgraphChunkScenario(_OnMemgraph, ChunkGraphScenario):
    id: ClassVar[str] = "M1"
    engines: ClassVar[tuple[str, ...]] = ("memgraph",)
    description: ClassVar[str] = "Memgraph only (Bolt): labelled property graph + series as (point, day) chunk nodes"


class MemgraphHybridScenario(_OnMemgraph, HybridGraphScenario):
    id: ClassVar[str] = "M2"
    engines: ClassVar[tuple[str, ...]] = ("memgraph", "postgres")
    description: ClassVar[str] = "Memgraph structure (Bolt) + PostgreSQL series, federated (ANY or temp table)"
