-- Q13: per space of a type, share of its zone air temperature sensors' office-hours samples (Mon-Fri, 08-19 UTC)
-- within [20, 24] degC. The space filter is a jsonb containment the GIN index answers.
WITH sp AS (
    SELECT DISTINCT s.id AS space_id, (p.props->>'point_idx')::int AS idx
    FROM nodes s
    JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
    JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
    JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
    JOIN nodes p ON p.id = hp.dst AND p.type = 'Point' AND p.props @> '{"brick_class": "Zone_Air_Temperature_Sensor"}'
    WHERE s.type = 'Space' AND s.props @> jsonb_build_object('space_type', %(space_type)s::text)
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
