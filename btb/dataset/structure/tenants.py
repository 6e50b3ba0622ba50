"""Tenants of one building: each leases a contiguous run of occupied spaces and gets, on every floor it
leases, a tenant sub-meter (fed by the floor meter) that serves only its spaces and feeds their lighting."""

from __future__ import annotations

import numpy as np

from btb.dataset.structure.builder import OCCUPIED, Builder

TENANT_NAMES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
                "Soylent", "Wonka", "Aperture", "Massive", "Oscorp")


def add_tenants(bld: Builder, b: int, floors: list, tenant_no: int) -> int:
    """Lease office floors: each tenant takes a contiguous run of occupied spaces (one building)."""
    leasable = [sid for fid, fk, sp in floors if fk in ("ground", "office") for sid, st in sp if st in OCCUPIED]
    n_t = min(bld.scale.tenants_per_building, max(1, len(leasable) // 3))
    # ~85 % of leasable space is let; cut points split it into n_t contiguous runs
    let = leasable[: max(n_t, int(len(leasable) * 0.85))]
    cuts = np.sort(bld.rng.choice(np.arange(1, len(let)), size=n_t - 1, replace=False)) if n_t > 1 else []
    floor_of = {sid: fid for fid, fk, sp in floors for sid, st in sp}
    for run in np.split(np.array(let, dtype=object), cuts):
        tenant_no += 1
        tid = f"tenant:{tenant_no}"
        bld.node(id=tid, type="Tenant", name=f"{TENANT_NAMES[tenant_no % len(TENANT_NAMES)]} {tenant_no}",
                 brick_class="btb:Tenant")
        per_floor: dict[str, list[str]] = {}
        for sid in run:
            bld.edge(tid, "OCCUPIES", str(sid))
            per_floor.setdefault(floor_of[str(sid)], []).append(str(sid))
        for fid, spaces in per_floor.items():
            _tenant_meter(bld, b, fid, tenant_no, spaces)
    return tenant_no


def _tenant_meter(bld: Builder, b: int, fid: str, tenant_no: int, spaces: list[str]) -> None:
    """The tenant's sub-meter on floor `fid`: serves only its spaces there, feeds their lighting."""
    fmeter, tech = bld.floor_meter[fid]
    k = fid.rsplit(":", 1)[1]
    m = bld.meter(f"equip:{b}:{k}:meter:t{tenant_no}", "tenant", "TenantMeter", tech, fmeter, scale=len(spaces) / 3.0)
    for sid in spaces:
        bld.edge(m, "SERVES", sid)
        if sid in bld.space_light:
            bld.light_feed[bld.space_light[sid]] = m
