-- Q11: for every UPS of a building, FEEDS-downstream equipment (1..10 hops) with its latest power value
-- before `end`.
WITH RECURSIVE ups AS (
    SELECT DISTINCT e.id
    FROM edges bf
    JOIN nodes f ON f.id = bf.dst AND f.type = 'Floor'
    JOIN edges fs ON fs.src = f.id AND fs.rel = 'CONTAINS'
    JOIN nodes s ON s.id = fs.dst AND s.type = 'Space'
    JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
    JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment' AND e.props @> '{"equipment_type": "UPS"}'
    WHERE bf.src = %(building)s AND bf.rel = 'CONTAINS'
), down(ups_id, id, depth) AS (
    SELECT u.id, e.dst, 1 FROM ups u JOIN edges e ON e.src = u.id AND e.rel = 'FEEDS'
    UNION
    SELECT d.ups_id, e.dst, d.depth + 1 FROM down d JOIN edges e ON e.src = d.id AND e.rel = 'FEEDS' WHERE d.depth < 10
)
SELECT pr.ups_id, n.id AS equipment_id, n.props->>'equipment_type' AS equipment_type,
       (SELECT last.value::float8
        FROM edges hp
        JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"quantity": "power"}'
        CROSS JOIN LATERAL (SELECT t.time, t.value FROM ts t WHERE t.point_id = (p.props->>'point_idx')::int
                                                   AND t.time < %(end)s
                            ORDER BY t.time DESC, t.value DESC LIMIT 1) last
        WHERE hp.src = n.id AND hp.rel = 'HAS_POINT'
        ORDER BY last.time DESC, last.value DESC
        LIMIT 1) AS last_power
FROM (SELECT DISTINCT ups_id, id FROM down) pr
JOIN nodes n ON n.id = pr.id
ORDER BY 1, 2
