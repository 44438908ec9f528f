-- cast_text: casts from and to text read and write values as DuckDB does.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: text to numbers ignores spaces; to a decimal it rounds to the scale
SELECT CAST(note AS INTEGER) AS i, TRY_CAST(note AS DOUBLE) AS f, CAST(note AS DECIMAL(10,2)) AS d FROM shop.orders
-- expected:
SELECT
  COALESCE(
    TRY_CAST(TRIM(orders.note) AS INT),
    CAST(SIGN(CAST(TRIM(orders.note) AS DOUBLE)) * FLOOR(ABS(CAST(TRIM(orders.note) AS DOUBLE)) + 0.5) AS INT)
  ) AS i,
  TRY_CAST(TRIM(orders.note) AS DOUBLE) AS f,
  CAST(ROUND(CAST(TRIM(orders.note) AS DECIMAL(38, 18)), 2) AS DECIMAL(10, 2)) AS d
FROM __ds0 AS orders

-- title: a timestamp as text has no zero fraction
SELECT CAST(CAST(o_date AS TIMESTAMP) AS VARCHAR) AS t FROM shop.orders
-- expected:
SELECT
  REGEXP_REPLACE(
    REGEXP_REPLACE(CAST(CAST(orders.o_date AS TIMESTAMP) AS TEXT), '(\.[0-9]*?)0+$', '\1', 'g'),
    '\.$',
    '',
    'g'
  ) AS t
FROM __ds0 AS orders

-- title: a date literal cast is left alone
SELECT o_id FROM shop.orders WHERE o_date < CAST('1995-01-01' AS DATE)
-- expected:
SELECT
  orders.o_id AS o_id
FROM __ds0 AS orders
WHERE
  orders.o_date < CAST('1995-01-01' AS DATE)
