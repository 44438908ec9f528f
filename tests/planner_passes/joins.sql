-- joins: a join within one database pushed down when it moves fewer values (join estimates from
-- the SQLite file's row counts: 20 customers, 200 orders).
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: a join on a key that filters the wide table goes down whole
SELECT c.name, o.o_id, o.o_date, o.status, o.amount, o.priority, o.clerk, o.note FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id WHERE c.c_id = 3
-- expected:
SELECT
  __join0."c__name" AS name,
  __join0."o__o_id" AS o_id,
  __join0."o__o_date" AS o_date,
  __join0."o__status" AS status,
  __join0."o__amount" AS amount,
  __join0."o__priority" AS priority,
  __join0."o__clerk" AS clerk,
  __join0."o__note" AS note
FROM __scan0 AS __join0
WHERE
  __join0."c__c_id" = 3 AND __join0."o__c_id" = __join0."c__c_id"
-- expected scans:
__scan0 AS __join0: shop.orders, shop.customers
  columns: o__o_id, o__c_id, o__o_date, o__status, o__amount, o__priority, o__clerk, o__note, c__c_id, c__name
  pushed exact: c.c_id = 3
  pushed exact: o.c_id = c.c_id
  query: SELECT "o"."o_id" AS "o__o_id", "o"."c_id" AS "o__c_id", "o"."o_date" AS "o__o_date", "o"."status" AS "o__status", "o"."amount" AS "o__amount", "o"."priority" AS "o__priority", "o"."clerk" AS "o__clerk", "o"."note" AS "o__note", "c"."c_id" AS "c__c_id", "c"."name" AS "c__name" FROM "orders" AS "o", "customers" AS "c" WHERE "c"."c_id" = 3 AND "o"."c_id" = "c"."c_id"
  join: pushed down: est. 904 values moved if pushed (~10 rows) vs 1,602 as separate scans
note: join of shop.orders, shop.customers pushed down: est. 904 values moved if pushed (~10 rows) vs 1,602 as separate scans

-- title: a join that moves more values pushed down stays local
SELECT c.name, o.o_id FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id WHERE o.status = 'F'
-- expected scans:
__scan0 AS o: shop.orders
  columns: o_id, c_id, status
  pushed exact: o.status = 'F'
  join: kept local: est. 260 values moved if pushed (~20 rows) vs 100 as separate scans
__scan1 AS c: shop.customers
  columns: c_id, name
  join: kept local: est. 260 values moved if pushed (~20 rows) vs 100 as separate scans

-- title: a join on no declared key cannot be estimated: it stays local
SELECT c.name, o.o_id FROM shop.orders AS o JOIN shop.customers AS c ON o.status = c.segment
-- expected scans:
__scan0 AS o: shop.orders
  columns: o_id, status
  join: kept local: no key column to estimate the join's size
__scan1 AS c: shop.customers
  columns: name, segment
  join: kept local: no key column to estimate the join's size

-- title: an outer join is not considered
SELECT c.name, o.o_id, o.o_date, o.status, o.amount, o.priority, o.clerk, o.note FROM shop.customers AS c LEFT JOIN shop.orders AS o ON o.c_id = c.c_id WHERE c.c_id = 3
-- expected scans:
__scan0 AS c: shop.customers
  columns: c_id, name
  pushed exact: c.c_id = 3
__scan1 AS o: shop.orders
  columns: o_id, c_id, o_date, status, amount, priority, clerk, note

-- title: with join pushdown off nothing changes
-- join_pushdown: false
SELECT c.name, o.o_id, o.o_date, o.status, o.amount, o.priority, o.clerk, o.note FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id WHERE c.c_id = 3
-- expected scans:
__scan0 AS o: shop.orders
  columns: o_id, c_id, o_date, status, amount, priority, clerk, note
__scan1 AS c: shop.customers
  columns: c_id, name
  pushed exact: c.c_id = 3
