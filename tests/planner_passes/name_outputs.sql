-- name_outputs: unnamed result expressions named by their SQL, as DuckDB names them.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: an aggregate is named by its SQL, as DuckDB names it
SELECT status, count(*) FROM shop.orders GROUP BY status
-- expected:
SELECT
  status,
  COUNT(*) AS "COUNT(*)"
FROM shop.orders
GROUP BY
  status

-- title: columns, aliases and stars keep their names
SELECT o_id, amount * 2 AS double_amount, * FROM shop.orders
-- expected:
SELECT
  o_id,
  amount * 2 AS double_amount,
  *
FROM shop.orders

-- title: a name taken twice gets an underscore
SELECT count(*), count(*), sum(amount) FROM shop.orders
-- expected:
SELECT
  COUNT(*) AS "COUNT(*)",
  COUNT(*) AS "COUNT(*)_",
  SUM(amount) AS "SUM(amount)"
FROM shop.orders

-- title: an alias that looks like an expression's name is kept, the expression yields
SELECT o_id AS "COUNT(*)", count(*) FROM shop.orders GROUP BY o_id
-- expected:
SELECT
  o_id AS "COUNT(*)",
  COUNT(*) AS "COUNT(*)_"
FROM shop.orders
GROUP BY
  o_id

-- title: only the first SELECT of a set operation names the columns
SELECT upper(status) FROM shop.orders UNION SELECT lower(segment) FROM shop.customers
-- expected:
SELECT
  UPPER(status) AS "UPPER(status)"
FROM shop.orders
UNION
SELECT
  LOWER(segment)
FROM shop.customers

-- title: a long expression's name is cut at 64 characters
SELECT coalesce(note, clerk, priority, status, 'none at all for this order, really none') FROM shop.orders
-- expected:
SELECT
  COALESCE(note, clerk, priority, status, 'none at all for this order, really none') AS "COALESCE(note, clerk, priority, status, 'none at all for this or"
FROM shop.orders
