-- Q10 (series part): door events (value = 1) over [start, end) per fed(k1 = equipment, k2 = point, idx), zeros included.
SELECT f.k1 AS equipment_id, f.k2 AS point_id,
       (SELECT count(*) FROM ts t
        WHERE t.point_id = f.idx AND t.time >= %(start)s AND t.time < %(end)s AND t.value = 1) AS n_events
FROM fed f
ORDER BY 1, 2, 3
