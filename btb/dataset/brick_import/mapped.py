"""The result of mapping a model: btb nodes and edges, each point's class, and the summary of decisions."""

from __future__ import annotations

from dataclasses import dataclass, field

from btb.dataset.brick_import.summary import ImportSummary


@dataclass
class Mapped:
    """btb structure of a model: node dicts (NODE_SCHEMA columns), edges, and each point's mapped class."""

    nodes: list[dict] = field(default_factory=list)  # non-point nodes, then points (no point_idx yet unless given)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    point_class: dict[str, str] = field(default_factory=dict)  # point id -> class used for its series model
    summary: ImportSummary = field(default_factory=ImportSummary)

    def of(self, typ: str) -> list[dict]:
        return [n for n in self.nodes if n["type"] == typ]
