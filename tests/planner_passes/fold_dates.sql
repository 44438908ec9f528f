-- fold_dates: a DATE literal +/- an interval of days..years folded into a literal.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: a year after a date (TPC-H Q6)
SELECT o_id FROM shop.orders WHERE o_date < DATE '1994-01-01' + INTERVAL '1' YEAR
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  o_date < CAST('1995-01-01' AS DATE)

-- title: days before a date, unit in the text (TPC-H Q1 as often written)
SELECT o_id FROM shop.orders WHERE o_date <= DATE '1998-12-01' - INTERVAL '90 days'
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  o_date <= CAST('1998-09-02' AS DATE)

-- title: month ends clamp, leap years count
SELECT DATE '2024-01-31' + INTERVAL '1' MONTH, DATE '2023-01-31' + INTERVAL 1 MONTH, DATE '1994-05-31' - INTERVAL '3' MONTH
-- expected:
SELECT
  CAST('2024-02-29' AS DATE) AS "(CAST('2024-01-31' AS DATE) + INTERVAL '1' MONTH)",
  CAST('2023-02-28' AS DATE) AS "(CAST('2023-01-31' AS DATE) + INTERVAL '1' MONTH)",
  CAST('1994-02-28' AS DATE) AS "(CAST('1994-05-31' AS DATE) - INTERVAL '3' MONTH)"

-- title: quarters and weeks, singular and plural
SELECT DATE '1994-11-30' + INTERVAL 1 QUARTER, DATE '1994-01-01' + INTERVAL 2 QUARTERS, DATE '1994-01-01' + INTERVAL '2 weeks', DATE '1994-01-01' + INTERVAL '1' WEEK
-- expected:
SELECT
  CAST('1995-02-28' AS DATE) AS "(CAST('1994-11-30' AS DATE) + INTERVAL '1' QUARTER)",
  CAST('1994-07-01' AS DATE) AS "(CAST('1994-01-01' AS DATE) + INTERVAL '2' QUARTERS)",
  CAST('1994-01-15' AS DATE) AS "(CAST('1994-01-01' AS DATE) + INTERVAL '2' WEEKS)",
  CAST('1994-01-08' AS DATE) AS "(CAST('1994-01-01' AS DATE) + INTERVAL '1' WEEK)"

-- title: the interval first, and a negative amount
SELECT INTERVAL '1' YEAR + DATE '1994-01-01', CAST('1994-01-01' AS DATE) + INTERVAL '-1' YEAR
-- expected:
SELECT
  CAST('1995-01-01' AS DATE) AS "(INTERVAL '1' YEAR + CAST('1994-01-01' AS DATE))",
  CAST('1993-01-01' AS DATE) AS "(CAST('1994-01-01' AS DATE) + INTERVAL '-1' YEAR)"

-- title: a time of day and a timestamp are left to the engines
SELECT DATE '1994-01-01' + INTERVAL '1' HOUR, TIMESTAMP '1994-01-01 10:00' + INTERVAL '1' DAY, o_date + INTERVAL '1' DAY FROM shop.orders
-- expected:
SELECT
  CAST('1994-01-01' AS DATE) + INTERVAL '1' HOUR AS "(CAST('1994-01-01' AS DATE) + INTERVAL '1' HOUR)",
  CAST('1994-01-01 10:00:00' AS TIMESTAMP) + INTERVAL '1' DAY AS "(CAST('1994-01-01 10:00' AS TIMESTAMP) + INTERVAL '1' DAY)",
  o_date + INTERVAL '1' DAY AS "(o_date + INTERVAL '1' DAY)"
FROM shop.orders

-- title: only a literal plus one interval folds (the outer sum keeps its second interval)
SELECT DATE '1994-01-01' + INTERVAL '1' YEAR + INTERVAL '1' MONTH
-- expected:
SELECT
  CAST('1995-01-01' AS DATE) + INTERVAL '1' MONTH AS "((CAST('1994-01-01' AS DATE) + INTERVAL '1' YEAR) + INTERVAL '1'"
