-- Q6 (series part): hourly avg/min/max/count over [start, end) of the point in fed(idx).
SELECT extract(epoch FROM date_bin('1 hour', t.time, timestamptz '2000-01-01 00:00:00+00'))::bigint AS hour_epoch_s,
       avg(t.value) AS avg, min(t.value)::float8 AS min, max(t.value)::float8 AS max, count(*) AS count
FROM fed f
JOIN ts t ON t.point_id = f.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY 1
ORDER BY 1
