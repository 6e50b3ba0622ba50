-- Q5: integrity: equipment without a location, points without an equipment.
SELECT 'equipment_without_location' AS problem, e.id AS node_id
FROM equipment e
WHERE NOT EXISTS (SELECT 1 FROM equipment_locations el WHERE el.equipment_id = e.id)
UNION ALL
SELECT 'point_without_equipment', p.id
FROM points p
WHERE NOT EXISTS (SELECT 1 FROM equipment_points ep WHERE ep.point_idx = p.idx)
ORDER BY 1, 2
