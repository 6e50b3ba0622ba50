-- Q6 (series part, P1c chunks): hourly avg/min/max/count over [start, end) of the point in fed(idx).
-- The point's chunks of the window's days d0..d1 (primary key), unnested; the sub-day edges filtered on each
-- sample's seconds of the day s against the window's epoch seconds less the chunk's day. Values: the doubles P1
-- stores (v8, or v's float32 numbers as doubles: chunks.py).
SELECT c.day * 86400::bigint + x.s / 3600 * 3600 AS hour_epoch_s,
       avg(x.value) AS avg, min(x.value)::float8 AS min, max(x.value)::float8 AS max, count(*) AS count
FROM fed f
JOIN ts_chunk c ON c.point_id = f.idx AND c.day BETWEEN %(d0)s AND %(d1)s
CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                    WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
GROUP BY 1
ORDER BY 1
