// Q4: zone air temperature sensors (Brick class) of equipment located in spaces of a floor.
MATCH (:Floor {id: $floor})-[:CONTAINS]->(s:Space)<-[:LOCATED_IN]-(e:Equipment)-[:HAS_POINT]->(p:Point)
WHERE p.brick_class = 'Zone_Air_Temperature_Sensor'
RETURN DISTINCT p.id AS point_id, e.id AS equipment_id, s.id AS space_id
