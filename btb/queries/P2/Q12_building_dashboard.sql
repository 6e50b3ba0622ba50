-- Q12: building dashboard: equipment count per type; mean power sample per domain over [start, end).
WITH eq AS (
    SELECT DISTINCT e.id, e.props->>'equipment_type' AS equipment_type, e.props->>'domain' AS domain
    FROM edges bf
    JOIN nodes f ON f.id = bf.dst AND f.type = 'Floor'
    JOIN edges fs ON fs.src = f.id AND fs.rel = 'CONTAINS'
    JOIN nodes s ON s.id = fs.dst AND s.type = 'Space'
    JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
    JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
    WHERE bf.src = %(building)s AND bf.rel = 'CONTAINS'
), dp AS (
    SELECT DISTINCT eq.domain, (p.props->>'point_idx')::int AS idx
    FROM eq
    JOIN edges hp ON hp.src = eq.id AND hp.rel = 'HAS_POINT'
    JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"quantity": "power"}'
)
SELECT 'count' AS kind, equipment_type AS key, count(*)::float8 AS value FROM eq GROUP BY equipment_type
UNION ALL
SELECT 'mean_power', dp.domain, avg(t.value)
FROM dp JOIN ts t ON t.point_id = dp.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY dp.domain
ORDER BY 1, 2
