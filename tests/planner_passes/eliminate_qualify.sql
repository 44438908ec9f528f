-- eliminate_qualify: QUALIFY (ignored by Polars) -> a filter over a subquery.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: without QUALIFY nothing changes
SELECT o_id, row_number() OVER (ORDER BY amount) AS rn FROM shop.orders
-- expected:
SELECT
  o_id,
  ROW_NUMBER() OVER (ORDER BY amount) AS rn
FROM shop.orders

-- title: QUALIFY becomes a filter over a subquery carrying the window value
SELECT o_id, c_id FROM shop.orders QUALIFY row_number() OVER (PARTITION BY c_id ORDER BY amount DESC) = 1
-- expected:
SELECT
  o_id,
  c_id
FROM (
  SELECT
    o_id,
    c_id,
    ROW_NUMBER() OVER (PARTITION BY c_id ORDER BY amount DESC) AS _w
  FROM shop.orders
) AS _t
WHERE
  _w = 1

-- title: QUALIFY on a window of the select list uses its alias
SELECT o_id, rank() OVER (ORDER BY amount) AS r FROM shop.orders QUALIFY r <= 3
-- expected:
SELECT
  o_id,
  r
FROM (
  SELECT
    o_id,
    RANK() OVER (ORDER BY amount) AS r
  FROM shop.orders
) AS _t
WHERE
  r <= 3
