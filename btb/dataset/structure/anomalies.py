"""Seeded integrity problems, so Q5 has a non-empty answer: a few cameras/thermostats lose their location,
a few thermostat points lose their equipment (the edges are dropped, the nodes stay)."""

from __future__ import annotations

from btb.dataset.structure.builder import Builder


def add_anomalies(bld: Builder) -> None:
    """Drop ~0.5 % (at least 2) of the candidate LOCATED_IN and HAS_POINT edges, drawn from the builder's RNG."""
    rng = bld.rng
    cands = sorted(e for e in bld.equip_located if e.endswith((":cam", ":tstat")))
    n = max(2, len(cands) // 200)
    drop_edges = set()
    loc_index = {(s, d): i for i, (s, r, d) in enumerate(bld.s.edges) if r == "LOCATED_IN"}
    for e in rng.choice(cands, size=min(n, len(cands)), replace=False):
        drop_edges.add(loc_index[(str(e), bld.equip_located[str(e)])])
    n = max(2, len(bld.orphan_candidates) // 200)
    for ci in rng.choice(bld.orphan_candidates, size=min(n, len(bld.orphan_candidates)), replace=False):
        drop_edges.add(bld.has_point_edge[int(ci)])
    bld.s.edges = [e for i, e in enumerate(bld.s.edges) if i not in drop_edges]
