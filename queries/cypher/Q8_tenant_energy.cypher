// Q8 (graph part): energy registers of the tenant's sub-meters (Meter, meter_role tenant) serving its spaces.
// Returns: idx.
MATCH (:Tenant {id: $tenant})-[:OCCUPIES]->(:Space)<-[:SERVES]-(m:Equipment)-[:HAS_POINT]->(p:Point)
WHERE m.equipment_type = 'Meter' AND m.meter_role = 'tenant' AND p.brick_class = 'Electric_Energy_Sensor'
RETURN DISTINCT p.idx AS idx
