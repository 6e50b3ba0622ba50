-- Q7: top-20 zone air temperature sensors of a building by coefficient of variation over [start, end), on the
-- kelvin scale (ratio scale: stddev / (mean + 273.15)).
-- One aggregate grouped by the point id (unique per idx): no re-join a misestimate could turn into a loop.
WITH pts AS (
    SELECT DISTINCT (p.props->>'point_idx')::int AS idx, p.id
    FROM edges bf
    JOIN nodes f ON f.id = bf.dst AND f.type = 'Floor'
    JOIN edges fs ON fs.src = f.id AND fs.rel = 'CONTAINS'
    JOIN nodes s ON s.id = fs.dst AND s.type = 'Space'
    JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
    JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
    JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
    JOIN nodes p ON p.id = hp.dst AND p.type = 'Point'
    WHERE bf.src = %(building)s AND bf.rel = 'CONTAINS' AND p.props @> '{"brick_class": "Zone_Air_Temperature_Sensor"}'
)
SELECT pts.id AS point_id, stddev_samp(t.value) / (avg(t.value) + 273.15) AS cv
FROM pts JOIN ts t ON t.point_id = pts.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY pts.id
HAVING count(*) >= 2
ORDER BY cv DESC, point_id
LIMIT 20
