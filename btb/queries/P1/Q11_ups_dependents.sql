-- Q11: for every UPS of a building, FEEDS-downstream equipment (1..10 hops) with its latest power value
-- before `end`.
WITH RECURSIVE ups AS (
    SELECT DISTINCT e.id
    FROM building_floors bf
    JOIN floor_spaces fs ON fs.floor_id = bf.floor_id
    JOIN equipment_locations el ON el.space_id = fs.space_id
    JOIN equipment e ON e.id = el.equipment_id AND e.equipment_type = 'UPS'
    WHERE bf.building_id = %(building)s
), down(ups_id, id, depth) AS (
    SELECT u.id, f.dst_id, 1 FROM ups u JOIN feeds f ON f.src_id = u.id
    UNION
    SELECT d.ups_id, f.dst_id, d.depth + 1 FROM down d JOIN feeds f ON f.src_id = d.id WHERE d.depth < 10
)
SELECT pr.ups_id, e.id AS equipment_id, e.equipment_type,
       (SELECT last.value::float8
        FROM equipment_points ep
        JOIN points p ON p.idx = ep.point_idx AND p.quantity = 'power'
        CROSS JOIN LATERAL (SELECT t.time, t.value FROM ts t WHERE t.point_id = p.idx AND t.time < %(end)s
                            ORDER BY t.time DESC, t.value DESC LIMIT 1) last
        WHERE ep.equipment_id = e.id
        ORDER BY last.time DESC, last.value DESC
        LIMIT 1) AS last_power
FROM (SELECT DISTINCT ups_id, id FROM down) pr
JOIN equipment e ON e.id = pr.id
ORDER BY 1, 2
