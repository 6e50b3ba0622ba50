-- Q11 (series part): fed(k1 = UPS, k2 = equipment, k3 = type, idx or null): latest power value before `end`
-- over the equipment's power points (ties in time: the larger value); null without point or sample.
WITH last AS (
    SELECT p.idx, l.time, l.value
    FROM (SELECT DISTINCT idx FROM fed WHERE idx IS NOT NULL) p
    CROSS JOIN LATERAL (SELECT t.time, t.value FROM ts t WHERE t.point_id = p.idx AND t.time < %(end)s
                        ORDER BY t.time DESC, t.value DESC LIMIT 1) l
)
SELECT e.k1 AS ups_id, e.k2 AS equipment_id, e.k3 AS equipment_type,
       (SELECT l.value::float8 FROM fed f JOIN last l ON l.idx = f.idx
        WHERE f.k1 = e.k1 AND f.k2 = e.k2
        ORDER BY l.time DESC, l.value DESC LIMIT 1) AS last_power
FROM (SELECT DISTINCT k1, k2, k3 FROM fed) e
ORDER BY 1, 2
