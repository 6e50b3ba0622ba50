-- Q9: carbon ranking of all tenants: Q8 energy, and delta x carbon factor of the served space's building.
-- tp is built from the tenant meters outwards (each joined once to its building through the meter's served
-- tenant space), so rows examined grow with the number of tenant meters, not spaces x floors.
WITH tp AS (
    SELECT DISTINCT o.tenant_id, p.idx, bf.building_id
    FROM equipment e
    JOIN serves s ON s.equipment_id = e.id
    JOIN tenant_spaces o ON o.space_id = s.space_id
    JOIN equipment_points ep ON ep.equipment_id = e.id
    JOIN points p ON p.idx = ep.point_idx AND p.brick_class = 'Electric_Energy_Sensor'
    LEFT JOIN floor_spaces fs ON fs.space_id = o.space_id
    LEFT JOIN building_floors bf ON bf.floor_id = fs.floor_id
    WHERE e.meter_role = 'tenant' AND e.equipment_type = 'Meter'
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
    SELECT tp.tenant_id, sum(d.delta * b.carbon_kg_per_kwh) AS kg
    FROM tp JOIN d ON d.point_id = tp.idx JOIN buildings b ON b.id = tp.building_id
    GROUP BY tp.tenant_id
)
SELECT tn.id AS tenant_id, coalesce(energy.kwh, 0.0)::float8 AS energy_kwh, coalesce(co2.kg, 0.0)::float8 AS co2_kg
FROM tenants tn
LEFT JOIN energy ON energy.tenant_id = tn.id
LEFT JOIN co2 ON co2.tenant_id = tn.id
ORDER BY co2_kg DESC, tenant_id
