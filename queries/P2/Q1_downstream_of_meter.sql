-- Q1: equipment downstream of a meter on the electrical FEEDS tree (1..10 hops), with the minimum hop depth:
-- only electrical equipment (meters, panels, UPSs) passes the walk on, so a chiller is reached, its AHU not.
WITH RECURSIVE walk(id, depth) AS (
    SELECT e.dst, 1 FROM edges e WHERE e.src = %(meter)s AND e.rel = 'FEEDS'
    UNION
    SELECT e.dst, w.depth + 1
    FROM walk w
    JOIN nodes n ON n.id = w.id AND n.props @> '{"domain": "electrical"}'
    JOIN edges e ON e.src = w.id AND e.rel = 'FEEDS'
    WHERE w.depth < 10
)
SELECT id AS equipment_id, min(depth) AS min_depth
FROM walk
GROUP BY id
ORDER BY 1, 2
