"""The messy model (tests/data/brick/messy.ttl): every documented case handled as docs/brick-import.md says."""

from __future__ import annotations

import pytest

from btb.dataset.brick_import.mapping import map_model
from btb.dataset.brick_import.parse import read_model


@pytest.fixture(scope="module")
def messy(models, hierarchy):
    return map_model(read_model(models / "messy.ttl"), hierarchy, model_name="messy")


def _node(m, nid):
    return next(n for n in m.nodes if n["id"] == nid)


def test_points_held_by_rooms_get_one_inferred_equipment_per_room_located_in_it(messy):
    edges = set(messy.edges)
    for room, point in (("room101", "rm101_temp"), ("room102", "rm102_co2")):
        eq = f"{room}/points"
        assert _node(messy, eq)["equipment_type"] == "PointGroup"
        assert (eq, "HAS_POINT", point) in edges and (eq, "LOCATED_IN", room) in edges
    assert messy.summary.inferred["points attached to a Space moved to its PointGroup"] == 2


def test_untyped_entity_gets_its_role_from_relations_and_one_without_role_is_dropped(messy):
    assert _node(messy, "mystery_box")["type"] == "Equipment"
    assert ("mystery_box", "HAS_POINT", "mystery_point") in set(messy.edges)
    assert messy.summary.inferred["untyped entity, role from its relations -> Equipment"] == 1
    assert not any(n["id"] == "floating" for n in messy.nodes)
    assert messy.summary.dropped["class NotABrickClass (not a Brick class) entity with no relation that implies a role"] == 1


def test_cycles_lose_exactly_the_closing_edge(messy):
    edges = set(messy.edges)
    assert ("ahu1", "FEEDS", "vav1") in edges and ("vav1", "FEEDS", "vav2") in edges
    assert ("vav2", "FEEDS", "ahu1") not in edges
    assert messy.summary.dropped["FEEDS edge closing a cycle"] == 1
    # suite A ⊃ suite B ⊃ suite A: the closing edge goes; btb has no sub-spaces, so B joins A's floor
    assert messy.summary.dropped["hasPart Space -> Space edge closing a cycle"] == 1
    assert ("floor1", "CONTAINS", "suiteB") in edges
    assert not any(r == "CONTAINS" and s.startswith("suite") for s, r, _ in edges)


def test_every_edge_is_one_the_dataset_format_allows(messy):
    """The typed scenarios (P1's link tables) accept exactly DESIGN §2's (relation, source, target) triples."""
    from btb.engines.postgres.relational import LINKS

    types = {n["id"]: n["type"] for n in messy.nodes}
    assert all((r, types[s], types[d]) in LINKS for s, r, d in messy.edges)


def test_classes_map_through_the_hierarchy_and_several_brick_versions(messy):
    assert _node(messy, "vav1")["equipment_type"] == "VAV"  # Variable_Air_Volume_Box_With_Reheat ⊂ … ⊂ VAV
    assert _node(messy, "ahu1")["equipment_type"] == "AHU"  # Air_Handling_Unit ≡ AHU
    assert _node(messy, "vav1_zat")["brick_class"] == "Zone_Air_Temperature_Sensor"  # Average_… ⊂ Zone_…
    assert _node(messy, "fan1")["equipment_type"] == "Fan"  # Exhaust_Fan
    assert ("fan1", "HAS_POINT", "fan1_status") in set(messy.edges)  # Brick 1.0 BrickFrame hasPoint
    smoke = _node(messy, "smoke1")  # Brick 1.0 class unknown to 1.1–1.5: its suffix says Alarm
    assert smoke["type"] == "Point" and smoke["point_kind"] == "alarm"
    meter = _node(messy, "meter1")  # a model-declared subclass of Building_Electrical_Meter
    assert meter["equipment_type"] == "Meter" and meter["meter_role"] == "main" and meter["domain"] == "electrical"


def test_blank_node_equipment_has_a_stable_id(models, hierarchy, messy):
    pumps = [n for n in messy.nodes if n.get("equipment_type") == "Pump"]
    assert len(pumps) == 1 and pumps[0]["id"].startswith("bnode:")
    again = map_model(read_model(models / "messy.ttl"), hierarchy, model_name="messy")
    assert [n for n in again.nodes if n.get("equipment_type") == "Pump"][0]["id"] == pumps[0]["id"]


def test_missing_locations_floor_without_building_and_zone_feeds(messy):
    edges = set(messy.edges)
    assert ("bldg", "CONTAINS", "floor2") in edges  # the only building adopts the orphan floor
    assert ("vav1", "SERVES", "room201") in edges  # feeds a zone -> serves the zone's spaces
    assert ("vav1", "LOCATED_IN", "room201") in edges  # unlocated, serves exactly one space
    assert ("ahu1", "LOCATED_IN", "room102") in edges
    assert not any(s == "vav2" and r == "LOCATED_IN" for s, r, _ in edges)  # serves nothing: left unlocated
    assert messy.summary.dropped["hasPart Space -> Floor"] == 1


def test_a_brick_class_without_btb_node_type_is_dropped_once_and_named(messy):
    assert not any(n["id"] == "hw_loop" for n in messy.nodes)
    assert messy.summary.dropped["Brick class btb has no node type for (System, Collection, Loop, …)"] == 1
    assert messy.summary.mapped["Hot_Water_Loop"] == {"(dropped: no btb node type)": 1}
    assert sum(v for k, v in messy.summary.dropped.items() if "Hot_Water_Loop" in k) == 0  # not counted twice
