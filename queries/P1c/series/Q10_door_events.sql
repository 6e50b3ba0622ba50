-- Q10 (series part, P1c chunks): door events (value = 1) over [start, end) per fed(k1 = equipment,
-- k2 = point, idx), zeros included.
SELECT f.k1 AS equipment_id, f.k2 AS point_id,
       (SELECT count(*)
        FROM ts_chunk c
        CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                            WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
        WHERE c.point_id = f.idx AND c.day BETWEEN %(d0)s AND %(d1)s AND x.value = 1) AS n_events
FROM fed f
ORDER BY 1, 2, 3
