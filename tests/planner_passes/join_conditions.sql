-- join_conditions: an inner join's ON beyond equalities of its two sides moves to WHERE.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: an inequality between the sides, and a filter on one side
SELECT o.o_id FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id AND o.amount > c.c_id AND c.segment = 'A'
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
JOIN __ds1 AS c
  ON o.c_id = c.c_id
WHERE
  o.amount > c.c_id AND c.segment = 'A'

-- title: no equality left: a cross join filtered by the WHERE (a side naming both tables)
SELECT o.o_id FROM shop.orders AS o JOIN shop.orders AS p ON o.o_id < p.o_id AND p.o_id - o.o_id = 1
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
CROSS JOIN __ds0 AS p
WHERE
  o.o_id < p.o_id AND p.o_id - o.o_id = 1

-- title: an outer join keeps its ON; the inner join after it moves its filter
SELECT o.o_id FROM shop.orders AS o LEFT JOIN shop.customers AS c ON o.c_id = c.c_id AND c.segment = 'A' JOIN shop.orders AS p ON p.o_id = o.o_id AND p.amount > 1
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
LEFT JOIN __ds1 AS c
  ON o.c_id = c.c_id AND c.segment = 'A'
JOIN __ds0 AS p
  ON p.o_id = o.o_id
WHERE
  p.amount > 1

-- title: with a RIGHT JOIN in the FROM nothing moves (the filter would drop the rows it keeps)
SELECT o.o_id FROM shop.orders AS o JOIN shop.orders AS p ON p.o_id = o.o_id AND p.amount > 1 RIGHT JOIN shop.customers AS c ON c.c_id = o.c_id
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
JOIN __ds0 AS p
  ON p.o_id = o.o_id AND p.amount > 1
RIGHT JOIN __ds1 AS c
  ON c.c_id = o.c_id
