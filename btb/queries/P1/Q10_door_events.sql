-- Q10: door events (value = 1) per access-controller door point of a security zone, zeros included.
WITH ap AS (
    SELECT DISTINCT e.id AS equipment_id, p.id AS point_id, p.idx
    FROM zones z
    JOIN space_zones sz ON sz.zone_id = z.id
    JOIN equipment_locations el ON el.space_id = sz.space_id
    JOIN equipment e ON e.id = el.equipment_id AND e.equipment_type = 'AccessController'
    JOIN equipment_points ep ON ep.equipment_id = e.id
    JOIN points p ON p.idx = ep.point_idx AND p.quantity = 'door'
    WHERE z.id = %(zone)s AND z.zone_kind = 'security'
)
SELECT ap.equipment_id, ap.point_id,
       (SELECT count(*) FROM ts t
        WHERE t.point_id = ap.idx AND t.time >= %(start)s AND t.time < %(end)s AND t.value = 1) AS n_events
FROM ap
ORDER BY 1, 2, 3
