-- Q10: door events (value = 1) per access-controller door point of a security zone, zeros included.
WITH ap AS (
    SELECT DISTINCT e.id AS equipment_id, p.id AS point_id, (p.props->>'point_idx')::int AS idx
    FROM nodes z
    JOIN edges iz ON iz.dst = z.id AND iz.rel = 'IN_ZONE'
    JOIN nodes s ON s.id = iz.src AND s.type = 'Space'
    JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
    JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment' AND e.props @> '{"equipment_type": "AccessController"}'
    JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
    JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"quantity": "door"}'
    WHERE z.id = %(zone)s AND z.type = 'Zone' AND z.props @> '{"zone_kind": "security"}'
)
SELECT ap.equipment_id, ap.point_id,
       (SELECT count(*) FROM ts t
        WHERE t.point_id = ap.idx AND t.time >= %(start)s AND t.time < %(end)s AND t.value = 1) AS n_events
FROM ap
ORDER BY 1, 2, 3
