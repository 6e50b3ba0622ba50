-- Q11 (structure part): for every UPS of the building, FEEDS-downstream equipment (1..10 hops) and its power
-- points (null when it has none). Returns: k1 = UPS id, k2 = equipment id, k3 = equipment_type, idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q11).
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
-- The power points are looked up per equipment (index probes), not joined with every HAS_POINT edge: the
-- work grows with the UPSs' dependents, not with the dataset.
SELECT DISTINCT pr.ups_id, n.id, n.props->>'equipment_type', pw.idx
FROM (SELECT DISTINCT ups_id, id FROM down) pr
JOIN nodes n ON n.id = pr.id
LEFT JOIN LATERAL unnest(ARRAY(
    SELECT (p.props->>'point_idx')::int
    FROM edges hp JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"quantity": "power"}'
    WHERE hp.src = n.id AND hp.rel = 'HAS_POINT')) AS pw(idx) ON true
