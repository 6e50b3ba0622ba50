"""Every class and relation the generator emits has a Brick (or btb:) name in the one table."""

from __future__ import annotations

from btb.dataset.brick import BRICK, brick_class, brick_relation
from btb.dataset.format import RELATIONS
from btb.dataset.profiles import SCALES
from btb.dataset.structure import build_structure


def test_every_generated_term_is_mapped() -> None:
    assert all(v.startswith(("brick:", "btb:")) for v in BRICK.values())
    for rel in RELATIONS:
        assert brick_relation(rel)
    s = build_structure(SCALES["tiny"], 1)
    t = s.nodes_table().to_pylist()
    for n in t:
        cls = brick_class(n["type"], equipment_type=n["equipment_type"], space_type=n["space_type"],
                          zone_kind=n["zone_kind"], point_kind=n["point_kind"], quantity=n["quantity"])
        generic = BRICK[("node", n["type"])]
        if n["type"] == "Equipment" and n["equipment_type"] not in ("Server", "NetworkSwitch"):
            assert cls != generic, n
        if n["type"] == "Space":
            assert cls != generic, n
        if n["type"] == "Point":
            assert cls != generic, n
            assert ("point", f"{n['point_kind']}/{n['quantity']}") in BRICK or n["quantity"] in ("charge", "load"), n
    assert brick_class("Equipment", equipment_type="AHU") == "brick:AHU"
    assert brick_relation("FEEDS") == "brick:feeds" and brick_relation("HAS_POINT") == "brick:hasPoint"
