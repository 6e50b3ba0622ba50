-- Q7: top-20 temperature points of a building by coefficient of variation over [start, end).
WITH pts AS (
    SELECT DISTINCT p.idx, p.id
    FROM building_floors bf
    JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
    JOIN equipment_locations el ON el.space_id = fs.space_id
    JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
    JOIN points p ON p.idx = ep.point_idx
    WHERE bf.building_id = %(building)s AND p.quantity = 'temperature'
), stats AS (
    SELECT t.point_id, stddev_samp(t.value) AS sd, avg(t.value) AS mean, count(*) AS n
    FROM ts t
    WHERE t.point_id IN (SELECT idx FROM pts) AND t.time >= %(start)s AND t.time < %(end)s
    GROUP BY t.point_id
)
SELECT pts.id AS point_id, s.sd / s.mean AS cv
FROM stats s JOIN pts ON pts.idx = s.point_id
WHERE s.n >= 2 AND s.mean <> 0
ORDER BY cv DESC, point_id
LIMIT 20
