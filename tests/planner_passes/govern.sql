-- govern: the role's row filter and masks per reference; nothing touching a masked column goes down.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: without a role the occurrences are left as they are
SELECT email FROM shop.customers WHERE email = 'c3@example.org'
-- expected scans:
customers: shop.customers
  columns: email
  candidate: customers.email = 'c3@example.org'

-- title: the row filter and the mask go on the scan; a conjunct on the masked column stays local
-- role: analyst
SELECT email, name FROM shop.customers WHERE email = 'c3@example.org' AND segment = 'trade'
-- expected scans:
customers: shop.customers
  columns: email, name, segment
  candidate: customers.segment = 'trade'
  row filter: ("country" IN ('SE', 'DE'))
  masks: email hash

-- title: an order on a masked column keeps the LIMIT local
-- role: analyst
SELECT name FROM shop.customers ORDER BY email LIMIT 3
-- expected scans:
customers: shop.customers
  columns: email, name
  row filter: ("country" IN ('SE', 'DE'))
  masks: email hash

-- title: a dataset without rules for the role gets none
-- role: analyst
SELECT o_id FROM shop.orders WHERE status = 'F' LIMIT 3
-- expected scans:
orders: shop.orders
  columns: o_id, status
  candidate: orders.status = 'F'
  limit: 3
