-- Q2: spaces (with their floor) served by an equipment or anything FEEDS-downstream of it (0..10 hops).
WITH RECURSIVE down(id, depth) AS (
    SELECT %(equipment)s::text, 0
    UNION
    SELECT f.dst_id, d.depth + 1 FROM down d JOIN feeds f ON f.src_id = d.id WHERE d.depth < 10
)
SELECT DISTINCT s.space_id, fs.floor_id
FROM (SELECT DISTINCT id FROM down) d
JOIN serves s ON s.equipment_id = d.id
LEFT JOIN floor_spaces fs ON fs.space_id = s.space_id
ORDER BY 1, 2
