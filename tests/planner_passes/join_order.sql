-- join_order: the FROM list of a SELECT over a database, ordered by cost (rows from the sources' statistics).
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: four tables over a database: the filtered region first, then by cost
SELECT o.o_id, e.kind, r.region FROM shop.orders AS o JOIN lake.events AS e ON e.c_id = o.c_id JOIN shop.customers AS c ON c.c_id = o.c_id JOIN lake.regions AS r ON r.country = c.country WHERE r.region = 'Nordics'
-- expected:
SELECT
  o.o_id AS o_id,
  e.kind AS kind,
  r.region AS region
FROM __scan3 AS r, __scan2 AS c, __scan0 AS o, __scan1 AS e
WHERE
  r.region = 'Nordics'
  AND e.c_id = o.c_id
  AND c.c_id = o.c_id
  AND r.country = c.country
-- expected scans:
__scan0 AS o: shop.orders
  columns: o_id, c_id
  join: kept local: est. 1,680 values moved if pushed (~200 rows) vs 440 as separate scans
__scan1 AS e: lake.events
  columns: c_id, kind
__scan2 AS c: shop.customers
  columns: c_id, country
  join: kept local: est. 1,680 values moved if pushed (~200 rows) vs 440 as separate scans
__scan3 AS r: lake.regions
  columns: country, region
  kept local: r.region = 'Nordics'
note: join order (database sizes unknown to Polars): r, c, o, e

-- title: two tables are left to Polars
SELECT o.o_id, c.name FROM shop.orders AS o JOIN shop.customers AS c ON c.c_id = o.c_id
-- expected:
SELECT
  o.o_id AS o_id,
  c.name AS name
FROM __scan0 AS o
JOIN __scan1 AS c
  ON c.c_id = o.c_id

-- title: an outer join keeps the written order
SELECT o.o_id, e.kind, r.region FROM shop.orders AS o LEFT JOIN lake.events AS e ON e.c_id = o.c_id JOIN shop.customers AS c ON c.c_id = o.c_id JOIN lake.regions AS r ON r.country = c.country
-- expected:
SELECT
  o.o_id AS o_id,
  e.kind AS kind,
  r.region AS region
FROM __scan0 AS o
LEFT JOIN __scan1 AS e
  ON e.c_id = o.c_id
JOIN __scan2 AS c
  ON c.c_id = o.c_id
JOIN __scan3 AS r
  ON r.country = c.country

-- title: files only: Polars estimates them itself
SELECT a.kind, b.kind, r.region FROM lake.events AS a JOIN lake.events AS b ON a.c_id = b.c_id JOIN lake.regions AS r ON r.country = a.kind
-- expected:
SELECT
  a.kind AS kind,
  b.kind AS "kind_1",
  r.region AS region
FROM __scan0 AS a
JOIN __scan0 AS b
  ON a.c_id = b.c_id
JOIN __scan2 AS r
  ON r.country = a.kind
