-- subtract_dates: a date minus a date is a number of days.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: a column minus a literal, and two columns (a self join)
SELECT o.o_date - DATE '1995-01-01' AS since, o.o_date - p.o_date AS apart FROM shop.orders AS o JOIN shop.orders AS p ON o.o_id = p.o_id + 1
-- expected:
SELECT
  CAST(o.o_date AS INT) - CAST(CAST('1995-01-01' AS DATE) AS INT) AS since,
  CAST(o.o_date AS INT) - CAST(p.o_date AS INT) AS apart
FROM __ds0 AS o
JOIN __ds0 AS p
  ON o.o_id = p.o_id + 1

-- title: a date minus a number of days stays a date
SELECT o_date - 7 AS week_before FROM shop.orders
-- expected:
SELECT
  orders.o_date - 7 AS week_before
FROM __ds0 AS orders
