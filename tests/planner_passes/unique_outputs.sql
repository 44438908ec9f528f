-- unique_outputs: the columns a star expands to get unique names, as DuckDB names them.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: a star over a join: the second c_id is c_id_1
SELECT * FROM shop.customers AS c JOIN shop.orders AS o ON o.c_id = c.c_id WHERE o.o_id = 1
-- expected:
SELECT
  c.c_id AS c_id,
  c.name AS name,
  c.segment AS segment,
  c.email AS email,
  c.country AS country,
  o.o_id AS o_id,
  o.c_id AS "c_id_1",
  o.o_date AS o_date,
  o.status AS status,
  o.amount AS amount,
  o.priority AS priority,
  o.clerk AS clerk,
  o.note AS note
FROM __ds0 AS c
JOIN __ds1 AS o
  ON o.c_id = c.c_id
WHERE
  o.o_id = 1

-- title: aliases are spelled back as written, in the ORDER BY too; GROUP BY and HAVING find them in any case
SELECT status AS Status, count(*) AS "N" FROM shop.orders GROUP BY status HAVING n > 1 ORDER BY STATUS, n
-- expected:
SELECT
  orders.status AS "Status",
  COUNT(*) AS "N"
FROM __ds0 AS orders
GROUP BY
  orders.status
HAVING
  COUNT(*) > 1
ORDER BY
  "Status",
  "N"
