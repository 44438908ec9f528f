-- divide_as_double: / divides in DOUBLE, as DuckDB does, decimals and integers alike.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: integers, decimals and an already-double operand (TPC-DS Q90's decimal ratio)
SELECT o_id / 2 AS half, CAST(amount AS DECIMAL(15,4)) / CAST(c_id AS DECIMAL(15,4)) AS ratio, CAST(amount AS DOUBLE) / 3 AS third FROM shop.orders
-- expected:
SELECT
  CAST(o_id AS DOUBLE) / 2 AS half,
  CAST(CAST(amount AS DECIMAL(15, 4)) AS DOUBLE) / CAST(c_id AS DECIMAL(15, 4)) AS ratio,
  CAST(amount AS DOUBLE) / 3 AS third
FROM shop.orders

-- title: integer division keeps its own operator
SELECT o_id // 2 AS q FROM shop.orders
-- expected:
SELECT
  o_id // 2 AS q
FROM shop.orders
