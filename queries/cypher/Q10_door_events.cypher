// Q10 (graph part): door points of access controllers in spaces of a security zone (none for other kinds).
// Returns: k1 = equipment id, k2 = point id, idx.
MATCH (z:Zone {id: $zone})
WHERE z.zone_kind = 'security'
MATCH (z)<-[:IN_ZONE]-(:Space)<-[:LOCATED_IN]-(e:Equipment)-[:HAS_POINT]->(p:Point)
WHERE e.equipment_type = 'AccessController' AND p.quantity = 'door'
RETURN DISTINCT e.id AS k1, p.id AS k2, p.idx AS idx
