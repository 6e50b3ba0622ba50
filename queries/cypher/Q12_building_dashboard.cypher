// Q12 (graph part): equipment of the building with type, domain and power points (null when none).
// Returns: k1 = equipment id, k2 = equipment_type, k3 = domain, idx.
MATCH (:Building {id: $building})-[:CONTAINS]->(:Floor)-[:CONTAINS]->(:Space)<-[:LOCATED_IN]-(e:Equipment)
WITH DISTINCT e
OPTIONAL MATCH (e)-[:HAS_POINT]->(p:Point)
WHERE p.quantity = 'power'
RETURN e.id AS k1, e.equipment_type AS k2, e.domain AS k3, p.idx AS idx
