// Q7 (graph part): zone air temperature sensors of the building's equipment. Returns: k1 = point id, idx.
MATCH (:Building {id: $building})-[:CONTAINS]->(:Floor)-[:CONTAINS]->(:Space)<-[:LOCATED_IN]-(:Equipment)-[:HAS_POINT]->(p:Point)
WHERE p.brick_class = 'Zone_Air_Temperature_Sensor'
RETURN DISTINCT p.id AS k1, p.idx AS idx
