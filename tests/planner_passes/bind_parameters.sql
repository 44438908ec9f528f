-- bind_parameters: each :name placeholder -> the literal of its value (options: params).
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: a string and a number bind as literals; a quote stays data
-- params: {"s": "it's", "n": 3}
SELECT o_id FROM shop.orders WHERE status = :s AND c_id = :n
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  status = 'it''s' AND c_id = 3

-- title: a list binds as the values of IN
-- params: {"ids": [1, 2, 3]}
SELECT o_id FROM shop.orders WHERE o_id IN :ids
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  o_id IN (1, 2, 3)

-- title: a date (ISO text in JSON stays text) and a boolean and null
-- params: {"d": "1994-02-01", "b": true, "z": null}
SELECT o_id FROM shop.orders WHERE o_date >= :d AND :b AND note IS NOT :z
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  o_date >= '1994-02-01' AND TRUE AND NOT note IS NULL

-- title: without placeholders nothing changes
-- params: {"s": "F"}
SELECT o_id FROM shop.orders WHERE status = 'F'
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  status = 'F'

-- title: a placeholder without a value
SELECT o_id FROM shop.orders WHERE status = :s
-- expected error:
no value for parameter :s

-- title: a positional ? (DuckDB's parser names it '?') is refused as positional
SELECT o_id FROM shop.orders WHERE status = ?
-- expected error:
positional '?' parameters are not supported; use :name

-- title: an empty list
-- params: {"ids": []}
SELECT o_id FROM shop.orders WHERE o_id IN :ids
-- expected error:
parameter :ids is an empty list
