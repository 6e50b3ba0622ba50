"""What points each equipment type carries, and the series model behind each point.

One row per point template: identity (kind, quantity, unit, interval) plus the parameters the
vectorised series generator needs (base level, occupancy amplitude, noise, clip range, daily shape).
Keeping them in one table makes the realism of the data reviewable in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _temp(name: str, interval: int, base: float, amp: float, sigma: float, shape: int, jitter: float = 0.8,
          kind: str = "sensor") -> PointSpec:
    return PointSpec(name, kind, "temperature", "degC", interval, "ou", base, amp, sigma, -30.0, 95.0, shape, jitter)


def _power(name: str, interval: int, base: float, amp: float, shape: int) -> PointSpec:
    return PointSpec(name, "sensor", "power", "kW", interval, "ou", base, amp, 0.08 * (base + amp), 0.01 * base + 1e-3,
                     1e6, shape, 0.1 * base)


def _energy(name: str, base: float, amp: float, shape: int) -> PointSpec:
    return PointSpec(name, "meter", "energy", "kWh", 900, "meter", base, amp, 0.1, 0.0, 1e12, shape, 0.1 * base)


STATUS = PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 1.0, 0.0, 0.0, 1.0, SHAPE_HVAC)
ALARM = PointSpec("alarm", "alarm", "alarm", "bool", 300, "alarm", 0.0004, 0.0, 0.0, 0.0, 1.0)


def _door(name: str) -> PointSpec:
    return PointSpec(name, "status", "door", "bool", 60, "door", 0.002, 0.05, 0.0, 0.0, 1.0, SHAPE_OCC)


# Point templates per equipment type. Occupied spaces (office/meeting) get SHAPE_OCC for their zone
# sensors; btb.dataset.structure swaps in the space's own shape where a template says SHAPE_OCC.
POINTS: dict[str, tuple[PointSpec, ...]] = {
    "VAV": (
        _temp("zone_temp", 300, 19.0, 3.6, 0.7, SHAPE_OCC),
        _temp("zone_temp_sp", 900, 18.0, 4.0, 0.05, SHAPE_OCC, jitter=0.5, kind="setpoint"),
        PointSpec("damper_cmd", "command", "position", "%", 300, "ou", 15, 50, 8, 0, 100, SHAPE_OCC, 5),
        PointSpec("airflow", "sensor", "flow", "m3/h", 300, "ou", 60, 300, 30, 0, 3000, SHAPE_OCC, 20),
        PointSpec("airflow_sp", "setpoint", "flow", "m3/h", 900, "ou", 80, 300, 1, 0, 3000, SHAPE_OCC, 20),
        PointSpec("co2", "sensor", "co2", "ppm", 300, "ou", 430, 420, 45, 380, 3000, SHAPE_OCC, 20),
        PointSpec("humidity", "sensor", "humidity", "%RH", 900, "ou", 38, 6, 3, 5, 95, SHAPE_OCC, 4),
        PointSpec("occupancy", "sensor", "occupancy", "count", 900, "ou", 0, 6, 1, 0, 60, SHAPE_OCC, 1),
        PointSpec("reheat_cmd", "command", "position", "%", 900, "ou", 35, -20, 10, 0, 100, SHAPE_OCC, 5),
        STATUS,
        ALARM,
    ),
    "FCU": (
        _temp("zone_temp", 300, 19.5, 2.5, 0.8, SHAPE_HVAC),
        _temp("zone_temp_sp", 900, 18.0, 3.0, 0.05, SHAPE_HVAC, jitter=0.3, kind="setpoint"),
        PointSpec("fan_cmd", "command", "speed", "%", 300, "ou", 5, 55, 10, 0, 100, SHAPE_HVAC, 5),
        PointSpec("valve_cmd", "command", "position", "%", 300, "ou", 10, 40, 10, 0, 100, SHAPE_HVAC, 5),
        STATUS,
        ALARM,
    ),
    "Thermostat": (
        _temp("temp", 300, 19.5, 2.0, 0.9, SHAPE_HVAC),
        PointSpec("humidity", "sensor", "humidity", "%RH", 900, "ou", 40, 4, 3, 5, 95, SHAPE_HVAC, 4),
    ),
    "LightingCircuit": (
        _power("power", 900, 0.05, 0.8, SHAPE_OCC),
        PointSpec("illuminance", "sensor", "illuminance", "lux", 900, "ou", 5, 450, 25, 0, 2000, SHAPE_OCC, 2),
        PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 1.0, 0, 0, 1, SHAPE_OCC),
    ),
    "AHU": (
        _temp("supply_air_temp", 60, 18.0, -3.0, 0.5, SHAPE_HVAC, jitter=0.5),
        _temp("return_air_temp", 60, 19.5, 2.5, 0.5, SHAPE_HVAC, jitter=0.5),
        _temp("mixed_air_temp", 300, 14.0, 2.0, 0.8, SHAPE_HVAC, jitter=0.5),
        _temp("outside_air_temp", 300, 4.0, 4.0, 1.2, SHAPE_OUTDOOR, jitter=0.2),
        PointSpec("supply_pressure", "sensor", "pressure", "Pa", 60, "ou", 20, 230, 15, 0, 1500, SHAPE_HVAC, 10),
        PointSpec("supply_flow", "sensor", "flow", "m3/h", 60, "ou", 300, 9000, 400, 0, 50000, SHAPE_HVAC, 200),
        PointSpec("return_humidity", "sensor", "humidity", "%RH", 300, "ou", 38, 5, 3, 5, 95, SHAPE_HVAC, 3),
        PointSpec("filter_dp", "sensor", "pressure", "Pa", 900, "ou", 90, 40, 5, 0, 600, SHAPE_HVAC, 20),
        PointSpec("cooling_valve_cmd", "command", "position", "%", 300, "ou", 0, 35, 8, 0, 100, SHAPE_HVAC, 5),
        PointSpec("heating_valve_cmd", "command", "position", "%", 300, "ou", 10, 40, 8, 0, 100, SHAPE_HVAC, 5),
        STATUS,
        ALARM,
    ),
    "Fan": (
        PointSpec("speed", "sensor", "speed", "%", 60, "ou", 0, 70, 6, 0, 100, SHAPE_HVAC, 5),
        _power("power", 60, 0.1, 5.0, SHAPE_HVAC),
        STATUS,
    ),
    "Pump": (
        PointSpec("speed", "sensor", "speed", "%", 60, "ou", 0, 75, 5, 0, 100, SHAPE_HVAC, 5),
        _power("power", 60, 0.1, 7.5, SHAPE_HVAC),
        STATUS,
    ),
    "Chiller": (
        _temp("chw_supply_temp", 60, 9.0, -2.5, 0.3, SHAPE_HVAC, jitter=0.3),
        _temp("chw_return_temp", 60, 10.0, 2.0, 0.4, SHAPE_HVAC, jitter=0.3),
        _temp("condenser_temp", 300, 22.0, 8.0, 1.0, SHAPE_HVAC, jitter=0.5),
        _power("power", 60, 4.0, 160.0, SHAPE_HVAC),
        STATUS,
        ALARM,
    ),
    "Boiler": (
        _temp("hw_supply_temp", 60, 45.0, 25.0, 1.0, SHAPE_HVAC, jitter=0.5),
        _temp("hw_return_temp", 60, 40.0, 15.0, 1.0, SHAPE_HVAC, jitter=0.5),
        _power("power", 300, 1.0, 40.0, SHAPE_HVAC),
        STATUS,
        ALARM,
    ),
    "MainMeter": (
        _energy("energy", 60.0, 400.0, SHAPE_HVAC),
        _power("power", 60, 60.0, 400.0, SHAPE_HVAC),
    ),
    "SubMeter": (
        _energy("energy", 4.0, 25.0, SHAPE_OCC),
        _power("power", 300, 4.0, 25.0, SHAPE_OCC),
    ),
    "ElectricalPanel": (
        _power("power", 300, 3.0, 20.0, SHAPE_OCC),
        PointSpec("current", "sensor", "current", "A", 300, "ou", 5, 35, 3, 0, 1000, SHAPE_OCC, 1),
    ),
    "UPS": (
        _power("power", 60, 6.0, 0.0, SHAPE_IT),
        PointSpec("battery_charge", "sensor", "charge", "%", 300, "ou", 97, 0, 1.5, 0, 100, SHAPE_FLAT, 1),
        PointSpec("load", "sensor", "load", "%", 300, "ou", 45, 0, 4, 0, 100, SHAPE_IT, 5),
        PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 0.0, 0, 0, 1, SHAPE_FLAT),
        ALARM,
    ),
    "Server": (
        _power("power", 300, 0.35, 0.0, SHAPE_IT),
        _temp("inlet_temp", 300, 22.0, 0.0, 1.0, SHAPE_IT, jitter=1.0),
        PointSpec("cpu_load", "sensor", "load", "%", 300, "ou", 30, 25, 10, 0, 100, SHAPE_OCC, 8),
    ),
    "NetworkSwitch": (
        _power("power", 300, 0.15, 0.0, SHAPE_IT),
        PointSpec("status", "status", "status", "bool", 300, "status", 0.0, 0.0, 0, 0, 1, SHAPE_FLAT),
    ),
    "AccessController": (_door("door"), ALARM),
    "Camera": (PointSpec("status", "status", "status", "bool", 3600, "status", 0.0, 0.0, 0, 0, 1, SHAPE_FLAT),),
    "Elevator": (
        _power("power", 60, 0.5, 6.0, SHAPE_OCC),
        PointSpec("speed", "sensor", "speed", "m/s", 60, "ou", 0.1, 0.8, 0.3, 0, 3, SHAPE_OCC, 0.05),
        STATUS,
    ),
}
