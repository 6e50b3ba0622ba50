-- Q6 (structure part): the point. Returns: idx.
-- P2's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q6).
SELECT (n.props->>'point_idx')::int FROM nodes n WHERE n.id = %(point)s AND n.type = 'Point'
