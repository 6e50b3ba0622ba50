-- Q1: equipment downstream of a meter on the electrical FEEDS tree (1..10 hops), with the minimum hop depth:
-- only electrical equipment (meters, panels, UPSs) passes the walk on, so a chiller is reached, its AHU not.
-- UNION (not UNION ALL) keeps one row per (node, depth): bounded work even where FEEDS paths fan in.
WITH RECURSIVE walk(id, depth) AS (
    SELECT f.dst_id, 1 FROM feeds f WHERE f.src_id = %(meter)s
    UNION
    SELECT f.dst_id, w.depth + 1
    FROM walk w
    JOIN equipment e ON e.id = w.id AND e.domain = 'electrical'
    JOIN feeds f ON f.src_id = w.id
    WHERE w.depth < 10
)
SELECT id AS equipment_id, min(depth) AS min_depth
FROM walk
GROUP BY id
ORDER BY 1, 2
