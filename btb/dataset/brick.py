"""The one table mapping btb's node classes and relations to the Brick schema (brickschema.org).

RDF exporters and graph loaders take labels from here so every paradigm uses the same vocabulary.
Where Brick has no exact class (e.g. a generic ``Thermostat`` point host) the nearest superclass is used.
"""

from __future__ import annotations

BRICK_NS = "https://brickschema.org/schema/Brick#"

# btb relation -> Brick relation (all directed as in btb: src -> dst)
RELATION_TO_BRICK: dict[str, str] = {
    "CONTAINS": "brick:hasPart",  # site/building/floor -> child location (Brick locations use hasPart)
    "LOCATED_IN": "brick:hasLocation",
    "HAS_POINT": "brick:hasPoint",
    "FEEDS": "brick:feeds",
    "SERVES": "brick:feeds",  # Brick models equipment serving a space as feeds -> HVAC_Zone/Space
    "HAS_PART": "brick:hasPart",
    "IN_ZONE": "brick:isPartOf",
    "OCCUPIES": "brick:hasLocation",  # tenant -> space (no Brick tenant class; closest relation)
}

# node type -> Brick class (Equipment/Space/Zone/Floor refined by the tables below)
NODE_TYPE_TO_BRICK: dict[str, str] = {
    "Site": "brick:Site",
    "Building": "brick:Building",
    "Floor": "brick:Floor",
    "Space": "brick:Space",
    "Zone": "brick:Zone",
    "Equipment": "brick:Equipment",
    "Point": "brick:Point",
    "Tenant": "brick:Tenant",  # not in Brick 1.3 core; exported as a subclass placeholder
}

EQUIPMENT_TO_BRICK: dict[str, str] = {
    "AHU": "brick:AHU",
    "VAV": "brick:VAV",
    "FCU": "brick:FCU",
    "Chiller": "brick:Chiller",
    "Boiler": "brick:Boiler",
    "Pump": "brick:Pump",
    "Fan": "brick:Fan",
    "Meter": "brick:Electrical_Meter",
    "ElectricalPanel": "brick:Panelboard",
    "UPS": "brick:Uninterruptible_Power_Supply",
    "Server": "brick:Equipment",
    "NetworkSwitch": "brick:Equipment",
    "AccessController": "brick:Access_Control_Equipment",
    "Camera": "brick:Camera",
    "Elevator": "brick:Elevator",
    "LightingCircuit": "brick:Lighting",
    "Thermostat": "brick:Thermostat",
}

SPACE_TO_BRICK: dict[str, str] = {
    "office": "brick:Office",
    "meeting": "brick:Conference_Room",
    "corridor": "brick:Hallway",
    "lobby": "brick:Lobby",
    "technical": "brick:Mechanical_Room",
    "it_room": "brick:Server_Room",
    "storage": "brick:Storage_Room",
    "restroom": "brick:Restroom",
    "parking": "brick:Parking_Space",
}

ZONE_TO_BRICK: dict[str, str] = {
    "hvac": "brick:HVAC_Zone",
    "security": "brick:Zone",
    "lighting": "brick:Lighting_Zone",
    "fire": "brick:Fire_Zone",
}

# (point_kind, quantity) -> Brick point class; falls back to POINT_KIND_TO_BRICK[kind]
POINT_TO_BRICK: dict[tuple[str, str], str] = {
    ("sensor", "temperature"): "brick:Temperature_Sensor",
    ("sensor", "humidity"): "brick:Humidity_Sensor",
    ("sensor", "co2"): "brick:CO2_Sensor",
    ("sensor", "power"): "brick:Electric_Power_Sensor",
    ("sensor", "flow"): "brick:Air_Flow_Sensor",
    ("sensor", "pressure"): "brick:Pressure_Sensor",
    ("sensor", "position"): "brick:Position_Sensor",
    ("sensor", "speed"): "brick:Speed_Sensor",
    ("sensor", "occupancy"): "brick:Occupancy_Count_Sensor",
    ("sensor", "illuminance"): "brick:Illuminance_Sensor",
    ("sensor", "charge"): "brick:Sensor",
    ("setpoint", "temperature"): "brick:Temperature_Setpoint",
    ("setpoint", "flow"): "brick:Air_Flow_Setpoint",
    ("command", "position"): "brick:Position_Command",
    ("command", "speed"): "brick:Speed_Command",
    ("meter", "energy"): "brick:Energy_Sensor",
    ("status", "status"): "brick:On_Off_Status",
    ("status", "door"): "brick:Door_Status",
    ("alarm", "alarm"): "brick:Alarm",
}
POINT_KIND_TO_BRICK: dict[str, str] = {
    "sensor": "brick:Sensor",
    "setpoint": "brick:Setpoint",
    "command": "brick:Command",
    "status": "brick:Status",
    "alarm": "brick:Alarm",
    "meter": "brick:Sensor",
}


def brick_class(node_type: str, *, equipment_type: str | None = None, space_type: str | None = None,
                zone_kind: str | None = None, point_kind: str | None = None,
                quantity: str | None = None) -> str:
    """Most specific Brick class for a node, from its btb type and attributes."""
    if node_type == "Equipment" and equipment_type:
        return EQUIPMENT_TO_BRICK.get(equipment_type, "brick:Equipment")
    if node_type == "Space" and space_type:
        return SPACE_TO_BRICK.get(space_type, "brick:Space")
    if node_type == "Zone" and zone_kind:
        return ZONE_TO_BRICK.get(zone_kind, "brick:Zone")
    if node_type == "Point" and point_kind:
        return POINT_TO_BRICK.get((point_kind, quantity or ""), POINT_KIND_TO_BRICK.get(point_kind, "brick:Point"))
    return NODE_TYPE_TO_BRICK[node_type]
