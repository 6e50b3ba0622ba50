-- Q4: zone air temperature sensors (Brick class) of equipment located in spaces of a floor.
SELECT DISTINCT p.id AS point_id, e.id AS equipment_id, s.id AS space_id
FROM edges c
JOIN nodes s ON s.id = c.dst AND s.type = 'Space'
JOIN edges lo ON lo.dst = s.id AND lo.rel = 'LOCATED_IN'
JOIN nodes e ON e.id = lo.src AND e.type = 'Equipment'
JOIN edges hp ON hp.src = e.id AND hp.rel = 'HAS_POINT'
JOIN nodes p ON p.id = hp.dst AND p.type = 'Point'
WHERE c.src = %(floor)s AND c.rel = 'CONTAINS' AND p.props @> '{"brick_class": "Zone_Air_Temperature_Sensor"}'
ORDER BY 1, 2, 3
