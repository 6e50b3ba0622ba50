-- Q9 (series part, P1c chunks): fed(k1 = tenant, k2 = building, f = carbon factor, idx): energy once per
-- (tenant, register), CO2 once per (tenant, register, building); every tenant of fed ranked.
WITH d AS (
    SELECT c.point_id, max(x.value) - min(x.value) AS delta
    FROM ts_chunk c
    CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                        WHERE u.s >= %(start_s)s - c.day * 86400::bigint AND u.s < %(end_s)s - c.day * 86400::bigint) x
    WHERE c.point_id IN (SELECT idx FROM fed WHERE idx IS NOT NULL) AND c.day BETWEEN %(d0)s AND %(d1)s
    GROUP BY c.point_id
), energy AS (
    SELECT x.k1, sum(coalesce(d.delta, 0.0)) AS kwh
    FROM (SELECT DISTINCT k1, idx FROM fed WHERE idx IS NOT NULL) x LEFT JOIN d ON d.point_id = x.idx
    GROUP BY x.k1
), co2 AS (
    SELECT x.k1, sum(d.delta * x.f) AS kg
    FROM (SELECT DISTINCT k1, k2, f, idx FROM fed WHERE idx IS NOT NULL AND k2 IS NOT NULL) x
    JOIN d ON d.point_id = x.idx
    GROUP BY x.k1
)
SELECT tn.k1 AS tenant_id, coalesce(energy.kwh, 0.0)::float8 AS energy_kwh, coalesce(co2.kg, 0.0)::float8 AS co2_kg
FROM (SELECT DISTINCT k1 FROM fed) tn
LEFT JOIN energy ON energy.k1 = tn.k1
LEFT JOIN co2 ON co2.k1 = tn.k1
ORDER BY co2_kg DESC, tenant_id
