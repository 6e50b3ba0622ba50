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
SELECT sp.space_id, sum(a.inside)::float8 / sum(a.n) AS share, sum(a.n)::bigint AS n_samples
FROM sp
CROSS JOIN LATERAL (  -- one index range scan per point (aggregating keeps it a per-point loop)
    SELECT count(*) FILTER (WHERE t.value >= 20.0 AND t.value <= 24.0) AS inside, count(*) AS n
    FROM ts t
    WHERE t.point_id = sp.idx AND t.time >= %(start)s AND t.time < %(end)s
      AND extract(isodow FROM t.time AT TIME ZONE 'UTC') <= 5
      AND extract(hour FROM t.time AT TIME ZONE 'UTC') >= 8
      AND extract(hour FROM t.time AT TIME ZONE 'UTC') < 19
) a
GROUP BY sp.space_id
HAVING sum(a.n) > 0
ORDER BY 1
