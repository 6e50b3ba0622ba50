"""The building model: nodes and edges generated from a scale's rules with a seeded RNG.

Topology follows practice. Electrical: main meter → plant meter and one meter per floor → panels → loads
(plant, AHU, lighting, UPS → IT equipment); a floor meter also feeds one sub-meter per tenant on the floor,
which feeds the lighting of that tenant's spaces and SERVES only them. Air/water: chillers/boilers → AHUs →
VAVs/FCUs → spaces they serve. Each occupied space is one HVAC zone served by its group of 1–2 VAVs.
One weather station per building carries its only outside-air temperature. Every equipment and point
has a Brick class. The structure is cheap (pure Python, no series), so tests can check every scale.

One module per job, called in this order on one seeded RNG (the order of draws is the content):
`builder` (nodes, edges, equipment with their points), `building` (floors, spaces, plant), `floor`
(a floor's meters, zones and per-space equipment), `tenants` (leases and tenant sub-meters), `anomalies`
(Q5's integrity problems), `point_params` (point_idx order and series parameters); `model` is the result.
"""

from __future__ import annotations

import numpy as np

from btb.dataset.profiles import Scale
from btb.dataset.structure.anomalies import add_anomalies
from btb.dataset.structure.builder import Builder
from btb.dataset.structure.building import add_building
from btb.dataset.structure.model import Structure
from btb.dataset.structure.point_params import assign_point_params


def build_structure(scale: Scale, seed: int) -> Structure:
    """Deterministic structure of a scale for a seed."""
    bld = Builder(scale, seed)
    n_sites = (scale.buildings + 2) // 3
    site_carbon = {}
    for si in range(1, n_sites + 1):
        bld.node(id=f"site:{si}", type="Site", name=f"Site {si}", brick_class="Site")
        site_carbon[si] = float(np.round(bld.rng.uniform(0.05, 0.45), 3))
    tenant_no = 0
    for b in range(1, scale.buildings + 1):
        site = (b - 1) // 3 + 1
        tenant_no = add_building(bld, b, f"site:{site}", site_carbon[site], tenant_no)
    add_anomalies(bld)
    assign_point_params(bld.s, bld.rng)
    return bld.s
