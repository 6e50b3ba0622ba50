-- Q13 (structure part): zone air temperature sensors of the equipment located in each space of the type; the
-- space filter is a jsonb containment the GIN index answers. Returns: k1 = space id, idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q13).
SELECT DISTINCT s.id, (p.props->>'point_idx')::int
FROM nodes s
JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"brick_class": "Zone_Air_Temperature_Sensor"}'
WHERE s.type = 'Space' AND s.props @> jsonb_build_object('space_type', %(space_type)s::text)
