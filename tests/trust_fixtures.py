"""A small mesh with injected faults, for the trust tests (checks, status, authoring).

Three domains on three kinds of source, each with known faults:

``shop.orders`` (parquet, two files)
    duplicate order ids, null customer ids, customers that do not exist,
    unknown statuses, malformed SKUs, missing coupons, creation times.
``crm.customers`` (SQLite)
    a duplicate id, null names, malformed e-mail addresses, unknown countries.
``billing.payments`` (PostgreSQL, when a server is given)
    duplicate payment ids, unknown methods, null amounts, orders that do not exist.

Every fault is made by a plain rule on the row number, so the expected counts
can be computed independently (the tests use DuckDB over the same frames).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import psycopg
from support.contracts import contract, library_rule, write_yaml

ORDERS = 20_000
CUSTOMERS = 500
PAYMENTS = 5_000
PG_DATABASE = "trust_checks"
PG_USER_ENV = "MESHLAB_TRUST_PGUSER"
START = dt.datetime(2026, 10, 1)
STATUSES = ["new", "paid", "shipped", "cancelled"]
SKU_PATTERN = "^SKU-[0-9]{6}$"
EMAIL_PATTERN = "^[a-z0-9.]+@[a-z]+[.][a-z]+$"


def orders_frame() -> pl.DataFrame:
    i = pl.int_range(0, ORDERS, eager=True).alias("i")
    frame = pl.DataFrame({"i": i})
    return frame.select(
        order_id=pl.when(pl.col("i") >= ORDERS - 7).then(pl.col("i") - (ORDERS - 7) + 1).otherwise(pl.col("i") + 1),
        customer_id=pl.when(pl.col("i") % 997 == 0)
        .then(None)
        .when(pl.col("i") % 1499 == 0)
        .then(9_999)
        .otherwise(pl.col("i") % CUSTOMERS + 1),
        status=pl.when(pl.col("i") % 1237 == 0)
        .then(pl.lit("lost"))
        .otherwise(pl.lit(pl.Series(STATUSES)).gather(pl.col("i") % 4)),
        sku=pl.when(pl.col("i") % 2011 == 0)
        .then(pl.lit("sku_x"))
        .otherwise(pl.format("SKU-{}", pl.col("i").cast(pl.String).str.zfill(6))),
        coupon=pl.when(pl.col("i") % 11 == 0)
        .then(None)
        .when(pl.col("i") % 5 == 0)
        .then(pl.lit(""))
        .when(pl.col("i") % 7 == 0)
        .then(pl.lit("N/A"))
        .otherwise(pl.format("C{}", pl.col("i") % 10)),
        amount=(pl.col("i") % 250).cast(pl.Float64) + 0.5,
        created_at=pl.lit(START) + pl.duration(minutes=pl.col("i")),
    )


def customers_frame() -> pl.DataFrame:
    i = pl.int_range(0, CUSTOMERS + 1, eager=True)
    frame = pl.DataFrame({"i": i})
    return frame.select(
        customer_id=pl.when(pl.col("i") == CUSTOMERS).then(3).otherwise(pl.col("i") + 1),
        name=pl.when(pl.col("i") % 97 == 0).then(None).otherwise(pl.format("Customer {}", pl.col("i"))),
        email=pl.when(pl.col("i") % 61 == 0)
        .then(pl.format("Customer{}@Example", pl.col("i")))
        .otherwise(pl.format("c{}@example.com", pl.col("i"))),
        country=pl.when(pl.col("i") % 83 == 0)
        .then(pl.lit("XX"))
        .otherwise(pl.lit(pl.Series(["DE", "SE", "FR"])).gather(pl.col("i") % 3)),
        signup_date=(pl.lit(dt.date(2026, 1, 1)) + pl.duration(days=pl.col("i") % 280)).cast(pl.Date),
    )


def payments_frame() -> pl.DataFrame:
    frame = pl.DataFrame({"i": pl.int_range(0, PAYMENTS, eager=True)})
    return frame.select(
        payment_id=pl.when(pl.col("i") >= PAYMENTS - 2)
        .then(pl.col("i") - (PAYMENTS - 2) + 10)
        .otherwise(pl.col("i") + 1),
        order_id=pl.when(pl.col("i") % 1000 == 0).then(999_999).otherwise(pl.col("i") * 3 + 1),
        method=pl.when(pl.col("i") % 333 == 0)
        .then(pl.lit("cheque"))
        .otherwise(pl.lit(pl.Series(["card", "transfer"])).gather(pl.col("i") % 2)),
        amount=pl.when(pl.col("i") % 50 == 0).then(None).otherwise((pl.col("i") % 90).cast(pl.Float64)),
        paid_at=pl.lit(START) + pl.duration(hours=pl.col("i")),
    )


def _contract(
    domain: str, name: str, server: dict, properties: list[dict], quality=(), sla=(), status="active"
) -> dict:
    return contract(
        domain,
        name,
        properties,
        server,
        title=name.title(),
        status=status,
        physical_name=name,
        description=f"The {name} of the {domain} domain, with injected faults.",
        owner=f"{domain}-owner",
        quality=quality,
        sla=sla,
    )


def orders_contract() -> dict:
    props = [
        {"name": "order_id", "logicalType": "integer", "primaryKey": True, "required": True},
        {
            "name": "customer_id",
            "logicalType": "integer",
            "required": True,
            "relationships": [
                {"type": "foreignKey", "to": "../crm/customers.odcs.yaml#/schema/customers/properties/customer_id"}
            ],
            "quality": [library_rule("nullValues", mustBeLessThan=1, unit="percent")],
        },
        {
            "name": "status",
            "logicalType": "string",
            "quality": [library_rule("invalidValues", arguments={"validValues": STATUSES})],
        },
        {
            "name": "sku",
            "logicalType": "string",
            "unique": True,
            "quality": [library_rule("invalidValues", arguments={"pattern": SKU_PATTERN})],
        },
        {
            "name": "coupon",
            "logicalType": "string",
            "quality": [
                library_rule(
                    "missingValues",
                    arguments={"missingValues": [None, "", "N/A"]},
                    mustBeLessOrEqualTo=50,
                    unit="percent",
                ),
                library_rule("missingValues", arguments={"missingValues": [None, "", "N/A"]}, mustBeLessThan=100),
            ],
        },
        {"name": "amount", "logicalType": "number", "quality": [library_rule("nullValues")]},
        {"name": "created_at", "logicalType": "timestamp", "required": True},
    ]
    quality = [
        library_rule("rowCount", mustBeBetween=[ORDERS - 10, ORDERS + 10]),
        library_rule("duplicateValues", arguments={"properties": ["order_id", "sku"]}),
        {
            "type": "sql",
            "name": "big_orders",
            "query": "SELECT count(*) FROM {object} WHERE amount > 240",
            "mustBeGreaterThan": 0,
        },
        {
            "type": "sql",
            "name": "no_negative_amounts",
            "query": "SELECT count(*) FROM ${table} WHERE amount < 0",
            "mustBe": 0,
        },
        {"type": "text", "description": "Orders are never deleted."},
        {"type": "custom", "engine": "soda", "implementation": "type: row_count"},
    ]
    server = {"server": "lake", "type": "local", "format": "parquet", "path": "../../data/orders/*.parquet"}
    sla = [{"property": "latency", "value": 1, "unit": "d", "element": "orders.created_at"}]
    return _contract("shop", "orders", server, props, quality, sla)


def customers_contract() -> dict:
    props = [
        {"name": "customer_id", "logicalType": "integer", "physicalType": "INTEGER", "primaryKey": True},
        {"name": "name", "logicalType": "string", "physicalType": "TEXT", "required": True},
        {
            "name": "email",
            "logicalType": "string",
            "physicalType": "TEXT",
            "unique": True,
            "quality": [library_rule("invalidValues", arguments={"pattern": EMAIL_PATTERN})],
        },
        {
            "name": "country",
            "logicalType": "string",
            "physicalType": "TEXT",
            "quality": [library_rule("invalidValues", arguments={"validValues": ["DE", "SE", "FR"]}, mustBeLessThan=3)],
        },
        {"name": "signup_date", "logicalType": "date", "physicalType": "TEXT", "required": True},
    ]
    # SQLite is not an ODCS server type: a custom server names the engine.
    server = {
        "server": "crm-db",
        "type": "custom",
        "path": "../../data/crm.sqlite",
        "customProperties": [{"property": "engine", "value": "sqlite"}],
    }
    sla = [{"property": "latency", "value": 30, "unit": "d", "element": "customers.signup_date"}]
    return _contract("crm", "customers", server, props, [library_rule("rowCount", mustBeGreaterThan=0)], sla)


def payments_contract(host: str, port: int) -> dict:
    props = [
        {"name": "payment_id", "logicalType": "integer", "primaryKey": True, "required": True},
        {
            "name": "order_id",
            "logicalType": "integer",
            "required": True,
            "relationships": [{"to": "../shop/orders.odcs.yaml#/schema/orders/properties/order_id"}],
        },
        {
            "name": "method",
            "logicalType": "string",
            "quality": [library_rule("invalidValues", arguments={"validValues": ["card", "transfer"]})],
        },
        {
            "name": "amount",
            "logicalType": "number",
            "quality": [
                library_rule("nullValues", mustBeLessThan=1, unit="percent"),
                library_rule("nullValues", mustBeLessThan=1000),
            ],
        },
        {"name": "paid_at", "logicalType": "timestamp"},
    ]
    server = {
        "server": "billing-db",
        "type": "postgres",
        "host": host,
        "port": port,
        "database": PG_DATABASE,
        "schema": "public",
        "customProperties": [{"property": "userEnv", "value": PG_USER_ENV}],
    }
    return _contract("billing", "payments", server, props, [library_rule("rowCount", mustBeGreaterThan=0)])


def write_sqlite(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE customers (customer_id INTEGER, name TEXT, email TEXT, country TEXT, signup_date TEXT)"
        )
        rows = frame.with_columns(pl.col("signup_date").dt.strftime("%Y-%m-%d")).iter_rows()
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", rows)


def write_postgres(server, frame: pl.DataFrame) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
        if exists:
            conn.execute(f"DROP DATABASE {PG_DATABASE}")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    with psycopg.connect(server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.payments (payment_id BIGINT, order_id BIGINT, method TEXT, amount DOUBLE PRECISION, "
            "paid_at TIMESTAMP)"
        )
        with conn.cursor() as cur, cur.copy("COPY public.payments FROM STDIN (FORMAT csv, HEADER true)") as copy:
            copy.write(frame.write_csv(datetime_format="%Y-%m-%d %H:%M:%S").encode())
        conn.execute("ANALYZE public.payments")


def build_trust_mesh(root: Path, postgres=None) -> Path:
    """Write the faulty mesh into ``root``; PostgreSQL's payments only when ``postgres`` is given."""
    orders = orders_frame()
    (root / "data" / "orders").mkdir(parents=True)
    half = ORDERS // 2
    orders.slice(0, half).write_parquet(root / "data" / "orders" / "part-0.parquet")
    orders.slice(half).write_parquet(root / "data" / "orders" / "part-1.parquet")
    write_sqlite(root / "data" / "crm.sqlite", customers_frame())
    write_yaml(root / "domains" / "shop" / "orders.odcs.yaml", orders_contract())
    write_yaml(root / "domains" / "crm" / "customers.odcs.yaml", customers_contract())
    domains = {"shop": "domains/shop", "crm": "domains/crm"}
    if postgres is not None:
        write_postgres(postgres, payments_frame())
        write_yaml(root / "domains" / "billing" / "payments.odcs.yaml", payments_contract(postgres.host, postgres.port))
        domains["billing"] = "domains/billing"
    return write_yaml(root / "mesh.yaml", {"mesh": "trust", "domains": domains})
