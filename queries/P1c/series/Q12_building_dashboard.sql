-- Q12 (series part, P1c chunks): fed(k1 = equipment, k2 = type, k3 = domain, idx or null): equipment count
-- per type; mean power sample per domain over [start, end).
SELECT 'count' AS kind, k2 AS key, count(DISTINCT k1)::float8 AS value FROM fed GROUP BY k2
UNION ALL
SELECT 'mean_power', dp.k3, avg(x.value)
FROM (SELECT DISTINCT k3, idx FROM fed WHERE idx IS NOT NULL) dp
JOIN ts_chunk c ON c.point_id = dp.idx AND c.day BETWEEN %(d0)s AND %(d1)s
CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                    WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
GROUP BY dp.k3
ORDER BY 1, 2
