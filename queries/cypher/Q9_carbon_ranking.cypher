// Q9 (graph part): every tenant, with its tenant-meter registers and the building (and its carbon factor) of
// each served tenant space. Tenants without a meter come back once with nulls.
// Returns: k1 = tenant id, k2 = building id, f = carbon_kg_per_kwh, idx.
MATCH (t:Tenant)
OPTIONAL MATCH (t)-[:OCCUPIES]->(s:Space)<-[:SERVES]-(m:Equipment)-[:HAS_POINT]->(p:Point)
WHERE m.equipment_type = 'Meter' AND m.meter_role = 'tenant' AND p.brick_class = 'Electric_Energy_Sensor'
OPTIONAL MATCH (b:Building)-[:CONTAINS]->(:Floor)-[:CONTAINS]->(s)
RETURN DISTINCT t.id AS k1, b.id AS k2, b.carbon_kg_per_kwh AS f, p.idx AS idx
