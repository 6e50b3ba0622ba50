-- Q8: energy of a tenant's spaces: its tenant sub-meters' energy registers, max - min over [start, end), summed.
WITH mp AS (
    SELECT DISTINCT (p.props->>'point_idx')::int AS idx
    FROM edges oc
    JOIN nodes s ON s.id = oc.dst AND s.type = 'Space'
    JOIN edges sv ON sv.dst = s.id AND sv.rel = 'SERVES'
    JOIN nodes m ON m.id = sv.src AND m.type = 'Equipment' AND m.props @> '{"equipment_type": "Meter", "meter_role": "tenant"}'
    JOIN edges hp ON hp.src = m.id AND hp.rel = 'HAS_POINT'
    JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"brick_class": "Electric_Energy_Sensor"}'
    WHERE oc.src = %(tenant)s AND oc.rel = 'OCCUPIES'
), d AS (
    SELECT t.point_id, max(t.value) - min(t.value) AS delta
    FROM ts t
    WHERE t.point_id IN (SELECT idx FROM mp) AND t.time >= %(start)s AND t.time < %(end)s
    GROUP BY t.point_id
)
SELECT %(tenant)s::text AS tenant_id, (SELECT count(*) FROM mp) AS n_meter_points,
       coalesce((SELECT sum(delta) FROM d), 0.0)::float8 AS energy_kwh
