-- shop.sqlite: 20 customers, 200 orders (row counts feed the join estimates).
CREATE TABLE customers (
    c_id INTEGER PRIMARY KEY,
    name TEXT,
    segment TEXT,
    email TEXT,
    country TEXT
);
CREATE TABLE orders (
    o_id INTEGER PRIMARY KEY,
    c_id INTEGER,
    o_date TEXT,          -- ISO dates, as SQLite stores dates
    status TEXT,
    amount REAL,
    priority TEXT,
    clerk TEXT,
    note TEXT
);
INSERT INTO customers
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
SELECT i, 'Customer ' || i, CASE i % 2 WHEN 0 THEN 'retail' ELSE 'trade' END,
       'c' || i || '@example.org', CASE i % 3 WHEN 0 THEN 'SE' WHEN 1 THEN 'DE' ELSE 'US' END
FROM n;
INSERT INTO orders
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
SELECT i, 1 + i % 20, date('1994-01-01', '+' || (i * 3) || ' days'),
       CASE i % 3 WHEN 0 THEN 'F' WHEN 1 THEN 'O' ELSE 'P' END, i * 1.5,
       CASE i % 5 WHEN 0 THEN '1-URGENT' ELSE '3-MEDIUM' END, 'Clerk ' || (i % 7), 'note ' || i
FROM n;
