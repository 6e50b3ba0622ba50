-- Q8 (series part): registers in fed(idx): max - min over [start, end) per point, summed; every register counted.
WITH mp AS (
    SELECT DISTINCT idx FROM fed WHERE idx IS NOT NULL
), d AS (
    SELECT t.point_id, max(t.value) - min(t.value) AS delta
    FROM mp JOIN ts t ON t.point_id = mp.idx
    WHERE t.time >= %(start)s AND t.time < %(end)s
    GROUP BY t.point_id
)
SELECT %(tenant)s::text AS tenant_id, (SELECT count(*) FROM mp) AS n_meter_points,
       coalesce((SELECT sum(delta) FROM d), 0.0)::float8 AS energy_kwh
