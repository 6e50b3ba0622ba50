-- Q7 (structure part): zone air temperature sensors of the building's equipment. Returns: k1 = point id, idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q7).
SELECT DISTINCT p.id, p.idx
FROM building_floors bf
JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
JOIN equipment_locations el ON el.space_id = fs.space_id
JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
JOIN points p ON p.idx = ep.point_idx
WHERE bf.building_id = %(building)s AND p.brick_class = 'Zone_Air_Temperature_Sensor'
