-- Q8 (series part, P1c chunks): registers in fed(idx): max - min over [start, end) per point, summed; every
-- register counted.
WITH mp AS (
    SELECT DISTINCT idx FROM fed WHERE idx IS NOT NULL
), d AS (
    SELECT c.point_id, max(x.value) - min(x.value) AS delta
    FROM mp
    JOIN ts_chunk c ON c.point_id = mp.idx AND c.day BETWEEN %(d0)s AND %(d1)s
    CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                        WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
    GROUP BY c.point_id
)
SELECT %(tenant)s::text AS tenant_id, (SELECT count(*) FROM mp) AS n_meter_points,
       coalesce((SELECT sum(delta) FROM d), 0.0)::float8 AS energy_kwh
