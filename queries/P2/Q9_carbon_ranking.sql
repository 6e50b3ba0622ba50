-- Q9 (structure part): every tenant, with its tenant-meter registers and the building (and its carbon factor)
-- of each served tenant space; a tenant without a meter once with nulls.
-- Returns: k1 = tenant id, k2 = building id, f = carbon_kg_per_kwh, idx.
-- MATERIALIZED keeps the meter part a join problem of its own for the planner.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q9).
WITH tp AS MATERIALIZED (
    SELECT DISTINCT oc.src AS tenant_id, (p.props->>'point_idx')::int AS idx, b.id AS building_id,
           (b.props->>'carbon_kg_per_kwh')::float8 AS factor
    FROM edges oc
    JOIN nodes s ON s.id = oc.dst AND s.type = 'Space'
    JOIN edges sv ON sv.dst = s.id AND sv.rel = 'SERVES'
    JOIN nodes m ON m.id = sv.src AND m.type = 'Equipment' AND m.props @> '{"equipment_type": "Meter", "meter_role": "tenant"}'
    JOIN edges hp ON hp.src = m.id AND hp.rel = 'HAS_POINT'
    JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"brick_class": "Electric_Energy_Sensor"}'
    LEFT JOIN (edges fs JOIN nodes f ON f.id = fs.src AND f.type = 'Floor'
               JOIN edges bf ON bf.dst = f.id AND bf.rel = 'CONTAINS'
               JOIN nodes b ON b.id = bf.src AND b.type = 'Building')
           ON fs.dst = s.id AND fs.rel = 'CONTAINS'
    WHERE oc.rel = 'OCCUPIES'
)
SELECT DISTINCT tn.id, tp.building_id, tp.factor, tp.idx
FROM nodes tn
LEFT JOIN tp ON tp.tenant_id = tn.id
WHERE tn.type = 'Tenant'
