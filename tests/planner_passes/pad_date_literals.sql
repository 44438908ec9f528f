-- pad_date_literals: DATE and TIMESTAMP literals written in full, as every engine reads them.
-- Format: tests/test_planner_passes.py. Fixture mesh: tests/planner_passes/mesh.

-- title: unpadded months and days (TPC-DS as the specification writes it)
SELECT o_id FROM shop.orders WHERE o_date BETWEEN CAST('2002-3-01' AS DATE) AND DATE '2002-5-1'
-- expected:
SELECT
  o_id
FROM shop.orders
WHERE
  o_date BETWEEN CAST('2002-03-01' AS DATE) AND CAST('2002-05-01' AS DATE)

-- title: a timestamp gets its seconds; slashes read as dashes
SELECT TIMESTAMP '2002-3-1 9:05', CAST('2002/03/01' AS DATE) AS d
-- expected:
SELECT
  CAST('2002-03-01 09:05:00' AS TIMESTAMP) AS "CAST('2002-3-1 9:05' AS TIMESTAMP)",
  CAST('2002-03-01' AS DATE) AS d

-- title: a literal that is no date is refused where it is
SELECT o_id FROM shop.orders WHERE o_date < DATE '2002-02-30'
-- expected error:
line 1, column 50: '2002-02-30' is not a valid date

-- title: TRY_CAST of a text that is no date stays (it is NULL, not an error)
SELECT TRY_CAST('2002-02-30' AS DATE) AS d, TRY_CAST('2002-2-3' AS DATE) AS e
-- expected:
SELECT
  TRY_CAST('2002-02-30' AS DATE) AS d,
  TRY_CAST('2002-02-03' AS DATE) AS e
