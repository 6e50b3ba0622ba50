-- Q10 (structure part): door points of the access controllers in the spaces of a security zone.
-- Returns: k1 = equipment id, k2 = point id, idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q10).
SELECT DISTINCT e.id, p.id, p.idx
FROM zones z
JOIN space_zones sz ON sz.zone_id = z.id
JOIN equipment_locations el ON el.space_id = sz.space_id
JOIN equipment e ON e.id = el.equipment_id AND e.equipment_type = 'AccessController'
JOIN equipment_points ep ON ep.equipment_id = e.id
JOIN points p ON p.idx = ep.point_idx AND p.quantity = 'door'
WHERE z.id = %(zone)s AND z.zone_kind = 'security'
