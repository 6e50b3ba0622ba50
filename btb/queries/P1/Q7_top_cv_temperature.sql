-- Q7: top-20 zone air temperature sensors of a building by coefficient of variation over [start, end), on the
-- kelvin scale (ratio scale: stddev / (mean + 273.15)).
-- One aggregate grouped by the point id (unique per idx): no re-join a misestimate could turn into a loop.
WITH pts AS (
    SELECT DISTINCT p.idx, p.id
    FROM building_floors bf
    JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
    JOIN equipment_locations el ON el.space_id = fs.space_id
    JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
    JOIN points p ON p.idx = ep.point_idx
    WHERE bf.building_id = %(building)s AND p.brick_class = 'Zone_Air_Temperature_Sensor'
)
SELECT pts.id AS point_id, stddev_samp(t.value) / (avg(t.value) + 273.15) AS cv
FROM pts JOIN ts t ON t.point_id = pts.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY pts.id
HAVING count(*) >= 2
ORDER BY cv DESC, point_id
LIMIT 20
