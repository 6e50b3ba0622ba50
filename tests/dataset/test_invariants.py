"""Workload v2 invariants on every scale: the building an engineer would recognise (structure, all scales)
and energy that adds up (series: tiny-2d and small-1d)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from btb.dataset.generator import generate
from btb.dataset.graph import Graph
from btb.dataset.profiles import SCALES
from btb.dataset.series import HOLIDAYS, START_S, day_shapes, working_day
from btb.dataset.shape import alarm_activity, energy_balance, structure_shape
from btb.dataset.structure import build_structure
from btb.dataset.pointspecs import SHAPE_OCC


def _graph(scale: str, seed: int = 1) -> Graph:
    s = build_structure(SCALES[scale], seed)
    return Graph.from_tables(s.nodes_table(), s.edges_table())


@pytest.fixture(scope="module", params=list(SCALES))
def graph(request) -> Graph:
    return _graph(request.param)


def test_one_outdoor_air_sensor_per_building(graph: Graph) -> None:
    assert structure_shape(graph)["outdoor-air temperature points per building"] == [1]
    outdoor = [p for p in graph.of_type("Point") if graph.get(p, "brick_class") == "Outside_Air_Temperature_Sensor"]
    assert len(outdoor) == len(graph.of_type("Building"))


def test_points_per_vav_distribution(graph: Graph) -> None:
    vavs = [e for e in graph.of_type("Equipment") if graph.get(e, "equipment_type") == "VAV"]
    n = np.array([len(graph.out["HAS_POINT"].get(v, ())) for v in vavs])
    assert n.min() >= 1 and n.max() <= 12
    assert 3.0 <= n.mean() <= 6.0, n.mean()
    if len(vavs) > 500:  # optional points really vary from box to box
        assert len(set(n.tolist())) >= 6
    # every VAV has its zone air temperature sensor
    assert all(graph.zone_air_temp_points(v) for v in vavs)


def test_hvac_zone_per_vav_group(graph: Graph) -> None:
    """Each HVAC zone is one space served by its group of 1–2 VAVs (or a lobby's FCUs)."""
    for z in (z for z in graph.of_type("Zone") if graph.get(z, "zone_kind") == "hvac"):
        spaces = graph.pred("IN_ZONE", z, "Space")
        assert len(spaces) == 1
        units = [e for e in graph.pred("SERVES", spaces[0]) if graph.get(e, "equipment_type") in ("VAV", "FCU")]
        assert 1 <= len(units) <= 2
    assert 0.5 <= structure_shape(graph)["HVAC zones per VAV"] <= 1.0


def test_metering_tree_and_tenant_meters(graph: Graph) -> None:
    meters = [e for e in graph.of_type("Equipment") if graph.get(e, "equipment_type") == "Meter"]
    parents = {m: [p for p in graph.pred("FEEDS", m) if p in set(meters)] for m in meters}
    for m in meters:
        role = graph.get(m, "meter_role")
        assert len(parents[m]) == (0 if role == "main" else 1), m
        if role == "tenant":  # a tenant meter serves only spaces of its one tenant, fed by its floor meter
            spaces = graph.succ("SERVES", m, "Space")
            tenants = {t for s in spaces for t in graph.pred("OCCUPIES", s, "Tenant")}
            assert spaces and len(tenants) == 1, m
            assert graph.get(parents[m][0], "meter_role") == "sub"
    for t in graph.of_type("Tenant"):
        assert graph.tenant_meter_points(t), t


def test_q1_electrical_tree_stops_at_loads() -> None:
    g = _graph("tiny")
    main = next(e for e in g.of_type("Equipment") if g.get(e, "meter_role") == "main")
    down = g.downstream(main, electrical=True)
    kinds = {g.get(e, "equipment_type") for e in down}
    assert {"Meter", "ElectricalPanel", "Chiller", "LightingCircuit", "Server", "AHU"} <= kinds
    assert "VAV" not in kinds and "FCU" not in kinds  # reached only through air, not electricity
    assert "VAV" in {g.get(e, "equipment_type") for e in g.downstream(main)}  # the full graph does


def test_register_resolution_at_xlarge_over_a_year() -> None:
    """float64 registers: the largest value a year at xlarge can reach keeps a step ≤ 0.001 kWh."""
    s = build_structure(SCALES["xlarge"], 1)
    p = s.params
    meter_power = p["mpower"] < 0
    peak_kw = float(np.sum((p["base"] + p["amp"])[(p["model"] == 1) & meter_power]))  # ≥ any single meter
    worst = float(p["init"].max()) + peak_kw * 24 * 366
    assert np.spacing(np.float64(worst)) <= 0.001
    assert np.spacing(np.float32(worst)) > 0.001  # why float32 would not do


def test_holidays_are_not_working_days() -> None:
    jan1_2025 = (int(np.datetime64("2025-01-01", "s").astype(np.int64)) - START_S) // 86_400
    assert jan1_2025 in HOLIDAYS and not working_day(jan1_2025)
    assert working_day(0)  # the dataset starts on a working Monday
    assert day_shapes(jan1_2025, 900)[SHAPE_OCC].max() < 0.1 and day_shapes(0, 900)[SHAPE_OCC].max() > 0.9


@pytest.fixture(scope="module", params=["tiny-2d", "small-1d"])
def dataset(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("inv") / request.param
    generate(request.param, 3, out)
    return out


def test_energy_adds_up(dataset: Path) -> None:
    e = energy_balance(dataset)
    assert e["meters"] > 5
    # Σ children ≤ parent on every meter node (float64 rounding only)
    for m, r in e["_child_ratio"].items():
        assert r <= 1 + 1e-9, (m, r)
    assert e["parent − children, min kWh"] > 0
    # every register is the integral of its own power point (0.1 %; in fact float rounding)
    assert e["register vs ∫power, max relative error"] < 1e-3
    assert e["register vs ∫power, max relative error"] < 1e-9
    # tenants together never exceed the main meter; the main meter's unmetered share is the stated ~5 %
    assert 0 < e["tenant meters Σ / main meters"] <= 1
    assert 0.02 <= e["main unmetered share"] <= 0.1


def test_alarms_fire_at_a_realistic_rate(dataset: Path) -> None:
    a = alarm_activity(dataset)
    assert a["alarm points that fire"] >= 0.4
    assert 0.1 <= a["alarm events per point per day"] <= 5
