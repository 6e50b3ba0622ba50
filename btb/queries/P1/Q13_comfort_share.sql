-- Q13: per space of a type, share of its zone air temperature sensors' office-hours samples (Mon-Fri, 08-19 UTC)
-- within [20, 24] degC. AT TIME ZONE 'UTC' keeps the answer independent of the session time zone.
WITH sp AS (
    SELECT DISTINCT s.id AS space_id, p.idx
    FROM spaces s
    JOIN equipment_locations el ON el.space_id = s.id
    JOIN equipment_points ep ON ep.equipment_id = el.equipment_id
    JOIN points p ON p.idx = ep.point_idx AND p.brick_class = 'Zone_Air_Temperature_Sensor'
    WHERE s.space_type = %(space_type)s
)
SELECT sp.space_id,
       (count(*) FILTER (WHERE t.value >= 20.0 AND t.value <= 24.0))::float8 / count(*) AS share,
       count(*) AS n_samples
FROM sp JOIN ts t ON t.point_id = sp.idx
WHERE t.time >= %(start)s AND t.time < %(end)s
  AND extract(isodow FROM t.time AT TIME ZONE 'UTC') <= 5
  AND extract(hour FROM t.time AT TIME ZONE 'UTC') >= 8
  AND extract(hour FROM t.time AT TIME ZONE 'UTC') < 19
GROUP BY sp.space_id
ORDER BY 1
