-- Q9: carbon ranking of all tenants: Q8 energy, and delta x carbon factor of the served space's building.
WITH tp AS (
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
), d AS (
    SELECT t.point_id, max(t.value) - min(t.value) AS delta
    FROM ts t
    WHERE t.point_id IN (SELECT idx FROM tp) AND t.time >= %(start)s AND t.time < %(end)s
    GROUP BY t.point_id
), energy AS (
    SELECT x.tenant_id, sum(coalesce(d.delta, 0.0)) AS kwh
    FROM (SELECT DISTINCT tenant_id, idx FROM tp) x LEFT JOIN d ON d.point_id = x.idx
    GROUP BY x.tenant_id
), co2 AS (
    SELECT tp.tenant_id, sum(d.delta * tp.factor) AS kg
    FROM tp JOIN d ON d.point_id = tp.idx
    WHERE tp.building_id IS NOT NULL
    GROUP BY tp.tenant_id
)
SELECT tn.id AS tenant_id, coalesce(energy.kwh, 0.0)::float8 AS energy_kwh, coalesce(co2.kg, 0.0)::float8 AS co2_kg
FROM nodes tn
LEFT JOIN energy ON energy.tenant_id = tn.id
LEFT JOIN co2 ON co2.tenant_id = tn.id
WHERE tn.type = 'Tenant'
ORDER BY co2_kg DESC, tenant_id
