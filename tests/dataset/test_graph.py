"""The structure graph keeps only what a node has, and one object per repeated string (bounded by the structure)."""

from __future__ import annotations

import pyarrow as pa

from btb.dataset.graph import Graph


def _graph() -> Graph:
    nodes = pa.table({"id": ["b", "e1", "e2", "p1"], "type": ["Building", "Equipment", "Equipment", "Point"],
                      "unit": [None, None, None, "degC"], "equipment_type": [None, "AHU", "AHU", None]})
    edges = pa.table({"src": ["e1", "e2", "e1"], "rel": ["LOCATED_IN", "LOCATED_IN", "HAS_POINT"],
                      "dst": ["b", "b", "p1"]})
    return Graph.from_tables(nodes, edges)


def test_an_absent_attribute_reads_as_none_and_is_not_stored():
    g = _graph()
    assert g.attrs["b"]["unit"] is None and g.get("b", "unit") is None and "unit" not in g.attrs["b"]
    assert g.attrs["p1"]["unit"] == "degC" and g.typ("e1") == "Equipment"
    assert g.succ("HAS_POINT", "e1") == ["p1"] and sorted(g.pred("LOCATED_IN", "b", "Equipment")) == ["e1", "e2"]


def test_repeated_strings_and_ids_are_one_object_each():
    g = _graph()
    assert g.attrs["e1"]["equipment_type"] is g.attrs["e2"]["equipment_type"]
    ids = {k: k for k in g.attrs}
    for rel in g.out:
        for s, targets in g.out[rel].items():
            assert s is ids[s] and all(t is ids[t] for t in targets)
