-- Q4: zone air temperature sensors (Brick class) of equipment located in spaces of a floor.
SELECT DISTINCT p.id AS point_id, el.equipment_id, el.space_id
FROM floor_spaces fs
JOIN equipment_locations el ON el.space_id = fs.space_id
JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
JOIN points p ON p.idx = ep.point_idx
WHERE fs.floor_id = %(floor)s AND p.brick_class = 'Zone_Air_Temperature_Sensor'
ORDER BY 1, 2, 3
