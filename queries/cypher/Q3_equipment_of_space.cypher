// Q3: equipment located in or serving a space, one row per relation that holds.
MATCH (e:Equipment)-[:LOCATED_IN]->(:Space {id: $space})
RETURN e.id AS equipment_id, 'located_in' AS relation
UNION
MATCH (e:Equipment)-[:SERVES]->(:Space {id: $space})
RETURN e.id AS equipment_id, 'serves' AS relation
