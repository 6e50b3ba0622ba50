-- Q7: top-20 temperature points of a building by coefficient of variation over [start, end).
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
