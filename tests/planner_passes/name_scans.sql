-- name_scans: each reference of the local query reads its scan.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: each reference reads its scan
SELECT o.o_id, e.kind FROM shop.orders AS o JOIN lake.events AS e ON e.c_id = o.c_id
-- expected:
SELECT
  o.o_id AS o_id,
  e.kind AS kind
FROM __scan0 AS o
JOIN __scan1 AS e
  ON e.c_id = o.c_id

-- title: references of a shared scan read the shared one
SELECT a.kind, b.value FROM lake.events AS a JOIN lake.events AS b ON a.c_id = b.c_id
-- expected:
SELECT
  a.kind AS kind,
  b.value AS value
FROM __scan0 AS a
JOIN __scan0 AS b
  ON a.c_id = b.c_id

-- title: a join pushed down reads as one scan
SELECT c.name, o.o_id, o.o_date, o.status, o.amount, o.priority, o.clerk, o.note, e.kind FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id JOIN lake.events AS e ON e.c_id = c.c_id WHERE c.c_id = 3
-- expected:
SELECT
  __join0."c__name" AS name,
  __join0."o__o_id" AS o_id,
  __join0."o__o_date" AS o_date,
  __join0."o__status" AS status,
  __join0."o__amount" AS amount,
  __join0."o__priority" AS priority,
  __join0."o__clerk" AS clerk,
  __join0."o__note" AS note,
  e.kind AS kind
FROM __scan0 AS __join0
JOIN __scan2 AS e
  ON e.c_id = __join0."c__c_id"
WHERE
  __join0."c__c_id" = 3 AND __join0."o__c_id" = __join0."c__c_id"
