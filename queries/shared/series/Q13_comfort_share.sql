-- Q13 (series part): fed(k1 = space, idx): share of office-hours samples (Mon-Fri, 08-19 UTC) within [20, 24].
SELECT f.k1 AS space_id, sum(a.inside)::float8 / sum(a.n) AS share, sum(a.n)::bigint AS n_samples
FROM fed f
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE t.value >= 20.0 AND t.value <= 24.0) AS inside, count(*) AS n
    FROM ts t
    WHERE t.point_id = f.idx AND t.time >= %(start)s AND t.time < %(end)s
      AND extract(isodow FROM t.time AT TIME ZONE 'UTC') <= 5
      AND extract(hour FROM t.time AT TIME ZONE 'UTC') >= 8
      AND extract(hour FROM t.time AT TIME ZONE 'UTC') < 19
) a
GROUP BY f.k1
HAVING sum(a.n) > 0
ORDER BY 1
