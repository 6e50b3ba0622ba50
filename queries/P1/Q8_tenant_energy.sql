-- Q8 (structure part): the energy registers of the tenant sub-meters serving the tenant's spaces. Returns: idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q8).
SELECT DISTINCT p.idx
FROM tenant_spaces o
JOIN serves s ON s.space_id = o.space_id
JOIN equipment e ON e.id = s.equipment_id AND e.equipment_type = 'Meter' AND e.meter_role = 'tenant'
JOIN equipment_points ep ON ep.equipment_id = e.id
JOIN points p ON p.idx = ep.point_idx AND p.brick_class = 'Electric_Energy_Sensor'
WHERE o.tenant_id = %(tenant)s
