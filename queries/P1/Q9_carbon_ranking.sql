-- Q9 (structure part): every tenant, with its tenant-meter registers and the building (and its carbon factor)
-- of each served tenant space; a tenant without a meter once with nulls.
-- Returns: k1 = tenant id, k2 = building id, f = carbon_kg_per_kwh, idx.
-- tp is built from the tenant meters outwards (each joined once to its building through the meter's served
-- tenant space), so rows examined grow with the number of tenant meters, not spaces x floors. MATERIALIZED
-- keeps it a join problem of its own (7 tables) for the planner, not one of 9 with tenants and buildings.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q9).
WITH tp AS MATERIALIZED (
    SELECT DISTINCT o.tenant_id, p.idx, bf.building_id
    FROM equipment e
    JOIN serves s ON s.equipment_id = e.id
    JOIN tenant_spaces o ON o.space_id = s.space_id
    JOIN equipment_points ep ON ep.equipment_id = e.id
    JOIN points p ON p.idx = ep.point_idx AND p.brick_class = 'Electric_Energy_Sensor'
    LEFT JOIN floor_spaces fs ON fs.space_id = o.space_id
    LEFT JOIN building_floors bf ON bf.floor_id = fs.floor_id
    WHERE e.meter_role = 'tenant' AND e.equipment_type = 'Meter'
)
SELECT DISTINCT tn.id, tp.building_id, b.carbon_kg_per_kwh, tp.idx
FROM tenants tn
LEFT JOIN tp ON tp.tenant_id = tn.id
LEFT JOIN buildings b ON b.id = tp.building_id
