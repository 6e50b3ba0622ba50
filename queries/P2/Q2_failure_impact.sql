-- Q2: spaces (with their floor) served by an equipment or anything FEEDS-downstream of it (0..10 hops).
WITH RECURSIVE down(id, depth) AS (
    SELECT %(equipment)s::text, 0
    UNION
    SELECT e.dst, d.depth + 1 FROM down d JOIN edges e ON e.src = d.id AND e.rel = 'FEEDS' WHERE d.depth < 10
)
SELECT DISTINCT sv.dst AS space_id, fl.id AS floor_id
FROM (SELECT DISTINCT id FROM down) d
JOIN edges sv ON sv.src = d.id AND sv.rel = 'SERVES'
LEFT JOIN (edges c JOIN nodes fl ON fl.id = c.src AND fl.type = 'Floor')
       ON c.dst = sv.dst AND c.rel = 'CONTAINS'
ORDER BY 1, 2
