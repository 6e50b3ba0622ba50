// Q6 (graph part): the series key of one point. Returns: idx.
MATCH (p:Point {id: $point})
RETURN p.idx AS idx
