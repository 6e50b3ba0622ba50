-- Q7 (series part): kelvin CV per point of fed(k1 = point id, idx) over [start, end); top 20.
SELECT f.k1 AS point_id, stddev_samp(t.value) / (avg(t.value) + 273.15) AS cv
FROM fed f
JOIN ts t ON t.point_id = f.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
GROUP BY f.k1
HAVING count(*) >= 2
ORDER BY cv DESC, point_id
LIMIT 20
