-- Q12: building dashboard: equipment count per type; mean power sample per domain over [start, end).
WITH eq AS (
    SELECT DISTINCT e.id, e.equipment_type, e.domain
    FROM building_floors bf
    JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
    JOIN equipment_locations el ON el.space_id = fs.space_id
    JOIN equipment e ON e.id = el.equipment_id
    WHERE bf.building_id = %(building)s
), dp AS (
    SELECT DISTINCT eq.domain, p.idx
    FROM eq
    JOIN equipment_points ep ON ep.equipment_id = eq.id
    JOIN points p ON p.idx = ep.point_idx AND p.quantity = 'power'
)
SELECT 'count' AS kind, equipment_type AS key, count(*)::float8 AS value FROM eq GROUP BY equipment_type
UNION ALL
SELECT 'mean_power', dp.domain, avg(t.value)
FROM dp JOIN ts t ON t.point_id = dp.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY dp.domain
ORDER BY 1, 2
