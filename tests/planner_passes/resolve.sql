-- resolve: addresses -> canonical __dsN AS alias, every column qualified; unknown names refused.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: an address becomes its canonical name, every column qualified
SELECT o_id, status FROM shop.orders WHERE amount > 10
-- expected:
SELECT
  orders.o_id AS o_id,
  orders.status AS status
FROM __ds0 AS orders
WHERE
  orders.amount > 10

-- title: a dataset read twice is one canonical name under two aliases
SELECT a.o_id FROM shop.orders AS a JOIN shop.orders AS b ON a.c_id = b.c_id JOIN lake.events e ON e.c_id = a.c_id
-- expected:
SELECT
  a.o_id AS o_id
FROM __ds0 AS a
JOIN __ds0 AS b
  ON a.c_id = b.c_id
JOIN __ds1 AS e
  ON e.c_id = a.c_id

-- title: a CTE is not a dataset; a star expands to the contract's columns
WITH big AS (SELECT * FROM shop.customers WHERE c_id > 10) SELECT name FROM big
-- expected:
WITH big AS (
  SELECT
    customers.c_id AS c_id,
    customers.name AS name,
    customers.segment AS segment,
    customers.email AS email,
    customers.country AS country
  FROM __ds0 AS customers
  WHERE
    customers.c_id > 10
)
SELECT
  big.name AS name
FROM big AS big

-- title: a name that is not an address
SELECT * FROM orders
-- expected error:
'orders' is not a dataset address (line 1, column 15): address datasets as domain.dataset; did you mean shop.orders?

-- title: an unknown address
SELECT * FROM shop.order
-- expected error:
unknown dataset 'shop.order'; did you mean shop.orders, shop.customers? (line 1, column 20)

-- title: an unknown column
SELECT o_idd FROM shop.orders
-- expected error:
line 1, column 8: unknown column 'o_idd'; did you mean o_id, c_id?

-- title: a table function reading a path
SELECT * FROM read_parquet('data/events.parquet')
-- expected error:
line 1, column 15: table function READPARQUET(...) is not allowed: query datasets by their address

-- title: an address the role may not read is unknown to it
-- role: analyst
SELECT * FROM lake.regions
-- expected error:
role 'analyst' cannot read 'lake.regions': no such dataset is granted to it; did you mean lake.events? (line 1, column 20)
