-- Q7: top-20 temperature points of a building by coefficient of variation over [start, end).
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
    WHERE bf.src = %(building)s AND bf.rel = 'CONTAINS' AND p.props @> '{"quantity": "temperature"}'
)
SELECT pts.id AS point_id, stddev_samp(t.value) / avg(t.value) AS cv
FROM pts JOIN ts t ON t.point_id = pts.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY pts.id
HAVING count(*) >= 2 AND avg(t.value) <> 0
ORDER BY cv DESC, point_id
LIMIT 20
