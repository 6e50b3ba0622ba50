-- Q5: integrity: equipment without a location, points without an equipment.
SELECT 'equipment_without_location' AS problem, n.id AS node_id
FROM nodes n
WHERE n.type = 'Equipment'
  AND NOT EXISTS (SELECT 1 FROM edges e WHERE e.src = n.id AND e.rel = 'LOCATED_IN')
UNION ALL
SELECT 'point_without_equipment', n.id
FROM nodes n
WHERE n.type = 'Point'
  AND NOT EXISTS (SELECT 1 FROM edges e WHERE e.dst = n.id AND e.rel = 'HAS_POINT')
ORDER BY 1, 2
