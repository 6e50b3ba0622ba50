-- Q3: equipment located in or serving a space, one row per relation that holds.
SELECT src AS equipment_id, CASE rel WHEN 'LOCATED_IN' THEN 'located_in' ELSE 'serves' END AS relation
FROM edges
WHERE dst = %(space)s AND rel IN ('LOCATED_IN', 'SERVES')
GROUP BY 1, 2
ORDER BY 1, 2
