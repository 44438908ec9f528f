-- share_scans: one scan per file dataset; one per database table when one fetch moves no more.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: a file dataset read twice is one scan, with both references' columns and predicates
SELECT a.kind, b.value FROM lake.events AS a JOIN lake.events AS b ON a.c_id = b.c_id WHERE a.kind = 'buy' AND b.value > 1
-- expected scans:
__scan0 AS a: lake.events
  columns: c_id, kind, value
  pushed inexact: a.kind = 'buy'
  pushed inexact: b.value > 1
  shared, sends: a.kind = 'buy' AND b.value > 1
reads: __scan1 -> __scan0

-- title: a table read twice with the same predicates is fetched once
SELECT a.o_id, b.amount FROM shop.orders AS a JOIN shop.orders AS b ON a.c_id = b.c_id WHERE a.status = 'F' AND b.status = 'F'
-- expected scans:
__scan0 AS a: shop.orders
  columns: o_id, c_id, status, amount
  pushed exact: a.status = 'F'
  pushed exact: b.status = 'F'
  shared, sends: a.status = 'F'
  join: kept local: no key column to estimate the join's size
reads: __scan1 -> __scan0

-- title: the reference with weaker predicates and every column serves both
SELECT a.o_id, a.amount, a.status FROM shop.orders AS a WHERE a.amount > (SELECT avg(b.amount) FROM shop.orders AS b WHERE b.status = 'F')
-- expected scans:
__scan0 AS b: shop.orders
  columns: o_id, status, amount
  kept local: b.status = 'F'
  shared, sends: no predicate
reads: __scan1 -> __scan0

-- title: the weaker reference lacks a column the other reads: two fetches
SELECT a.o_id, a.amount FROM shop.orders AS a WHERE a.amount > (SELECT avg(b.amount) FROM shop.orders AS b WHERE b.status = 'F')
-- expected scans:
__scan0 AS b: shop.orders
  columns: status, amount
  pushed exact: b.status = 'F'
__scan1 AS a: shop.orders
  columns: o_id, amount

-- title: two different predicates, neither weaker: two fetches
SELECT a.o_id, b.o_id FROM shop.orders AS a JOIN shop.orders AS b ON a.c_id = b.c_id WHERE a.status = 'F' AND b.status = 'O'
-- expected scans:
__scan0 AS a: shop.orders
  columns: o_id, c_id, status
  pushed exact: a.status = 'F'
  join: kept local: no key column to estimate the join's size
__scan1 AS b: shop.orders
  columns: o_id, c_id, status
  pushed exact: b.status = 'O'
  join: kept local: no key column to estimate the join's size
