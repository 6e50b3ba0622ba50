// Q13 (graph part): zone air temperature sensors of equipment located in spaces of a type.
// Returns: k1 = space id, idx.
MATCH (s:Space {space_type: $space_type})<-[:LOCATED_IN]-(:Equipment)-[:HAS_POINT]->(p:Point)
WHERE p.brick_class = 'Zone_Air_Temperature_Sensor'
RETURN DISTINCT s.id AS k1, p.idx AS idx
