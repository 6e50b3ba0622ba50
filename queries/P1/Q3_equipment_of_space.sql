-- Q3: equipment located in or serving a space, one row per relation that holds.
SELECT equipment_id, 'located_in' AS relation FROM equipment_locations WHERE space_id = %(space)s
UNION
SELECT equipment_id, 'serves' FROM serves WHERE space_id = %(space)s
ORDER BY 1, 2
