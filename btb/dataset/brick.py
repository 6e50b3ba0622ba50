"""The one table mapping btb's vocabulary to the Brick schema (brickschema.org, v1.3).

RDF exporters and graph loaders take class and relation names from BRICK so every paradigm uses the
same labels. Keys are (category, btb name); categories: relation, node, equipment, space, zone, point.
Terms Brick lacks (tenants, occupancy leases) use the `btb:` namespace instead of a wrong Brick term.
"""

from __future__ import annotations

BRICK_NS = "https://brickschema.org/schema/Brick#"
BTB_NS = "https://btb.example/schema#"

BRICK: dict[tuple[str, str], str] = {
    # relations (directed as in btb: src -> dst)
    ("relation", "CONTAINS"): "brick:hasPart",  # site/building/floor -> child location
    ("relation", "LOCATED_IN"): "brick:hasLocation",
    ("relation", "HAS_POINT"): "brick:hasPoint",
    ("relation", "FEEDS"): "brick:feeds",
    ("relation", "SERVES"): "brick:feeds",  # Brick: equipment feeds the space/zone it serves
    ("relation", "HAS_PART"): "brick:hasPart",
    ("relation", "IN_ZONE"): "brick:isPartOf",
    ("relation", "OCCUPIES"): "btb:occupies",
    # node types (refined by the categories below when the attribute is known)
    ("node", "Site"): "brick:Site",
    ("node", "Building"): "brick:Building",
    ("node", "Floor"): "brick:Floor",
    ("node", "Space"): "brick:Space",
    ("node", "Zone"): "brick:Zone",
    ("node", "Equipment"): "brick:Equipment",
    ("node", "Point"): "brick:Point",
    ("node", "Tenant"): "btb:Tenant",
    # equipment_type
    ("equipment", "AHU"): "brick:AHU",
    ("equipment", "VAV"): "brick:VAV",
    ("equipment", "FCU"): "brick:FCU",
    ("equipment", "Chiller"): "brick:Chiller",
    ("equipment", "Boiler"): "brick:Boiler",
    ("equipment", "Pump"): "brick:Pump",
    ("equipment", "Fan"): "brick:Fan",
    ("equipment", "Meter"): "brick:Electrical_Meter",
    ("equipment", "ElectricalPanel"): "brick:Panelboard",
    ("equipment", "UPS"): "brick:Uninterruptible_Power_Supply",
    ("equipment", "Server"): "brick:Equipment",
    ("equipment", "NetworkSwitch"): "brick:Equipment",
    ("equipment", "AccessController"): "brick:Access_Control_Equipment",
    ("equipment", "Camera"): "brick:Camera",
    ("equipment", "Elevator"): "brick:Elevator",
    ("equipment", "LightingCircuit"): "brick:Lighting",
    ("equipment", "Thermostat"): "brick:Thermostat",
    ("equipment", "WeatherStation"): "brick:Weather_Station",
    # space_type
    ("space", "office"): "brick:Office",
    ("space", "meeting"): "brick:Conference_Room",
    ("space", "corridor"): "brick:Hallway",
    ("space", "lobby"): "brick:Lobby",
    ("space", "technical"): "brick:Mechanical_Room",
    ("space", "it_room"): "brick:Server_Room",
    ("space", "storage"): "brick:Storage_Room",
    ("space", "restroom"): "brick:Restroom",
    ("space", "parking"): "brick:Parking_Space",
    # zone_kind
    ("zone", "hvac"): "brick:HVAC_Zone",
    ("zone", "security"): "brick:Zone",
    ("zone", "lighting"): "brick:Lighting_Zone",
    ("zone", "fire"): "brick:Fire_Zone",
    # point: "<point_kind>/<quantity>", falling back to "<point_kind>"
    ("point", "sensor/temperature"): "brick:Temperature_Sensor",
    ("point", "sensor/humidity"): "brick:Humidity_Sensor",
    ("point", "sensor/co2"): "brick:CO2_Sensor",
    ("point", "sensor/power"): "brick:Electric_Power_Sensor",
    ("point", "sensor/flow"): "brick:Air_Flow_Sensor",
    ("point", "sensor/pressure"): "brick:Pressure_Sensor",
    ("point", "sensor/position"): "brick:Position_Sensor",
    ("point", "sensor/speed"): "brick:Speed_Sensor",
    ("point", "sensor/occupancy"): "brick:Occupancy_Count_Sensor",
    ("point", "sensor/illuminance"): "brick:Illuminance_Sensor",
    ("point", "sensor/current"): "brick:Current_Sensor",
    ("point", "setpoint/temperature"): "brick:Temperature_Setpoint",
    ("point", "setpoint/flow"): "brick:Air_Flow_Setpoint",
    ("point", "command/position"): "brick:Position_Command",
    ("point", "command/speed"): "brick:Speed_Command",
    ("point", "meter/energy"): "brick:Energy_Sensor",
    ("point", "status/status"): "brick:On_Off_Status",
    ("point", "status/door"): "brick:Door_Status",
    ("point", "alarm/alarm"): "brick:Alarm",
    ("point", "sensor"): "brick:Sensor",
    ("point", "setpoint"): "brick:Setpoint",
    ("point", "command"): "brick:Command",
    ("point", "status"): "brick:Status",
    ("point", "alarm"): "brick:Alarm",
    ("point", "meter"): "brick:Sensor",
}


def brick_relation(rel: str) -> str:
    """Brick (or btb:) predicate for a btb relation."""
    return BRICK[("relation", rel)]


def brick_class(node_type: str, *, equipment_type: str | None = None, space_type: str | None = None,
                zone_kind: str | None = None, point_kind: str | None = None,
                quantity: str | None = None, stored: str | None = None) -> str:
    """Most specific class for a node: the dataset's own `brick_class` column when given (every node of a
    format-2 dataset has one, e.g. Zone_Air_Temperature_Sensor), else derived from its btb attributes."""
    if stored:
        return stored if stored.startswith("btb:") else f"brick:{stored}"
    specific = {
        "Equipment": ("equipment", equipment_type),
        "Space": ("space", space_type),
        "Zone": ("zone", zone_kind),
        "Point": ("point", f"{point_kind}/{quantity}"),
    }.get(node_type)
    if specific and specific[1] in {k for c, k in BRICK if c == specific[0]}:
        return BRICK[specific]
    if node_type == "Point" and ("point", str(point_kind)) in BRICK:
        return BRICK[("point", str(point_kind))]
    return BRICK[("node", node_type)]
