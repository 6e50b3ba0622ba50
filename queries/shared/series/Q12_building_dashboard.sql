-- Q12 (series part): fed(k1 = equipment, k2 = type, k3 = domain, idx or null): equipment count per type;
-- mean power sample per domain over [start, end).
SELECT 'count' AS kind, k2 AS key, count(DISTINCT k1)::float8 AS value FROM fed GROUP BY k2
UNION ALL
SELECT 'mean_power', dp.k3, avg(t.value)
FROM (SELECT DISTINCT k3, idx FROM fed WHERE idx IS NOT NULL) dp
JOIN ts t ON t.point_id = dp.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY dp.k3
ORDER BY 1, 2
