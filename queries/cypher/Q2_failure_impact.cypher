// Q2: spaces (with their floor) served by an equipment or anything FEEDS-downstream of it (0..10 hops).
MATCH (:Equipment {id: $equipment})-[:FEEDS*0..10]->(d:Equipment)
WITH DISTINCT d
MATCH (d)-[:SERVES]->(s:Space)
OPTIONAL MATCH (f:Floor)-[:CONTAINS]->(s)
RETURN DISTINCT s.id AS space_id, f.id AS floor_id
