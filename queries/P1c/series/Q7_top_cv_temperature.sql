-- Q7 (series part, P1c chunks): kelvin CV per point of fed(k1 = point id, idx) over [start, end); top 20.
SELECT f.k1 AS point_id, stddev_samp(x.value) / (avg(x.value) + 273.15) AS cv
FROM fed f
JOIN ts_chunk c ON c.point_id = f.idx AND c.day BETWEEN %(d0)s AND %(d1)s
CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                    WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
GROUP BY f.k1
HAVING count(*) >= 2
ORDER BY cv DESC, point_id
LIMIT 20
