-- Q11 (series part, P1c chunks): fed(k1 = UPS, k2 = equipment, k3 = type, idx or null): latest power value
-- before `end` over the equipment's power points (ties in time: the larger value); null without point or
-- sample. Per distinct point, its two latest chunks of a day <= d1 (a backward primary-key scan, LIMIT 2)
-- hold that sample: every chunk before day d1 lies wholly before `end`, and a chunk exists only where its
-- day has samples. Then one sort: DISTINCT ON keeps each (UPS, equipment)'s latest sample.
WITH last AS (
    SELECT p.idx, l.time_s, l.value
    FROM (SELECT DISTINCT idx FROM fed WHERE idx IS NOT NULL) p
    CROSS JOIN LATERAL (
        SELECT c.day * 86400::bigint + x.s AS time_s, x.value
        FROM (SELECT c.day, c.t, c.v, c.v8 FROM ts_chunk c WHERE c.point_id = p.idx AND c.day <= %(d1)s
              ORDER BY c.day DESC LIMIT 2) c
        CROSS JOIN LATERAL (SELECT u.s, u.value FROM unnest(c.t, coalesce(c.v8, c.v::float8[])) AS u(s, value)
                            WHERE u.s < %(end_s)s - c.day * 86400::bigint) x
        ORDER BY 1 DESC, 2 DESC
        LIMIT 1
    ) l
)
SELECT DISTINCT ON (f.k1, f.k2) f.k1 AS ups_id, f.k2 AS equipment_id, f.k3 AS equipment_type,
       l.value::float8 AS last_power
FROM fed f
LEFT JOIN last l ON l.idx = f.idx
ORDER BY f.k1, f.k2, l.time_s DESC NULLS LAST, l.value DESC NULLS LAST
