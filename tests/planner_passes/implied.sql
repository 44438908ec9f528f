-- implied: an OR across tables also ANDs one implied condition per table (tree after resolve).
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: an OR across tables implies one condition per table (TPC-H Q19's shape)
SELECT o.o_id FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id WHERE (o.status = 'F' AND c.segment = 'trade' AND o.amount < 5) OR (o.status = 'O' AND c.segment = 'retail' AND o.amount < 5)
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
JOIN __ds1 AS c
  ON o.c_id = c.c_id
WHERE
  (
    (
      o.status = 'F' AND c.segment = 'trade' AND o.amount < 5
    )
    OR (
      o.status = 'O' AND c.segment = 'retail' AND o.amount < 5
    )
  )
  AND (
    c.segment = 'trade' OR c.segment = 'retail'
  )
  AND o.amount < 5
  AND (
    o.status = 'F' OR o.status = 'O'
  )

-- title: an OR over one table is left whole (its scan takes it as it is)
SELECT o_id FROM shop.orders WHERE status = 'F' OR amount > 100
-- expected:
SELECT
  orders.o_id AS o_id
FROM __ds0 AS orders
WHERE
  orders.status = 'F' OR orders.amount > 100

-- title: a branch without a condition on a table implies nothing for that table
SELECT o.o_id FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id WHERE (o.status = 'F' AND c.segment = 'trade') OR o.status = 'O'
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
JOIN __ds1 AS c
  ON o.c_id = c.c_id
WHERE
  (
    (
      o.status = 'F' AND c.segment = 'trade'
    ) OR o.status = 'O'
  )
  AND (
    o.status = 'F' OR o.status = 'O'
  )

-- title: an OR in a join's ON adds to that ON
SELECT o.o_id FROM shop.orders AS o LEFT JOIN shop.customers AS c ON o.c_id = c.c_id AND ((c.segment = 'trade' AND o.status = 'F') OR (c.segment = 'retail' AND o.status = 'O'))
-- expected:
SELECT
  o.o_id AS o_id
FROM __ds0 AS o
LEFT JOIN __ds1 AS c
  ON o.c_id = c.c_id
  AND (
    (
      c.segment = 'trade' AND o.status = 'F'
    )
    OR (
      c.segment = 'retail' AND o.status = 'O'
    )
  )
  AND (
    c.segment = 'trade' OR c.segment = 'retail'
  )
  AND (
    o.status = 'F' OR o.status = 'O'
  )
