-- Q6 (structure part): the point. Returns: idx.
-- P1's statement is this part as the CTE `fed` + the series part every scenario shares (shared/series/Q6).
SELECT p.idx FROM points p WHERE p.id = %(point)s
