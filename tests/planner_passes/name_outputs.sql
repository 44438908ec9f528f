-- name_outputs: unnamed result expressions named as DuckDB names them; no name twice.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: an aggregate is named by its SQL, as DuckDB names it
SELECT status, count(*) FROM shop.orders GROUP BY status
-- expected:
SELECT
  status,
  COUNT(*) AS "count_star()"
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

-- title: a name taken twice gets _1, _2, as in DuckDB
SELECT count(*), count(*), sum(amount) FROM shop.orders
-- expected:
SELECT
  COUNT(*) AS "count_star()",
  COUNT(*) AS "count_star()_1",
  SUM(amount) AS "sum(amount)"
FROM shop.orders

-- title: an alias that looks like an expression's name is kept, the expression yields
SELECT o_id AS "count_star()", count(*) FROM shop.orders GROUP BY o_id
-- expected:
SELECT
  o_id AS "count_star()",
  COUNT(*) AS "count_star()_1"
FROM shop.orders
GROUP BY
  o_id

-- title: only the first SELECT of a set operation names the columns
SELECT upper(status) FROM shop.orders UNION SELECT lower(segment) FROM shop.customers
-- expected:
SELECT
  UPPER(status) AS "upper(status)"
FROM shop.orders
UNION
SELECT
  LOWER(segment)
FROM shop.customers

-- title: a long expression's name is cut at 64 characters
SELECT coalesce(note, clerk, priority, status, 'none at all for this order, really none') FROM shop.orders
-- expected:
SELECT
  COALESCE(note, clerk, priority, status, 'none at all for this order, really none') AS "coalesce(note, clerk, priority, status, 'none at all for this or"
FROM shop.orders

-- title: columns of two tables with one name: the second gets _1
SELECT o.c_id, c.c_id, o.c_id AS c_id FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id
-- expected:
SELECT
  o.c_id,
  c.c_id AS "c_id_1",
  o.c_id AS "c_id_2"
FROM shop.orders AS o
JOIN shop.customers AS c
  ON o.c_id = c.c_id

-- title: operators in parentheses, functions in lower case, count(*) in a window is count()
SELECT amount * 2 + 1, -amount, CAST(o_id AS VARCHAR), upper(status), count(*) OVER () FROM shop.orders
-- expected:
SELECT
  amount * 2 + 1 AS "((amount * 2) + 1)",
  -amount AS "(-(amount))",
  CAST(o_id AS TEXT) AS "CAST(o_id AS VARCHAR)",
  UPPER(status) AS "upper(status)",
  COUNT(*) OVER () AS "count() OVER ()"
FROM shop.orders

-- title: an alias is kept as written (qualification lower-cases it; unique_outputs spells it back)
SELECT o_id AS OrderId, amount AS "Amount" FROM shop.orders ORDER BY orderid, AMOUNT
-- expected:
SELECT
  o_id AS OrderId,
  amount AS "Amount"
FROM shop.orders
ORDER BY
  orderid,
  AMOUNT
