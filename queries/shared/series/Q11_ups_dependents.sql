-- Q11 (series part): fed(k1 = UPS, k2 = equipment, k3 = type, idx or null): latest power value before `end`
-- over the equipment's power points (ties in time: the larger value); null without point or sample.
-- One index probe (backwards, LIMIT 1) per distinct point, then one sort: DISTINCT ON keeps each
-- (UPS, equipment)'s latest sample, a row with nulls where it has none.
WITH last AS (
    SELECT p.idx, l.time, l.value
    FROM (SELECT DISTINCT idx FROM fed WHERE idx IS NOT NULL) p
    CROSS JOIN LATERAL (SELECT t.time, t.value FROM ts t WHERE t.point_id = p.idx AND t.time < %(end)s
                        ORDER BY t.time DESC, t.value DESC LIMIT 1) l
)
SELECT DISTINCT ON (f.k1, f.k2) f.k1 AS ups_id, f.k2 AS equipment_id, f.k3 AS equipment_type,
       l.value::float8 AS last_power
FROM fed f
LEFT JOIN last l ON l.idx = f.idx
ORDER BY f.k1, f.k2, l.time DESC NULLS LAST, l.value DESC NULLS LAST
