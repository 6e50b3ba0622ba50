// Q11 (graph part): for every UPS of the building, FEEDS-downstream equipment (1..10 hops) and its power
// points (null when it has none). Returns: k1 = UPS id, k2 = equipment id, k3 = equipment_type, idx.
MATCH (:Building {id: $building})-[:CONTAINS]->(:Floor)-[:CONTAINS]->(:Space)<-[:LOCATED_IN]-(u:Equipment)
WHERE u.equipment_type = 'UPS'
WITH DISTINCT u
MATCH (u)-[:FEEDS*1..10]->(d:Equipment)
WITH DISTINCT u, d
OPTIONAL MATCH (d)-[:HAS_POINT]->(p:Point)
WHERE p.quantity = 'power'
RETURN u.id AS k1, d.id AS k2, d.equipment_type AS k3, p.idx AS idx
