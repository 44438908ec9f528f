"""The one logical-type table (meshlab/catalog/types.py), on real files and databases.

Every ODCS logical type round-trips through the table; real parquet, CSV, NDJSON,
SQLite and PostgreSQL columns map to the types they were declared with, and come back
from a query as the table says; drift is decided by the table's rule on real renamed
and retyped columns.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sqlite3
from pathlib import Path

import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.contracts import column, contract, local_files, postgres_db, sqlite_db, write_yaml

import meshlab
from meshlab.catalog.contract import LOGICAL_TYPES
from meshlab.catalog.types import (
    TYPES,
    arrow_type,
    compatible,
    conforms,
    ddl_type,
    odcs_types,
    polars_dtype,
    postgres_dtype,
    spark_type,
    sql_type,
    sqlite_dtype,
)
from meshlab.errors import SchemaDriftError

SCHEMAS = Path(__file__).resolve().parents[1] / "meshlab" / "catalog" / "odcs_schemas"
#: the scalar logical types: a fixed Polars type each
SCALARS = [name for name, t in TYPES.items() if t.polars is not None]
#: the scalar types a text source (CSV, NDJSON, SQLite) holds as text and meshlab parses;
#: one value of each scalar type, and its text in a CSV or NDJSON file
VALUES = {
    "string": ("a, b", "a, b"),
    "integer": (12345678901, "12345678901"),
    "number": (2.5, "2.5"),
    "boolean": (True, "true"),
    "date": (dt.date(2026, 10, 1), "2026-10-01"),
    "timestamp": (dt.datetime(2026, 10, 1, 8, 30, 15), "2026-10-01 08:30:15"),
    "time": (dt.time(8, 30, 15), "08:30:15"),
}


def test_the_table_has_exactly_the_logical_types_of_odcs():
    schema = json.loads((SCHEMAS / "odcs-json-schema-v3.1.0.json").read_text())
    official = schema["$defs"]["SchemaBaseProperty"]["properties"]["logicalType"]["enum"]
    assert sorted(LOGICAL_TYPES) == sorted(official)
    assert set(SCALARS) == set(official) - {"object", "array"}


@pytest.mark.parametrize("logical", SCALARS)
def test_every_scalar_type_round_trips_through_polars_arrow_and_back(logical):
    dtype = polars_dtype(logical)
    assert odcs_types(dtype) == (logical, TYPES[logical].sql)
    assert sql_type(logical) == TYPES[logical].sql
    # Arrow: an array of the table's Arrow type becomes the table's Polars type, and back.
    value = VALUES[logical][0]
    series = pl.from_arrow(pa.array([value], type=arrow_type(logical)))
    assert series.dtype == dtype and series.to_list() == [value]
    assert series.to_arrow().type == arrow_type(logical)


def test_object_array_and_unknown_names_have_no_fixed_type():
    for logical in ("object", "array", "no-such-type"):
        assert polars_dtype(logical) is None and arrow_type(logical) is None
    assert sql_type("no-such-type") == "VARCHAR"
    assert odcs_types(pl.List(pl.Int64())) == ("array", "ARRAY")
    assert odcs_types(pl.Struct({"a": pl.Int64()})) == ("object", "STRUCT")


def test_decimals_keep_precision_and_scale_everywhere():
    assert polars_dtype("number", "DECIMAL(12,2)") == pl.Decimal(12, 2)
    assert polars_dtype("number", "numeric(12, 2)") == pl.Decimal(12, 2)
    assert polars_dtype("number", "DECIMAL(twelve)") == pl.Float64()
    assert arrow_type("number", "DECIMAL(12,2)") == pa.decimal128(12, 2)
    assert odcs_types(pl.Decimal(12, 2)) == ("number", "DECIMAL(12,2)")
    assert spark_type(pl.Decimal(12, 2)) == "decimal(12,2)"
    assert ddl_type(pl.Decimal(12, 2), "postgres") == "NUMERIC(12,2)"
    assert ddl_type(pl.Decimal(12, 2), "sqlite") == "REAL"


def test_spark_names_of_the_contract_types():
    names = {logical: spark_type(polars_dtype(logical)) for logical in SCALARS}
    assert names == {
        "string": "string", "integer": "bigint", "number": "double", "boolean": "boolean",
        "date": "date", "timestamp": "timestamp_ntz", "time": "string",
    }  # fmt: skip
    assert spark_type(None) is None


def frame_of_every_type() -> pl.DataFrame:
    return pl.DataFrame({name: pl.Series([VALUES[name][0]], dtype=polars_dtype(name)) for name in SCALARS})


def query_all(path: Path) -> pl.DataFrame:
    return meshlab.connect(path).sql("SELECT * FROM t.every").df


def test_a_parquet_files_columns_are_typed_as_written_and_read_back_as_declared(tmp_path):
    frame = frame_of_every_type().with_columns(small=pl.Series([7], dtype=pl.Int16), money=pl.Series(
        [decimal.Decimal("12.50")], dtype=pl.Decimal(10, 2)))  # fmt: skip
    frame.write_parquet(tmp_path / "every.parquet")
    found = pl.read_parquet_schema(tmp_path / "every.parquet")
    declared = {name: odcs_types(dtype) for name, dtype in found.items()}
    assert {n: declared[n][0] for n in SCALARS} == {n: n for n in SCALARS}
    assert declared["small"] == ("integer", "INTEGER") and declared["money"] == ("number", "DECIMAL(10,2)")
    # Arrow's own reading of the file agrees with the table.
    arrow = pq.read_schema(tmp_path / "every.parquet")
    assert arrow.field("money").type == arrow_type("number", "DECIMAL(10,2)")
    assert arrow.field("date").type == arrow_type("date") and arrow.field("integer").type == arrow_type("integer")
    properties = [column(name, *declared[name]) for name in frame.columns]
    path = write_yaml(tmp_path / "every.odcs.yaml", contract("t", "every", properties, local_files("every.parquet")))
    back = query_all(path)
    # Integers keep their width (any integer is an integer: no cast); the rest is as declared.
    assert back.schema == pl.Schema({n: polars_dtype(*declared[n]) for n in frame.columns} | {"small": pl.Int16()})
    assert all(conforms(back.schema[n], *declared[n]) for n in frame.columns)
    assert back.rows() == frame.rows()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_text_files_read_back_as_the_declared_types(tmp_path, fmt):
    if fmt == "csv":
        header = ",".join(SCALARS)
        row = ",".join(f'"{VALUES[n][1]}"' if "," in VALUES[n][1] else VALUES[n][1] for n in SCALARS)
        (tmp_path / "every.csv").write_text(f"{header}\n{row}\n")
    else:
        record = {n: VALUES[n][0] if n in ("integer", "number", "boolean") else VALUES[n][1] for n in SCALARS}
        (tmp_path / "every.json").write_text(json.dumps(record) + "\n")
    properties = [column(name, name) for name in SCALARS]
    server = local_files(f"every.{fmt}", fmt)
    back = query_all(write_yaml(tmp_path / "every.odcs.yaml", contract("t", "every", properties, server)))
    assert back.schema == pl.Schema({n: polars_dtype(n) for n in SCALARS})
    assert back.rows() == [tuple(VALUES[n][0] for n in SCALARS)]


def test_sqlite_columns_are_created_as_the_table_says_and_read_back_typed(tmp_path):
    frame = frame_of_every_type()
    with sqlite3.connect(tmp_path / "every.sqlite") as db:
        columns = ", ".join(f"{n} {ddl_type(t, 'sqlite')}" for n, t in frame.schema.items())
        db.execute(f"CREATE TABLE every ({columns})")
        text = frame.with_columns(
            pl.col(pl.Date, pl.Datetime, pl.Time).cast(pl.String), pl.col(pl.Boolean).cast(pl.Int64)
        )
        db.execute(f"INSERT INTO every VALUES ({', '.join('?' * frame.width)})", text.row(0))
        stored = dict(db.execute("SELECT name, type FROM pragma_table_info('every')").fetchall())
    db.close()
    # What the database says it stores fits the declared type there (text dates, 0/1 booleans) ...
    assert all(compatible(sqlite_dtype(stored[n]), n, text_dates=True, integer_booleans=True) for n in SCALARS), stored
    # ... and would not be the same type in PostgreSQL, where text is not a date.
    assert not compatible(sqlite_dtype(stored["date"]), "date")
    properties = [column(name, name) for name in SCALARS]
    path = write_yaml(tmp_path / "every.odcs.yaml", contract("t", "every", properties, sqlite_db("every.sqlite")))
    back = query_all(path)
    assert back.schema == pl.Schema({n: polars_dtype(n) for n in SCALARS})
    assert back.rows() == frame.select(SCALARS).rows()


@pytest.fixture
def pg_every(postgres_server, monkeypatch):
    """Database ``types`` with table ``every``: one column of each scalar type, made by ``ddl_type``."""
    frame = frame_of_every_type()
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS types")
        conn.execute("CREATE DATABASE types")
    with psycopg.connect(postgres_server.dsn_for("types"), autocommit=True) as conn:
        columns = ", ".join(f'"{n}" {ddl_type(t, "postgres")}' for n, t in frame.schema.items())
        conn.execute(f"CREATE TABLE every ({columns})")
        conn.execute(f"INSERT INTO every VALUES ({', '.join(['%s'] * frame.width)})", frame.row(0))
    monkeypatch.setenv("MESHLAB_TEST_TYPES_PGUSER", postgres_server.user)
    yield frame
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE types WITH (FORCE)")


def test_postgres_columns_are_created_as_the_table_says_and_read_back_typed(tmp_path, postgres_server, pg_every):
    with psycopg.connect(postgres_server.dsn_for("types")) as conn:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'every'::regclass AND attnum > 0"
        ).fetchall()
    stored = {name: postgres_dtype(declared) for name, declared in rows}
    assert stored == {n: polars_dtype(n) for n in SCALARS}
    assert all(compatible(stored[n], n) for n in SCALARS)
    server = postgres_db(
        postgres_server.host, postgres_server.port, "types", user_env="MESHLAB_TEST_TYPES_PGUSER"
    )  # fmt: skip
    path = write_yaml(tmp_path / "every.odcs.yaml", contract("t", "every", [column(n, n) for n in SCALARS], server))
    back = query_all(path)
    assert back.schema == pl.Schema({n: polars_dtype(n) for n in SCALARS})
    assert back.rows() == pg_every.rows()


def test_unknown_postgres_types_fit_anything_unless_the_caller_says_otherwise():
    assert postgres_dtype("mood") == pl.Null() and compatible(postgres_dtype("mood"), "string")
    assert postgres_dtype("USER-DEFINED", unknown=pl.Binary()) == pl.Binary()
    assert postgres_dtype("text[]") == pl.List(pl.String()) and compatible(pl.List(pl.String()), "array")


# -- drift, decided by the table's rule on real tables --------------------------------------------
@pytest.fixture
def orders_db(tmp_path) -> Path:
    """A SQLite table ``orders`` and its contract (id integer, amount number, day date, paid boolean)."""
    with sqlite3.connect(tmp_path / "shop.sqlite") as db:
        db.execute("CREATE TABLE orders (id INTEGER, amount REAL, day TEXT, paid INTEGER)")
        db.execute("INSERT INTO orders VALUES (1, 9.5, '2026-10-01', 1)")
    db.close()
    properties = [column("id", "integer"), column("amount", "number"), column("day", "date"), column("paid", "boolean")]
    document = contract("shop", "orders", properties, sqlite_db("shop.sqlite", "shop-db"))
    return write_yaml(tmp_path / "orders.odcs.yaml", document)


def _change(path: Path, *statements: str) -> None:
    with sqlite3.connect(path.with_name("shop.sqlite")) as db:
        for statement in statements:
            db.execute(statement)
    db.close()


def test_the_declared_table_is_read(orders_db):
    frame = meshlab.connect(orders_db).sql("SELECT * FROM shop.orders").df
    assert frame.rows() == [(1, 9.5, dt.date(2026, 10, 1), True)]


def test_a_renamed_column_is_drift(orders_db):
    _change(orders_db, "ALTER TABLE orders RENAME COLUMN amount TO total")
    with pytest.raises(SchemaDriftError, match="column 'amount' .* is not in table orders .*renamed or dropped"):
        meshlab.connect(orders_db).sql("SELECT amount FROM shop.orders")


def test_a_number_retyped_as_text_is_drift_and_a_widened_integer_is_not(orders_db):
    _change(
        orders_db,
        "CREATE TABLE orders2 (id BIGINT, amount TEXT, day TEXT, paid INTEGER)",
        "INSERT INTO orders2 SELECT id, CAST(amount AS TEXT), day, paid FROM orders",
        "DROP TABLE orders",
        "ALTER TABLE orders2 RENAME TO orders",
    )
    mesh = meshlab.connect(orders_db)
    with pytest.raises(
        SchemaDriftError, match="column 'amount' of table orders .* is stored as TEXT, not as the number"
    ):
        mesh.sql("SELECT amount FROM shop.orders")
    assert mesh.sql("SELECT id, day, paid FROM shop.orders").df.rows() == [(1, dt.date(2026, 10, 1), True)]
