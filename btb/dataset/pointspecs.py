"""What points each equipment type carries, and the series model behind each point.

One row per point template: identity (kind, quantity, unit, interval) plus the parameters the
vectorised series generator needs (base level, occupancy amplitude, noise, clip range, daily shape).
Keeping them in one table makes the realism of the data reviewable in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Series models, in the order their points get point_idx (series files are sorted by point_idx).
MODELS = ("ou", "meter", "door", "status", "alarm")

# Daily shapes (btb.dataset.series.day_shapes); index stored per point.
SHAPE_FLAT, SHAPE_OCC, SHAPE_HVAC, SHAPE_OUTDOOR, SHAPE_IT = 0, 1, 2, 3, 4
SHAPES = ("flat", "occupancy", "hvac", "outdoor", "it")


@dataclass(frozen=True)
class PointSpec:
    name: str
    kind: str  # sensor, setpoint, command, status, alarm, meter
    quantity: str
    unit: str
    interval_s: int
    model: str  # one of MODELS
    base: float = 0.0  # level when the shape is 0 (meters: mean kW; events: probability per slot)
    amp: float = 0.0  # added at shape 1 (occupied / plant running)
    sigma: float = 0.0  # stationary std of the mean-reverting noise (meters: relative)
    lo: float = -1e9
    hi: float = 1e9
    shape: int = SHAPE_FLAT
    jitter: float = 0.0  # per-point std added to base, so spaces differ
    brick: str = "Point"  # Brick class (without the brick: prefix), stored on the node as brick_class
    p: float = 1.0  # probability that an equipment carries this optional point (drawn by seed)


def opt(spec: PointSpec, p: float) -> PointSpec:
    """The same template point, present with probability p (optional points of real BMS models)."""
    return replace(spec, p=p)


def cls(spec: PointSpec, brick: str) -> PointSpec:
    return replace(spec, brick=brick)


def _temp(name: str, interval: int, base: float, amp: float, sigma: float, shape: int, jitter: float = 0.8,
          kind: str = "sensor", brick: str = "Temperature_Sensor") -> PointSpec:
    return PointSpec(name, kind, "temperature", "degC", interval, "ou", base, amp, sigma, -30.0, 95.0, shape, jitter,
                     brick)


def _power(name: str, interval: int, base: float, amp: float, shape: int) -> PointSpec:
    return PointSpec(name, "sensor", "power", "kW", interval, "ou", base, amp, 0.08 * (base + amp), 0.01 * base + 1e-3,
                     1e6, shape, 0.1 * base, "Electric_Power_Sensor")


# Meters: the "meter" model makes both points of every meter in one pass (btb.dataset.series): `demand` is
# the meter's own load (a mean-reverting level like the other power points), the meter's power is its own
# load plus its child meters' power, and the register is the exact running integral of that power.
def _meter_power(base: float, amp: float, shape: int) -> PointSpec:
    return PointSpec("power", "sensor", "power", "kW", 900, "meter", base, amp, 0.08 * (base + amp), 0.01 * base, 1e9, shape,
                     0.1 * base, "Electric_Power_Sensor")


def _meter_energy(base: float, amp: float, shape: int) -> PointSpec:
    return PointSpec("energy", "meter", "energy", "kWh", 900, "meter", 0.0, 0.0, 0.0, 0.0, 1e15, shape, 0.0,
                     "Electric_Energy_Sensor")


STATUS = PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 1.0, 0.0, 0.0, 1.0, SHAPE_HVAC,
                   brick="On_Off_Status")
# Alarm rate per point per 10-min slot pair; btb.dataset.structure spreads it log-uniformly per point, so
# most alarm points fire a few times a week and a few chatter (real BMS alarm logs look like this).
ALARM = PointSpec("alarm", "alarm", "alarm", "bool", 300, "alarm", 0.004, 0.0, 0.0, 0.0, 1.0, brick="Alarm")


def _door(name: str) -> PointSpec:
    return PointSpec(name, "status", "door", "bool", 60, "door", 0.002, 0.05, 0.0, 0.0, 1.0, SHAPE_OCC,
                     brick="Door_Status")


# Point templates per equipment type. Occupied spaces (office/meeting) get SHAPE_OCC for their zone
# sensors; btb.dataset.structure swaps in the space's own shape where a template says SHAPE_OCC.
# Optional points (p < 1) are drawn per equipment by seed, as real models differ from box to box
# (Soda Hall VAVs carry 1–4 points): a VAV always has its zone air temperature, mean ≈ 4.9 points, 1–11.
ZAT = "Zone_Air_Temperature_Sensor"
POINTS: dict[str, tuple[PointSpec, ...]] = {
    "VAV": (
        _temp("zone_temp", 300, 19.0, 3.6, 0.7, SHAPE_OCC, brick=ZAT),
        opt(_temp("zone_temp_sp", 900, 18.0, 4.0, 0.05, SHAPE_OCC, jitter=0.5, kind="setpoint",
                  brick="Zone_Air_Temperature_Setpoint"), 0.7),
        opt(PointSpec("damper_cmd", "command", "position", "%", 300, "ou", 15, 50, 8, 0, 100, SHAPE_OCC, 5,
                      "Damper_Position_Command"), 0.8),
        opt(PointSpec("airflow", "sensor", "flow", "m3/h", 300, "ou", 60, 300, 30, 0, 3000, SHAPE_OCC, 20,
                      "Supply_Air_Flow_Sensor"), 0.7),
        opt(PointSpec("airflow_sp", "setpoint", "flow", "m3/h", 900, "ou", 80, 300, 1, 0, 3000, SHAPE_OCC, 20,
                      "Supply_Air_Flow_Setpoint"), 0.4),
        opt(PointSpec("co2", "sensor", "co2", "ppm", 300, "ou", 430, 420, 45, 380, 3000, SHAPE_OCC, 20,
                      "CO2_Level_Sensor"), 0.2),
        opt(PointSpec("humidity", "sensor", "humidity", "%RH", 900, "ou", 38, 6, 3, 5, 95, SHAPE_OCC, 4,
                      "Zone_Air_Humidity_Sensor"), 0.1),
        opt(PointSpec("occupancy", "sensor", "occupancy", "count", 900, "ou", 0, 6, 1, 0, 60, SHAPE_OCC, 1,
                      "Occupancy_Count_Sensor"), 0.1),
        opt(PointSpec("reheat_cmd", "command", "position", "%", 900, "ou", 35, -20, 10, 0, 100, SHAPE_OCC, 5,
                      "Valve_Position_Command"), 0.5),
        opt(STATUS, 0.2),
        opt(ALARM, 0.2),
    ),
    "FCU": (
        _temp("zone_temp", 300, 19.5, 2.5, 0.8, SHAPE_HVAC, brick=ZAT),
        opt(_temp("zone_temp_sp", 900, 18.0, 3.0, 0.05, SHAPE_HVAC, jitter=0.3, kind="setpoint",
                  brick="Zone_Air_Temperature_Setpoint"), 0.7),
        opt(PointSpec("fan_cmd", "command", "speed", "%", 300, "ou", 5, 55, 10, 0, 100, SHAPE_HVAC, 5,
                      "Fan_Speed_Command"), 0.8),
        opt(PointSpec("valve_cmd", "command", "position", "%", 300, "ou", 10, 40, 10, 0, 100, SHAPE_HVAC, 5,
                      "Valve_Position_Command"), 0.8),
        opt(STATUS, 0.5),
        opt(ALARM, 0.3),
    ),
    "Thermostat": (
        _temp("temp", 300, 19.5, 2.0, 0.9, SHAPE_HVAC, brick=ZAT),
        opt(PointSpec("humidity", "sensor", "humidity", "%RH", 900, "ou", 40, 4, 3, 5, 95, SHAPE_HVAC, 4,
                      "Zone_Air_Humidity_Sensor"), 0.5),
    ),
    "LightingCircuit": (
        _power("power", 900, 0.05, 0.8, SHAPE_OCC),
        opt(PointSpec("illuminance", "sensor", "illuminance", "lux", 900, "ou", 5, 450, 25, 0, 2000, SHAPE_OCC, 2,
                      "Illuminance_Sensor"), 0.7),
        PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 1.0, 0, 0, 1, SHAPE_OCC,
                  brick="On_Off_Status"),
    ),
    "AHU": (
        _temp("supply_air_temp", 60, 18.0, -3.0, 0.5, SHAPE_HVAC, jitter=0.5, brick="Supply_Air_Temperature_Sensor"),
        _temp("return_air_temp", 60, 19.5, 2.5, 0.5, SHAPE_HVAC, jitter=0.5, brick="Return_Air_Temperature_Sensor"),
        opt(_temp("mixed_air_temp", 300, 14.0, 2.0, 0.8, SHAPE_HVAC, jitter=0.5,
                  brick="Mixed_Air_Temperature_Sensor"), 0.7),
        opt(_temp("supply_air_temp_sp", 900, 17.0, -2.0, 0.05, SHAPE_HVAC, jitter=0.3, kind="setpoint",
                  brick="Supply_Air_Temperature_Setpoint"), 0.8),
        PointSpec("supply_pressure", "sensor", "pressure", "Pa", 60, "ou", 20, 230, 15, 0, 1500, SHAPE_HVAC, 10,
                  "Supply_Air_Static_Pressure_Sensor"),
        opt(PointSpec("supply_flow", "sensor", "flow", "m3/h", 60, "ou", 300, 9000, 400, 0, 50000, SHAPE_HVAC, 200,
                      "Supply_Air_Flow_Sensor"), 0.8),
        opt(PointSpec("return_humidity", "sensor", "humidity", "%RH", 300, "ou", 38, 5, 3, 5, 95, SHAPE_HVAC, 3,
                      "Return_Air_Humidity_Sensor"), 0.6),
        opt(PointSpec("filter_dp", "sensor", "pressure", "Pa", 900, "ou", 90, 40, 5, 0, 600, SHAPE_HVAC, 20,
                      "Filter_Differential_Pressure_Sensor"), 0.7),
        PointSpec("cooling_valve_cmd", "command", "position", "%", 300, "ou", 0, 35, 8, 0, 100, SHAPE_HVAC, 5,
                  "Cooling_Valve_Command"),
        PointSpec("heating_valve_cmd", "command", "position", "%", 300, "ou", 10, 40, 8, 0, 100, SHAPE_HVAC, 5,
                  "Heating_Valve_Command"),
        STATUS,
        ALARM,
    ),
    "Fan": (
        PointSpec("speed", "sensor", "speed", "%", 60, "ou", 0, 70, 6, 0, 100, SHAPE_HVAC, 5, "Speed_Sensor"),
        _power("power", 60, 0.1, 5.0, SHAPE_HVAC),
        STATUS,
    ),
    "Pump": (
        PointSpec("speed", "sensor", "speed", "%", 60, "ou", 0, 75, 5, 0, 100, SHAPE_HVAC, 5, "Speed_Sensor"),
        _power("power", 60, 0.1, 7.5, SHAPE_HVAC),
        STATUS,
    ),
    "Chiller": (
        _temp("chw_supply_temp", 60, 9.0, -2.5, 0.3, SHAPE_HVAC, jitter=0.3,
              brick="Chilled_Water_Supply_Temperature_Sensor"),
        _temp("chw_return_temp", 60, 10.0, 2.0, 0.4, SHAPE_HVAC, jitter=0.3,
              brick="Chilled_Water_Return_Temperature_Sensor"),
        _temp("condenser_temp", 300, 22.0, 8.0, 1.0, SHAPE_HVAC, jitter=0.5,
              brick="Condenser_Water_Temperature_Sensor"),
        _power("power", 60, 4.0, 160.0, SHAPE_HVAC),
        STATUS,
        ALARM,
    ),
    "Boiler": (
        _temp("hw_supply_temp", 60, 45.0, 25.0, 1.0, SHAPE_HVAC, jitter=0.5, brick="Hot_Water_Supply_Temperature_Sensor"),
        _temp("hw_return_temp", 60, 40.0, 15.0, 1.0, SHAPE_HVAC, jitter=0.5, brick="Hot_Water_Return_Temperature_Sensor"),
        _power("power", 300, 1.0, 40.0, SHAPE_HVAC),
        STATUS,
        ALARM,
    ),
    # one weather station per building (on the roof): the building's only outside air temperature
    "WeatherStation": (
        _temp("outside_air_temp", 300, 4.0, 4.0, 1.2, SHAPE_OUTDOOR, jitter=0.2, brick="Outside_Air_Temperature_Sensor"),
        PointSpec("outside_humidity", "sensor", "humidity", "%RH", 900, "ou", 75, -10, 5, 5, 100, SHAPE_OUTDOOR, 3,
                  "Outside_Air_Humidity_Sensor"),
    ),
    # meters: own load (base + amp·shape); the generator adds the child meters' power (see _meter_power)
    "MainMeter": (_meter_energy(0, 0, SHAPE_HVAC), _meter_power(8.0, 12.0, SHAPE_HVAC)),
    "PlantMeter": (_meter_energy(0, 0, SHAPE_HVAC), _meter_power(6.0, 60.0, SHAPE_HVAC)),
    "FloorMeter": (_meter_energy(0, 0, SHAPE_OCC), _meter_power(2.0, 6.0, SHAPE_OCC)),
    "TenantMeter": (_meter_energy(0, 0, SHAPE_OCC), _meter_power(1.5, 9.0, SHAPE_OCC)),
    "ElectricalPanel": (
        _power("power", 300, 3.0, 20.0, SHAPE_OCC),
        opt(PointSpec("current", "sensor", "current", "A", 300, "ou", 5, 35, 3, 0, 1000, SHAPE_OCC, 1,
                      "Current_Sensor"), 0.7),
    ),
    "UPS": (
        _power("power", 60, 6.0, 0.0, SHAPE_IT),
        PointSpec("battery_charge", "sensor", "charge", "%", 300, "ou", 97, 0, 1.5, 0, 100, SHAPE_FLAT, 1,
                  "Sensor"),
        PointSpec("load", "sensor", "load", "%", 300, "ou", 45, 0, 4, 0, 100, SHAPE_IT, 5, "Sensor"),
        PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 0.0, 0, 0, 1, SHAPE_FLAT,
                  brick="On_Off_Status"),
        ALARM,
    ),
    "Server": (
        _power("power", 300, 0.35, 0.0, SHAPE_IT),
        opt(_temp("inlet_temp", 300, 22.0, 0.0, 1.0, SHAPE_IT, jitter=1.0, brick="Air_Temperature_Sensor"), 0.8),
        opt(PointSpec("cpu_load", "sensor", "load", "%", 300, "ou", 30, 25, 10, 0, 100, SHAPE_OCC, 8, "Sensor"), 0.6),
    ),
    "NetworkSwitch": (
        _power("power", 300, 0.15, 0.0, SHAPE_IT),
        PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 0.0, 0, 0, 1, SHAPE_FLAT,
                  brick="On_Off_Status"),
    ),
    "AccessController": (_door("door"), opt(ALARM, 0.5)),
    "Camera": (PointSpec("status", "status", "status", "bool", 3600, "status", 0.0, 0.0, 0, 0, 1, SHAPE_FLAT,
                         brick="On_Off_Status"),),
    "Elevator": (
        _power("power", 60, 0.5, 6.0, SHAPE_OCC),
        PointSpec("speed", "sensor", "speed", "m/s", 60, "ou", 0.1, 0.8, 0.3, 0, 3, SHAPE_OCC, 0.05, "Speed_Sensor"),
        STATUS,
    ),
}

# Brick class of each equipment type (btb:… would mark a term Brick lacks; every type here has one).
EQUIPMENT_BRICK: dict[str, str] = {
    "AHU": "AHU", "VAV": "VAV", "FCU": "FCU", "Chiller": "Chiller", "Boiler": "Boiler", "Pump": "Pump",
    "Fan": "Fan", "Meter": "Electrical_Meter", "ElectricalPanel": "Panelboard", "UPS": "Uninterruptible_Power_Supply",
    "Server": "Equipment", "NetworkSwitch": "Equipment", "AccessController": "Access_Control_Equipment",
    "Camera": "Camera", "Elevator": "Elevator", "LightingCircuit": "Lighting", "Thermostat": "Thermostat",
    "WeatherStation": "Weather_Station",
}
METER_BRICK = {"main": "Building_Electrical_Meter", "sub": "Electrical_Meter",
               "tenant": "Electrical_Meter"}
