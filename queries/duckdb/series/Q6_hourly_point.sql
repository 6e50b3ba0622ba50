-- Q6 (series part, DuckDB): as shared/series/Q6, with time_bucket for PostgreSQL's date_bin (DuckDB has no
-- date_bin; time_bucket with the same origin gives the same hourly buckets).
SELECT extract(epoch FROM time_bucket(INTERVAL 1 HOUR, t.time, timestamptz '2000-01-01 00:00:00+00'))::bigint AS hour_epoch_s,
       avg(t.value) AS avg, min(t.value)::float8 AS min, max(t.value)::float8 AS max, count(*) AS count
FROM fed f
JOIN ts t ON t.point_id = f.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY 1
ORDER BY 1
