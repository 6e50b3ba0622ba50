-- Q7 (structure part): zone air temperature sensors of the building's equipment. Returns: k1 = point id, idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q7).
SELECT DISTINCT p.id, (p.props->>'point_idx')::int
FROM edges bf
JOIN nodes f ON f.id = bf.dst AND f.type = 'Floor'
JOIN edges fs ON fs.src = f.id AND fs.rel = 'CONTAINS'
JOIN nodes s ON s.id = fs.dst AND s.type = 'Space'
JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
JOIN nodes p ON p.id = hp.dst AND p.type = 'Point'
WHERE bf.src = %(building)s AND bf.rel = 'CONTAINS' AND p.props @> '{"brick_class": "Zone_Air_Temperature_Sensor"}'
