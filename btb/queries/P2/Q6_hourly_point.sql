-- Q6: hourly avg/min/max/count of one point over [start, end). date_bin: portable, timezone-independent.
SELECT extract(epoch FROM date_bin('1 hour', t.time, timestamptz '2000-01-01 00:00:00+00'))::bigint AS hour_epoch_s,
       avg(t.value) AS avg, min(t.value)::float8 AS min, max(t.value)::float8 AS max, count(*) AS count
FROM ts t
WHERE t.point_id = (SELECT (n.props->>'point_idx')::int FROM nodes n WHERE n.id = %(point)s AND n.type = 'Point')
  AND t.time >= %(start)s AND t.time < %(end)s
GROUP BY 1
ORDER BY 1
