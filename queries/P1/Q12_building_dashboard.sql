-- Q12 (structure part): equipment of the building with type, domain and power points (null when none).
-- Returns: k1 = equipment id, k2 = equipment_type, k3 = domain, idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q12).
SELECT DISTINCT e.id, e.equipment_type, e.domain, p.idx
FROM building_floors bf
JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
JOIN equipment_locations el ON el.space_id = fs.space_id
JOIN equipment e ON e.id = el.equipment_id
LEFT JOIN (equipment_points ep JOIN points p ON p.idx = ep.point_idx AND p.quantity = 'power')
       ON ep.equipment_id = e.id
WHERE bf.building_id = %(building)s
