-- cap_rows: plan_query(limit=) as a LIMIT in the tree (options: limit).
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: without a cap nothing changes
SELECT o_id FROM shop.orders
-- expected:
SELECT
  o_id
FROM shop.orders

-- title: the cap becomes a LIMIT
-- limit: 10
SELECT o_id FROM shop.orders
-- expected:
SELECT
  o_id
FROM shop.orders
LIMIT 10

-- title: a lower LIMIT of the statement holds
-- limit: 10
SELECT o_id FROM shop.orders LIMIT 5
-- expected:
SELECT
  o_id
FROM shop.orders
LIMIT 5

-- title: a higher LIMIT of the statement is lowered to the cap
-- limit: 10
SELECT o_id FROM shop.orders LIMIT 50
-- expected:
SELECT
  o_id
FROM shop.orders
LIMIT 10

-- title: a set operation is capped from outside
-- limit: 10
SELECT o_id FROM shop.orders UNION ALL SELECT c_id FROM shop.customers
-- expected:
SELECT
  *
FROM (
  SELECT
    o_id
  FROM shop.orders
  UNION ALL
  SELECT
    c_id
  FROM shop.customers
) AS _capped
LIMIT 10

-- title: LIMIT with OFFSET is capped from outside (the offset's rows are not the answer's)
-- limit: 10
SELECT o_id FROM shop.orders ORDER BY o_id LIMIT 50 OFFSET 5
-- expected:
SELECT
  *
FROM (
  SELECT
    o_id
  FROM shop.orders
  ORDER BY
    o_id
  LIMIT 50
  OFFSET 5
) AS _capped
LIMIT 10

-- title: a negative cap
-- limit: -1
SELECT o_id FROM shop.orders
-- expected error:
a row limit must be zero or more, not -1
