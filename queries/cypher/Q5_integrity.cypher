// Q5: integrity: equipment without a location, points without an equipment.
MATCH (e:Equipment) WHERE NOT (e)-[:LOCATED_IN]->()
RETURN 'equipment_without_location' AS problem, e.id AS node_id
UNION ALL
MATCH (p:Point) WHERE NOT ()-[:HAS_POINT]->(p)
RETURN 'point_without_equipment' AS problem, p.id AS node_id
