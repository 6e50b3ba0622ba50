-- Q10 (structure part): door points of the access controllers in the spaces of a security zone.
-- Returns: k1 = equipment id, k2 = point id, idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q10).
SELECT DISTINCT e.id, p.id, (p.props->>'point_idx')::int
FROM nodes z
JOIN edges iz ON iz.dst = z.id AND iz.rel = 'IN_ZONE'
JOIN nodes s ON s.id = iz.src AND s.type = 'Space'
JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment' AND e.props @> '{"equipment_type": "AccessController"}'
JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"quantity": "door"}'
WHERE z.id = %(zone)s AND z.type = 'Zone' AND z.props @> '{"zone_kind": "security"}'
