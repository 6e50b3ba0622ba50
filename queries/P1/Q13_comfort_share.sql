-- Q13 (structure part): zone air temperature sensors of the equipment located in each space of the type.
-- Returns: k1 = space id, idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q13).
SELECT DISTINCT s.id, p.idx
FROM spaces s
JOIN equipment_locations el ON el.space_id = s.id
JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
JOIN points p ON p.idx = ep.point_idx AND p.brick_class = 'Zone_Air_Temperature_Sensor'
WHERE s.space_type = %(space_type)s
