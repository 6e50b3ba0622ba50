-- Q12 (structure part): equipment of the building with type, domain and power points (null when none).
-- Returns: k1 = equipment id, k2 = equipment_type, k3 = domain, idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q12).
SELECT DISTINCT e.id, e.props->>'equipment_type', e.props->>'domain', (p.props->>'point_idx')::int
FROM edges bf
JOIN nodes f ON f.id = bf.dst AND f.type = 'Floor'
JOIN edges fs ON fs.src = f.id AND fs.rel = 'CONTAINS'
JOIN nodes s ON s.id = fs.dst AND s.type = 'Space'
JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
LEFT JOIN (edges hp JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"quantity": "power"}')
       ON hp.src = e.id AND hp.rel = 'HAS_POINT'
WHERE bf.src = %(building)s AND bf.rel = 'CONTAINS'
