-- Q7: top-20 temperature points of a building by coefficient of variation over [start, end).
-- One aggregate grouped by the point id (unique per idx): no re-join a misestimate could turn into a loop.
WITH pts AS (
    SELECT DISTINCT p.idx, p.id
    FROM building_floors bf
    JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
    JOIN equipment_locations el ON el.space_id = fs.space_id
    JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
    JOIN points p ON p.idx = ep.point_idx
    WHERE bf.building_id = %(building)s AND p.quantity = 'temperature'
)
SELECT pts.id AS point_id, stddev_samp(t.value) / avg(t.value) AS cv
FROM pts JOIN ts t ON t.point_id = pts.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY pts.id
HAVING count(*) >= 2 AND avg(t.value) <> 0
ORDER BY cv DESC, point_id
LIMIT 20
