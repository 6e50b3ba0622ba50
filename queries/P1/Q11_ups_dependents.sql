-- Q11 (structure part): for every UPS of the building, FEEDS-downstream equipment (1..10 hops) and its power
-- points (null when it has none). Returns: k1 = UPS id, k2 = equipment id, k3 = equipment_type, idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q11).
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
-- The power points are looked up per equipment (index probes), not joined with all of equipment_points:
-- the work grows with the UPSs' dependents, not with the dataset.
SELECT DISTINCT pr.ups_id, e.id, e.equipment_type, pw.idx
FROM (SELECT DISTINCT ups_id, id FROM down) pr
JOIN equipment e ON e.id = pr.id
LEFT JOIN LATERAL unnest(ARRAY(
    SELECT p.idx FROM equipment_points ep JOIN points p ON p.idx = ep.point_idx AND p.quantity = 'power'
    WHERE ep.equipment_id = e.id)) AS pw(idx) ON true
