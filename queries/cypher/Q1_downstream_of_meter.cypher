// Q1: equipment downstream of a meter on the electrical FEEDS tree (1..10 hops), with the minimum hop depth.
// Only electrical equipment passes the walk on: every node strictly inside the path must be electrical.
MATCH path = (m:Equipment {id: $meter})-[:FEEDS*1..10]->(e:Equipment)
WHERE all(n IN nodes(path)[1..-1] WHERE n.domain = 'electrical')
RETURN e.id AS equipment_id, min(length(path)) AS min_depth
