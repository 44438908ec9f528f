-- cast_string_literals: a string literal compared with a date, a timestamp or a number is one.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: BETWEEN with unpadded dates on a date column (TPC-DS Q16 as the specification writes it)
SELECT o_id FROM shop.orders WHERE o_date BETWEEN '2002-3-01' AND '2002-4-1'
-- expected:
SELECT
  orders.o_id AS o_id
FROM __ds0 AS orders
WHERE
  orders.o_date BETWEEN CAST('2002-03-01' AS DATE) AND CAST('2002-04-01' AS DATE)

-- title: IN lists, either side of a comparison, inside a subquery
SELECT e.event_id FROM lake.events AS e WHERE e.at IN ('2024-1-2', '2024-01-03') AND '2024-1-1' <= e.at AND e.c_id IN (SELECT c_id FROM shop.orders WHERE o_date = '1995-1-1')
-- expected:
SELECT
  e.event_id AS event_id
FROM __ds0 AS e
WHERE
  e."at" IN (CAST('2024-01-02' AS DATE), CAST('2024-01-03' AS DATE))
  AND CAST('2024-01-01' AS DATE) <= e."at"
  AND e.c_id IN (
    SELECT
      orders.c_id AS c_id
    FROM __ds1 AS orders
    WHERE
      orders.o_date = CAST('1995-01-01' AS DATE)
  )

-- title: a string column compared with a date-like string stays a string comparison
SELECT o_id FROM shop.orders WHERE note = '2002-3-1'
-- expected:
SELECT
  orders.o_id AS o_id
FROM __ds0 AS orders
WHERE
  orders.note = '2002-3-1'

-- title: a string that is no date, compared with a date, is refused where it is
SELECT o_id FROM shop.orders WHERE o_date = '2002-13-01'
-- expected error:
line 1, column 45: '2002-13-01' is not a valid date

-- title: a string compared with a number is that number (IN lists too)
SELECT o_id FROM shop.orders WHERE c_id IN ('7', '5') AND amount > '2.5' AND o_id <> ' 3 '
-- expected:
SELECT
  orders.o_id AS o_id
FROM __ds0 AS orders
WHERE
  orders.c_id IN (7, 5) AND orders.amount > 2.5 AND orders.o_id <> 3

-- title: a string that is no integer, compared with an integer, is refused where it is
SELECT o_id FROM shop.orders WHERE c_id = '7.5'
-- expected error:
line 1, column 43: '7.5' is not an integer
