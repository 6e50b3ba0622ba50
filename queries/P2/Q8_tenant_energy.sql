-- Q8 (structure part): the energy registers of the tenant sub-meters serving the tenant's spaces. Returns: idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q8).
SELECT DISTINCT (p.props->>'point_idx')::int
FROM edges oc
JOIN nodes s ON s.id = oc.dst AND s.type = 'Space'
JOIN edges sv ON sv.dst = s.id AND sv.rel = 'SERVES'
JOIN nodes m ON m.id = sv.src AND m.type = 'Equipment' AND m.props @> '{"equipment_type": "Meter", "meter_role": "tenant"}'
JOIN edges hp ON hp.src = m.id AND hp.rel = 'HAS_POINT'
JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"brick_class": "Electric_Energy_Sensor"}'
WHERE oc.src = %(tenant)s AND oc.rel = 'OCCUPIES'
