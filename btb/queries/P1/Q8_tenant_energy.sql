-- Q8: energy of a tenant's spaces: its tenant sub-meters' energy registers, max - min over [start, end), summed.
WITH mp AS (
    SELECT DISTINCT p.idx
    FROM tenant_spaces o
    JOIN serves s ON s.space_id = o.space_id
    JOIN equipment e ON e.id = s.equipment_id AND e.equipment_type = 'Meter' AND e.meter_role = 'tenant'
    JOIN equipment_points ep ON ep.equipment_id = e.id
    JOIN points p ON p.idx = ep.point_idx AND p.brick_class = 'Electric_Energy_Sensor'
    WHERE o.tenant_id = %(tenant)s
), d AS (
    SELECT t.point_id, max(t.value) - min(t.value) AS delta
    FROM ts t
    WHERE t.point_id IN (SELECT idx FROM mp) AND t.time >= %(start)s AND t.time < %(end)s
    GROUP BY t.point_id
)
SELECT %(tenant)s::text AS tenant_id, (SELECT count(*) FROM mp) AS n_meter_points,
       coalesce((SELECT sum(delta) FROM d), 0.0)::float8 AS energy_kwh
