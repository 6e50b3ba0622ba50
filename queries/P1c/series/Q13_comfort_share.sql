-- Q13 (series part, P1c chunks): fed(k1 = space, idx): share of office-hours samples (Mon-Fri, 08-19 UTC)
-- within [20, 24]. Weekend days are dropped per chunk, before unnest: day 0 (1970-01-01) was a Thursday, so
-- mod(day + 3, 7) is 0 on Mondays; hours from the seconds of the day.
SELECT f.k1 AS space_id, sum(a.inside)::float8 / sum(a.n) AS share, sum(a.n)::bigint AS n_samples
FROM fed f
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE x.value >= 20.0 AND x.value <= 24.0) AS inside, count(*) AS n
    FROM ts_chunk c
    CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                        WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
    WHERE c.point_id = f.idx AND c.day BETWEEN %(d0)s AND %(d1)s AND mod(c.day + 3, 7) < 5
      AND x.s >= 28800 AND x.s < 68400
) a
GROUP BY f.k1
HAVING sum(a.n) > 0
ORDER BY 1
