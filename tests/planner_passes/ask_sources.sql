-- ask_sources: each source's verdict on each candidate; the scans, __scan0, __scan1, ...
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: SQLite takes what it runs exactly, LIKE inexactly (it ignores case), and declines division and lower() (engines differ)
SELECT o_id FROM shop.orders WHERE status = 'F' AND clerk LIKE 'Clerk 1%' AND lower(note) = 'note 3' AND amount / 2 > 100 AND o_date >= DATE '1994-06-01'
-- expected scans:
__scan0 AS orders: shop.orders
  columns: o_id, o_date, status, amount, clerk, note
  pushed exact: orders.status = 'F'
  pushed inexact: orders.clerk LIKE 'Clerk 1%'
  pushed exact: orders.o_date >= CAST('1994-06-01' AS DATE)
  kept local: LOWER(orders.note) = 'note 3'
  kept local: CAST(orders.amount AS DOUBLE) / 2 > 100

-- title: the LIMIT and its order go down when every conjunct is exact
SELECT o_id, amount FROM shop.orders WHERE status = 'F' ORDER BY amount DESC LIMIT 5
-- expected scans:
__scan0 AS orders: shop.orders
  columns: o_id, status, amount
  pushed exact: orders.status = 'F'
  limit: 5, order by "amount" DESC

-- title: a conjunct kept local keeps the LIMIT local
SELECT o_id FROM shop.orders WHERE status = 'F' AND amount / 2 > 100 LIMIT 5
-- expected scans:
__scan0 AS orders: shop.orders
  columns: o_id, status, amount
  pushed exact: orders.status = 'F'
  kept local: CAST(orders.amount AS DOUBLE) / 2 > 100

-- title: parquet takes predicates inexactly (row groups), CSV none
SELECT e.kind, r.region FROM lake.events AS e JOIN lake.regions AS r ON e.kind = r.country WHERE e.value > 2 AND r.region <> 'Americas'
-- expected scans:
__scan0 AS e: lake.events
  columns: kind, value
  pushed inexact: e.value > 2
__scan1 AS r: lake.regions
  columns: country, region
  kept local: r.region <> 'Americas'

-- title: COUNT(*) reads the narrowest column
SELECT count(*) FROM shop.customers
-- expected scans:
__scan0 AS customers: shop.customers
  columns: c_id

-- title: the role's row filter runs at the source, so the LIMIT still goes down
-- role: analyst
SELECT name FROM shop.customers WHERE segment = 'trade' LIMIT 2
-- expected scans:
__scan0 AS customers: shop.customers
  columns: name, segment
  pushed exact: customers.segment = 'trade'
  limit: 2
  row filter: ("country" IN ('SE', 'DE'))
  masks: email hash

-- title: SQLite declines NOT LIKE (its LIKE ignores case, so the negation drops rows) and a date against a timestamp
SELECT o_id FROM shop.orders WHERE clerk NOT LIKE 'Clerk 1%' AND o_date = TIMESTAMP '1994-06-01 00:00:00'
-- expected scans:
__scan0 AS orders: shop.orders
  columns: o_id, o_date, clerk
  kept local: orders.clerk NOT LIKE 'Clerk 1%'
  kept local: orders.o_date = CAST('1994-06-01 00:00:00' AS TIMESTAMPNTZ)
