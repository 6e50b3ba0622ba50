"""Structure invariants for every scale (no series needed, so large scales stay cheap)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from btb.dataset.format import NODE_TYPES, RELATIONS
from btb.dataset.profiles import SCALES
from btb.dataset.structure import build_structure


@pytest.mark.parametrize("scale", list(SCALES))
def test_point_counts_within_15_percent_of_target(scale: str) -> None:
    sc = SCALES[scale]
    for seed in (1, 2):
        n = build_structure(sc, seed).n_points
        assert abs(n - sc.target_points) <= 0.15 * sc.target_points, (scale, seed, n)


@pytest.mark.parametrize("scale", ["tiny", "small", "medium"])
def test_no_dangling_edges_and_valid_vocabulary(scale: str) -> None:
    s = build_structure(SCALES[scale], 3)
    nodes = s.nodes_table().to_pydict()
    ids = nodes["id"]
    assert len(ids) == len(set(ids)), "ids must be unique"
    assert set(nodes["type"]) <= set(NODE_TYPES)
    known = set(ids)
    for src, rel, dst in s.edges:
        assert rel in RELATIONS
        assert src in known and dst in known, (src, rel, dst)
    assert len(set(s.edges)) == len(s.edges), "no duplicate edges"


def test_point_idx_dense_and_grouped() -> None:
    s = build_structure(SCALES["small"], 1)
    t = s.nodes_table().to_pydict()
    idx = sorted(i for i, ty in zip(t["point_idx"], t["type"]) if ty == "Point")
    assert idx == list(range(s.n_points))


def test_topology_rules() -> None:
    s = build_structure(SCALES["tiny"], 5)
    t = s.nodes_table().to_pydict()
    attr = {i: dict(zip(t, row)) for i, row in zip(t["id"], zip(*t.values()))}
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    inn: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a, r, b in s.edges:
        out[(a, r)].append(b)
        inn[(b, r)].append(a)
    types = Counter(attr[e]["equipment_type"] for e in attr if attr[e]["type"] == "Equipment")
    for needed in ("AHU", "VAV", "Chiller", "Boiler", "Meter", "ElectricalPanel", "UPS", "Server",
                   "NetworkSwitch", "AccessController", "LightingCircuit"):
        assert types[needed] > 0, needed
    # UPS feeds IT equipment; main meter feeds sub-meters
    for e, a in attr.items():
        if a.get("equipment_type") == "UPS":
            assert {attr[d]["equipment_type"] for d in out[(e, "FEEDS")]} <= {"Server", "NetworkSwitch"}
        if a.get("meter_role") == "main":
            assert all(attr[d]["meter_role"] == "sub" for d in out[(e, "FEEDS")])
    # floors: basements < 0, ground 0, roof last
    for b in (i for i in attr if attr[i]["type"] == "Building"):
        levels = sorted(attr[f]["level"] for f in out[(b, "CONTAINS")])
        roof = [attr[f] for f in out[(b, "CONTAINS")] if attr[f]["floor_type"] == "roof"]
        assert levels[0] < 0 and 0 in levels and roof[0]["level"] == levels[-1]
    # every tenant space is served by a sub-meter with an energy point; a tenant stays in one building
    for tnt in (i for i in attr if attr[i]["type"] == "Tenant"):
        spaces = out[(tnt, "OCCUPIES")]
        assert spaces
        assert len({sp.split(":")[1] for sp in spaces}) == 1
        for sp in spaces:
            meters = [m for m in inn[(sp, "SERVES")] if attr[m]["equipment_type"] == "Meter"]
            assert any(attr[p]["quantity"] == "energy" for m in meters for p in out[(m, "HAS_POINT")])


def test_anomalies_exist_for_q5() -> None:
    s = build_structure(SCALES["tiny"], 1)
    t = s.nodes_table().to_pydict()
    located = {a for a, r, _ in s.edges if r == "LOCATED_IN"}
    pointed = {b for _, r, b in s.edges if r == "HAS_POINT"}
    unlocated = [i for i, ty in zip(t["id"], t["type"]) if ty == "Equipment" and i not in located]
    orphans = [i for i, ty in zip(t["id"], t["type"]) if ty == "Point" and i not in pointed]
    assert 1 <= len(unlocated) <= 0.05 * t["type"].count("Equipment")
    assert 1 <= len(orphans) <= 0.05 * t["type"].count("Point")


def test_structure_is_seeded() -> None:
    a, b, c = (build_structure(SCALES["tiny"], s) for s in (1, 1, 2))
    assert a.edges == b.edges and a.nodes == b.nodes
    assert a.edges != c.edges or a.nodes != c.nodes
