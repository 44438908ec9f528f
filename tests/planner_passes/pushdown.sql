-- pushdown: per table reference, the columns it needs, its candidate conjuncts, its LIMIT/ORDER BY.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: one table: the columns used and the conjuncts over it
SELECT o_id FROM shop.orders WHERE status = 'F' AND amount > 10
-- expected scans:
orders: shop.orders
  columns: amount, o_id, status
  candidate: orders.status = 'F'
  candidate: orders.amount > 10

-- title: a join: each table its own conjuncts, the join condition neither
SELECT c.name, o.o_id FROM shop.orders AS o JOIN shop.customers AS c ON o.c_id = c.c_id WHERE c.country = 'SE' AND o.amount > c.c_id
-- expected scans:
o: shop.orders
  columns: amount, c_id, o_id
c: shop.customers
  columns: c_id, country, name
  candidate: c.country = 'SE'

-- title: no conjunct on the null-supplying side of an outer join, except its own ON condition
SELECT c.name, o.o_id FROM shop.customers AS c LEFT JOIN shop.orders AS o ON o.c_id = c.c_id AND o.status = 'F' WHERE o.amount > 10 AND c.segment = 'trade'
-- expected scans:
c: shop.customers
  columns: c_id, name, segment
  candidate: c.segment = 'trade'
o: shop.orders
  columns: amount, c_id, o_id, status
  candidate: o.status = 'F'

-- title: a lone table offers its LIMIT plus OFFSET, with its ORDER BY (an output name followed to its column)
SELECT o_id AS id, amount FROM shop.orders WHERE status = 'F' ORDER BY id DESC LIMIT 5 OFFSET 2
-- expected scans:
orders: shop.orders
  columns: amount, o_id, status
  candidate: orders.status = 'F'
  limit: 7, order by orders.o_id DESC

-- title: no LIMIT offered over an aggregate, nor a subquery's conjunct
SELECT count(*) FROM shop.orders WHERE c_id IN (SELECT c_id FROM shop.customers WHERE country = 'SE') LIMIT 3
-- expected scans:
customers: shop.customers
  columns: c_id, country
  candidate: customers.country = 'SE'
orders: shop.orders
  columns: c_id

-- title: EXISTS needs rows, not the columns of its select list
SELECT c.name FROM shop.customers AS c WHERE EXISTS (SELECT * FROM shop.orders AS o WHERE o.c_id = c.c_id AND o.status = 'F')
-- expected scans:
o: shop.orders
  columns: c_id, status
  candidate: o.status = 'F'
c: shop.customers
  columns: c_id, name
