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
        assert brick_class(n["type"], stored=n["brick_class"]).startswith(("brick:", "btb:")), n
        generic = BRICK[("node", n["type"])]
        if n["type"] == "Equipment" and n["equipment_type"] not in ("Server", "NetworkSwitch"):
            assert cls != generic, n
        if n["type"] == "Space":
            assert cls != generic, n
        if n["type"] == "Point":
            assert cls != generic, n
            assert ("point", f"{n['point_kind']}/{n['quantity']}") in BRICK or n["quantity"] in ("charge", "load"), n
    assert brick_class("Equipment", equipment_type="AHU") == "brick:AHU"


def test_every_node_stores_a_specific_brick_class() -> None:
    """The dataset carries the class (Q4/Q7/Q13 select by it): zone air temperature sensors are told apart
    from setpoints, supply air and water temperatures, and outside air."""
    t = build_structure(SCALES["small"], 1).nodes_table().to_pylist()
    assert all(n["brick_class"] for n in t)
    by_name = {}
    for n in t:
        if n["type"] == "Point":
            by_name.setdefault((n["quantity"], n["point_kind"]), set()).add(n["brick_class"])
            if n["brick_class"] == "Zone_Air_Temperature_Sensor":
                assert n["quantity"] == "temperature" and n["point_kind"] == "sensor"
    temps = by_name[("temperature", "sensor")]
    assert {"Zone_Air_Temperature_Sensor", "Outside_Air_Temperature_Sensor", "Supply_Air_Temperature_Sensor",
            "Chilled_Water_Supply_Temperature_Sensor"} <= temps
    assert by_name[("temperature", "setpoint")] >= {"Zone_Air_Temperature_Setpoint"}
    assert by_name[("energy", "meter")] == {"Electric_Energy_Sensor"}
    equip = {n["equipment_type"]: n["brick_class"] for n in t if n["type"] == "Equipment" and n["meter_role"] is None}
    assert equip["VAV"] == "VAV" and equip["AHU"] == "AHU" and equip["WeatherStation"] == "Weather_Station"
    assert brick_class("Point", stored="Zone_Air_Temperature_Sensor") == "brick:Zone_Air_Temperature_Sensor"
    assert brick_relation("FEEDS") == "brick:feeds" and brick_relation("HAS_POINT") == "brick:hasPoint"
