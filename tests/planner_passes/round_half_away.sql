-- round_half_away: ROUND and narrowing CASTs round half away from zero, as DuckDB does.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: ROUND of a DOUBLE: scaled, rounded half away, scaled back (TPC-DS Q78's ratio)
SELECT round(amount, 2) AS r, round(amount) AS r0 FROM shop.orders
-- expected:
SELECT
  (
    SIGN(orders.amount * 100.0) * FLOOR(ABS(orders.amount * 100.0) + 0.5)
  ) / 100.0 AS r,
  SIGN(orders.amount) * FLOOR(ABS(orders.amount) + 0.5) AS r0
FROM __ds0 AS orders

-- title: a division is a DOUBLE, so its ROUND is rewritten too
SELECT round(o_id / 3, 1) AS r FROM shop.orders
-- expected:
SELECT
  (
    SIGN((
      CAST(orders.o_id AS DOUBLE) / 3
    ) * 10.0) * FLOOR(ABS((
      CAST(orders.o_id AS DOUBLE) / 3
    ) * 10.0) + 0.5)
  ) / 10.0 AS r
FROM __ds0 AS orders

-- title: a negative number of places, which Polars refuses, on an integer keeps the type
SELECT round(o_id, -1) AS tens FROM shop.orders
-- expected:
SELECT
  CAST((
    SIGN(CAST(orders.o_id AS DOUBLE) / 10.0) * FLOOR(ABS(CAST(orders.o_id AS DOUBLE) / 10.0) + 0.5)
  ) * 10.0 AS BIGINT) AS tens
FROM __ds0 AS orders

-- title: casts to integers and to a smaller decimal scale round first
SELECT CAST(amount AS INTEGER) AS i, CAST(amount AS DECIMAL(9,1)) AS d, CAST(CAST(amount AS DECIMAL(9,3)) AS DECIMAL(9,1)) AS dd FROM shop.orders
-- expected:
SELECT
  CAST(ROUND(orders.amount) AS INT) AS i,
  CAST((
    SIGN(orders.amount * 10.0) * FLOOR(ABS(orders.amount * 10.0) + 0.5)
  ) / 10.0 AS DECIMAL(9, 1)) AS d,
  CAST(ROUND(
    CAST((
      SIGN(orders.amount * 1000.0) * FLOOR(ABS(orders.amount * 1000.0) + 0.5)
    ) / 1000.0 AS DECIMAL(9, 3)),
    1
  ) AS DECIMAL(9, 1)) AS dd
FROM __ds0 AS orders

-- title: integers and decimals rounded to places >= 0 are left to Polars (it rounds them half away)
SELECT round(o_id, 1) AS a, round(CAST(amount AS DECIMAL(9,3)), 1) AS b FROM shop.orders
-- expected:
SELECT
  ROUND(orders.o_id, 1) AS a,
  ROUND(
    CAST((
      SIGN(orders.amount * 1000.0) * FLOOR(ABS(orders.amount * 1000.0) + 0.5)
    ) / 1000.0 AS DECIMAL(9, 3)),
    1
  ) AS b
FROM __ds0 AS orders
