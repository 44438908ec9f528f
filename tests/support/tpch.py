"""TPC-H data for the tests and the benchmarks: generated, cached, and placed in their layouts.

One generator (``tpchgen-cli``), one table description (domains, keys, partitions), one
contract per table (:func:`table_contract`, through :mod:`support.contracts`) and the
writers every layout is made of (hive-partitioned parquet, a SQLite file, PostgreSQL
tables, CSV). The layouts:

``federated`` (:func:`build_federated_mesh`, the tests' ``tpch_mesh``)
    ``sales.orders`` in PostgreSQL, ``sales.customer`` and ``supply.supplier`` in one
    SQLite file, ``supply.part`` NDJSON, ``supply.partsupp`` parquet,
    ``shipping.lineitem`` hive-partitioned parquet (``l_year=YYYY/``), ``geo.nation`` and
    ``geo.region`` CSV (``|``); contracts under ``domains/`` with relative paths.
``P`` (:func:`write_layout_p`, :func:`write_mesh_p`; ``benchmarks/run_tpch.py``)
    every table parquet, ``lineitem`` and ``orders`` hive-partitioned by year.
``F`` (:func:`write_layout_f_files`, :func:`write_mesh_f`; ``benchmarks/run_tpch.py``)
    orders and customer in PostgreSQL, part, partsupp and supplier in SQLite, nation and
    region CSV, lineitem P's partitioned parquet.
``flat`` (:func:`write_flat_mesh`; ``benchmarks/streaming_sf10.py``)
    one domain ``tpch``, each table one parquet file.

Every layout uses the addresses of :data:`ADDRESS` (but ``flat``: ``tpch.<table>``), so
one SQL text runs on any of them (:func:`to_mesh_sql` rewrites the plain queries).

meshlab itself is imported only on use: the benchmarks' memory workers import this
module to measure other systems, and must not carry meshlab in their footprint.

TPC-DS: issue 17 adds ``support/tpcds.py`` beside this module, with the same shape
(generate, table contracts, layouts).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from support.postgres_server import PostgresServer

TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")
DOMAINS = {
    "orders": "sales",
    "customer": "sales",
    "part": "supply",
    "partsupp": "supply",
    "supplier": "supply",
    "lineitem": "shipping",
    "nation": "geo",
    "region": "geo",
}
ADDRESS = {table: f"{domain}.{table}" for table, domain in DOMAINS.items()}
PRIMARY_KEYS = {
    "customer": ("c_custkey",),
    "lineitem": ("l_orderkey", "l_linenumber"),
    "nation": ("n_nationkey",),
    "orders": ("o_orderkey",),
    "part": ("p_partkey",),
    "partsupp": ("ps_partkey", "ps_suppkey"),
    "region": ("r_regionkey",),
    "supplier": ("s_suppkey",),
}
#: hive partitions: table -> (partition column, the date column it is the year of)
PARTITIONS = {"lineitem": ("l_year", "l_shipdate"), "orders": ("o_year", "o_orderdate")}
PG_DATABASE = "tpch"
#: a folder whose writing finished holds this file
DONE = ".complete"

# The queries live outside the repo (shared/tpch next to it); a copy in tests/tpch or
# $MESHLAB_TPCH_QUERIES wins.
QUERY_DIRS = tuple(
    Path(p)
    for p in (
        os.environ.get("MESHLAB_TPCH_QUERIES"),
        Path(__file__).resolve().parents[1] / "tpch",
        Path(__file__).resolve().parents[3] / "shared" / "tpch",
    )
    if p
)


# -- queries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Substitution:
    """One substitution parameter of a query (TPC-H specification, clause 2.4.N.3): the tests
    replace the string literal ``validation`` of query ``query`` by ``test``, another value the
    specification allows for ``parameter``; ``why`` says what the validation value gives at
    :data:`TEST_SCALE`."""

    query: str
    parameter: str
    validation: str
    test: str
    why: str


#: The tests' substitution parameters. The queries hold the specification's validation
#: parameters, chosen for SF1; at the tests' SF0.01 some of them select (next to) nothing, and
#: an answer of nothing cannot tell a working engine from one that drops every row. Each
#: replacement is a value the specification's clause 2.4.N.3 allows (TPC-H 3.0.1; the value
#: lists are :data:`SPEC_CONTAINERS`, :data:`SPEC_TYPES`, the colours of ``P_NAME`` and the
#: nations of ``N_NAME``); tests/test_conformance_guards.py checks that, and that every
#: answer is non-trivial. The benchmarks keep the validation parameters (``query_text``'s
#: default).
TEST_SUBSTITUTIONS = (
    Substitution(
        "q08", "TYPE", "ECONOMY ANODIZED STEEL", "SMALL BRUSHED COPPER",
        "no BRAZILian supplier sells ECONOMY ANODIZED STEEL to AMERICA in 1995-96 at SF0.01: "
        "mkt_share is 0.0 for both years (BRAZIL's share is 0.22 and 0.16 with SMALL BRUSHED COPPER)",
    ),
    Substitution(
        "q17", "CONTAINER", "MED BOX", "SM PACK",
        "no Brand#23 part comes in a MED BOX at SF0.01: the answer is one NULL row, what an engine "
        "dropping every row gives too (SM PACK: 6 parts, 17 small orders)",
    ),
    Substitution(
        "q21", "NATION", "SAUDI ARABIA", "UNITED STATES",
        "SAUDI ARABIA has one supplier at SF0.01: one row, its ORDER BY never compared "
        "(UNITED STATES: 8 suppliers, ties on numwait ordered by s_name)",
    ),
)  # fmt: skip
#: the 2-syllable containers of clause 4.2.2.13 (Q17's CONTAINER)
SPEC_CONTAINERS = tuple(
    f"{a} {b}"
    for a in ("SM", "LG", "MED", "JUMBO", "WRAP")
    for b in ("CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM")
)
#: the 3-syllable part types of clause 4.2.2.13 (Q8's TYPE)
SPEC_TYPES = tuple(
    f"{a} {b} {c}"
    for a in ("STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO")
    for b in ("ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED")
    for c in ("TIN", "NICKEL", "BRASS", "STEEL", "COPPER")
)


def query_text(name: str, parameters: str = "validation") -> str | None:
    """The plain text of TPC-H query ``name`` (``"q01"`` .. ``"q22"``), None when not found.

    ``parameters="tests"``: with the tests' substitution parameters
    (:data:`TEST_SUBSTITUTIONS`, applied by :func:`substitute`).
    """
    if parameters not in ("validation", "tests"):
        raise ValueError(f"parameters must be 'validation' or 'tests', not {parameters!r}")
    for folder in QUERY_DIRS:
        path = folder / f"{name}.sql"
        if path.is_file():
            text = path.read_text()
            if parameters == "tests":
                text = substitute(text, {s.validation: s.test for s in TEST_SUBSTITUTIONS if s.query == name})
            return text
    return None


def substitute(sql: str, values: dict[str, str]) -> str:
    """``sql`` with each string literal whose value is a key of ``values`` replaced by its value.

    The literals are found among the tokens (never in comments or identifiers) and only their
    spans change, so the rest of the text is kept as written; every key must occur.

    >>> substitute("select 1 from part where p_brand = 'Brand#23'", {"Brand#23": "Brand#12"})
    "select 1 from part where p_brand = 'Brand#12'"
    """
    from sqlglot.tokens import Tokenizer, TokenType

    spans = [
        (token.start, token.end + 1, token.text)
        for token in Tokenizer().tokenize(sql)
        if token.token_type == TokenType.STRING and token.text in values
    ]
    missing = set(values) - {text for _, _, text in spans}
    if missing:
        raise ValueError(f"no string literal {sorted(missing)} in:\n{sql}")
    for start, stop, text in sorted(spans, reverse=True):
        quoted = "'" + values[text].replace("'", "''") + "'"
        sql = sql[:start] + quoted + sql[stop:]
    return sql


def to_mesh_sql(sql: str, address: dict[str, str], dialect: str | None = None) -> str:
    """Point every TPC-H table reference of ``sql`` at its mesh address.

    ``FROM lineitem l1`` becomes ``FROM shipping.lineitem l1``; an unaliased table keeps
    its plain name as alias (``FROM shipping.lineitem AS lineitem``) so qualifiers like
    ``lineitem.l_orderkey`` still resolve. CTE names and already-qualified tables are left
    alone.

    The table nodes are found in the parsed tree and only their spans (from the tokens'
    positions) are replaced, so the rest of the text reaches the engine exactly as written
    -- regenerating it with ``tree.sql()`` would drop clauses that equal the generating
    dialect's default, such as ``NULLS FIRST``. The result is checked to parse to the
    rewritten tree.

    >>> to_mesh_sql("select count(*) from orders", {"orders": "sales.orders"})
    'select count(*) from sales.orders AS orders'
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read=dialect)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    edits = []
    for table in list(tree.find_all(exp.Table)):
        name = table.name.lower()
        if table.args.get("db") or name in ctes or name not in address:
            continue
        identifier = table.this
        domain, dataset = address[name].split(".")
        replacement = f"{domain}.{dataset}"
        if not table.alias:
            replacement += f" AS {identifier.sql(dialect=dialect)}"
            table.set("alias", exp.TableAlias(this=identifier.copy()))
        edits.append((identifier.meta["start"], identifier.meta["end"] + 1, replacement))
        table.set("this", exp.to_identifier(dataset))
        table.set("db", exp.to_identifier(domain))
    text = sql
    for start, stop, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[stop:]
    assert sqlglot.parse_one(text, read=dialect) == tree, f"rewrite changed more than table names:\n{text}"
    return text


# -- generating --------------------------------------------------------------------------------
def scale_dir(root: Path, scale: float) -> Path:
    """The cache folder of scale factor ``scale`` under ``root`` (``.benchdata/sf1``)."""
    return root / f"sf{scale:g}"


def _tool() -> str:
    return shutil.which("tpchgen-cli") or str(Path(sys.executable).with_name("tpchgen-cli"))


def generate(out: Path, scale: float, tables: Iterable[str] = TABLES, timeout: float | None = None) -> Path:
    """One parquet file per table in ``out`` as ``tpchgen-cli parquet`` writes them
    (decimal(15,2) money, date32 dates); nothing is done when ``out`` already holds them."""
    wanted = tuple(tables)
    if (out / DONE).exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    command = [_tool(), "parquet", "-s", f"{scale:g}", "-o", str(out), "--no-progress", "--overwrite"]
    if wanted != TABLES:
        for table in wanted:
            command += ["-T", table]
    subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    missing = [t for t in wanted if not (out / f"{t}.parquet").exists()]
    if missing:
        raise RuntimeError(f"tpchgen-cli wrote no parquet for {missing} in {out}")
    if wanted == TABLES:
        (out / DONE).touch()
    return out


def generate_raw(folder: Path, scale: float) -> Path:
    """``folder/raw``: the generator's files, made once (the benchmarks' cache)."""
    return generate(folder / "raw", scale)


def raw_schema(raw: Path, table: str) -> dict[str, pl.DataType]:
    return dict(pl.read_parquet_schema(raw / f"{table}.parquet"))


# -- contracts ---------------------------------------------------------------------------------
def table_contract(
    table: str, schema: dict[str, pl.DataType], server: dict, extra: Iterable[dict] = (), scale: float | None = None
) -> dict:
    """The ODCS contract of one TPC-H table stored on ``server``: every column typed by
    meshlab's type table, the primary key declared, ``extra`` properties appended."""
    from support.contracts import contract, keyed_properties

    properties = keyed_properties("TPC-H", table, schema, PRIMARY_KEYS[table])
    domain = DOMAINS[table]
    at = f" at scale factor {scale:g}" if scale is not None else ""
    return contract(
        domain,
        table,
        [*properties, *extra],
        server,
        id=f"tpch-{table}",
        title=f"TPC-H {table}",
        physical_name=table,
        description=f"The TPC-H {table} table{at}.",
        schema_description=f"TPC-H {table}, one row per {table} entry.",
        owner=f"{domain}-team",
        tags=["tpch"],
    )


def partition_property(table: str) -> dict:
    """The hive partition column of ``table`` as a contract property."""
    from support.contracts import column

    key, date_column = PARTITIONS[table]
    return column(
        key, "integer", "INTEGER",
        description=f"Hive partition key: year of {date_column} (from the {key}=YYYY folder names).",
    )  # fmt: skip


def _write_contracts(root: Path, contracts: dict[str, dict], folders: dict[str, str], mesh: str = "tpch") -> Path:
    from support.contracts import write_mesh, write_yaml

    for table, document in contracts.items():
        write_yaml(root / folders[document["domain"]] / f"{table}.odcs.yaml", document)
    return write_mesh(root, mesh, {d: folders[d] for d in sorted({c["domain"] for c in contracts.values()})})


# -- writers -----------------------------------------------------------------------------------
def write_hive(source: Path, target: Path, table: str) -> None:
    """``table``'s rows of the parquet file ``source`` under ``target/<key>=YYYY/part-0.parquet``;
    the key lives in the folder names only, as hive layouts do."""
    key, date_column = PARTITIONS[table]
    years = pl.scan_parquet(source).select(pl.col(date_column).dt.year().unique()).collect().to_series()
    for year in sorted(years.to_list()):
        out = target / f"{key}={year}"
        out.mkdir(parents=True)
        pl.scan_parquet(source).filter(pl.col(date_column).dt.year() == year).sink_parquet(out / "part-0.parquet")


def write_sqlite(path: Path, raw: Path, tables: Iterable[str], keys: dict[str, tuple[str, ...]] = PRIMARY_KEYS) -> None:
    """``tables`` (parquet files in ``raw``) in one SQLite file as meshlab's type table stores
    them there: dates as ISO-8601 text, decimals as REAL; primary ``keys`` declared; ANALYZEd.
    TPC-DS (``support.tpcds``) writes its tables with this too."""
    from meshlab.catalog.types import ddl_type

    with closing(sqlite3.connect(path)) as db, db:
        for table in tables:
            frame = pl.read_parquet(raw / f"{table}.parquet")
            columns = [f'"{name}" {ddl_type(dtype, "sqlite")}' for name, dtype in frame.schema.items()]
            columns.append(f"PRIMARY KEY ({', '.join(keys[table])})")
            db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            rows = frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64), pl.col(pl.Date).dt.strftime("%Y-%m-%d"))
            marks = ", ".join("?" for _ in frame.columns)
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows.iter_rows())
        db.execute("ANALYZE")


def load_postgres(server: PostgresServer, raw: Path, tables: Iterable[str], database: str = PG_DATABASE) -> None:
    """``tables`` in ``database`` with native types, NOT NULL and primary keys, loaded by COPY
    and ANALYZEd -- once per cluster (a finished load leaves table ``load_complete``)."""
    import psycopg

    from meshlab.catalog.types import ddl_type

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            with psycopg.connect(server.dsn_for(database)) as existing:
                done = existing.execute("SELECT to_regclass('public.load_complete')").fetchone()
            if done and done[0]:
                return
            conn.execute(f"DROP DATABASE {database}")
        conn.execute(f"CREATE DATABASE {database}")
    with psycopg.connect(server.dsn_for(database), autocommit=True) as conn:
        for table in tables:
            frame = pl.scan_parquet(raw / f"{table}.parquet")
            schema = frame.collect_schema()
            columns = [f"{name} {ddl_type(dtype, 'postgres')} NOT NULL" for name, dtype in schema.items()]
            columns.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[table])})")
            conn.execute(f"CREATE TABLE public.{table} ({', '.join(columns)})")
            with conn.cursor() as cur, cur.copy(f"COPY public.{table} FROM STDIN (FORMAT csv)") as copy:
                for batch in frame.collect().iter_slices(500_000):
                    copy.write(batch.write_csv(include_header=False).encode())
            conn.execute(f"ANALYZE public.{table}")
        conn.execute("CREATE TABLE public.load_complete ()")


def _pg_server(server: PostgresServer, name: str, user_env: str, database: str = PG_DATABASE) -> dict:
    from support.contracts import postgres_db

    return postgres_db(server.host, server.port, database, server=name, user_env=user_env)


# -- the tests' federated mesh -----------------------------------------------------------------
#: the tests' scale factor
TEST_SCALE = 0.01
FEDERATED_SQLITE_FILE = "operational.sqlite"  # customer and supplier: one database, two domains
FEDERATED_SQLITE_TABLES = ("customer", "supplier")
FEDERATED_POSTGRES_TABLES = ("orders",)
FEDERATED_CSV_DELIMITER = "|"


@dataclass(frozen=True)
class TpchMesh:
    """The federated TPC-H mesh on disk (:func:`build_federated_mesh`)."""

    mesh_path: Path
    parquet_dir: Path
    address: dict[str, str]
    sqlite_path: Path
    postgres: PostgresServer
    pg_database: str = PG_DATABASE

    def to_mesh_sql(self, sql: str, dialect: str | None = None) -> str:
        """Rewrite a plain TPC-H query to name mesh addresses (through the tree)."""
        return to_mesh_sql(sql, self.address, dialect)


def build_federated_mesh(root: Path, raw: Path, server: PostgresServer, user_env: str) -> TpchMesh:
    """Spread the TPC-H parquet files of ``raw`` over every source kind meshlab reads, in ``root``.

    Layout: ``mesh.yaml``, ``domains/<domain>/<table>.odcs.yaml``, and the data under
    ``data/`` (the contracts point there with relative paths), orders in PostgreSQL
    (database ``tpch``, login from the environment variable ``user_env``).
    """
    from support.contracts import local_files, sqlite_db

    data = root / "data"
    (data / "supply").mkdir(parents=True)
    (data / "geo").mkdir()
    schemas = {t: raw_schema(raw, t) for t in TABLES}
    contracts = {}
    write_sqlite(data / FEDERATED_SQLITE_FILE, raw, FEDERATED_SQLITE_TABLES)
    for table in FEDERATED_SQLITE_TABLES:
        location = sqlite_db(f"../../data/{FEDERATED_SQLITE_FILE}", server="operational-db")
        contracts[table] = table_contract(table, schemas[table], location, scale=TEST_SCALE)
    load_postgres(server, raw, FEDERATED_POSTGRES_TABLES)
    for table in FEDERATED_POSTGRES_TABLES:
        location = _pg_server(server, "orders-db", user_env)
        contracts[table] = table_contract(table, schemas[table], location, scale=TEST_SCALE)
    part = pl.read_parquet(raw / "part.parquet")
    part.with_columns(pl.col(pl.Decimal).cast(pl.Float64)).write_ndjson(data / "supply" / "part.ndjson")
    contracts["part"] = table_contract(
        "part", schemas["part"], local_files("../../data/supply/part.ndjson", "json"), scale=TEST_SCALE
    )
    pl.read_parquet(raw / "partsupp.parquet").write_parquet(data / "supply" / "partsupp.parquet")
    contracts["partsupp"] = table_contract(
        "partsupp", schemas["partsupp"], local_files("../../data/supply/partsupp.parquet"), scale=TEST_SCALE
    )
    write_hive(raw / "lineitem.parquet", data / "shipping" / "lineitem", "lineitem")
    location = local_files("../../data/shipping/lineitem/**/*.parquet")
    contracts["lineitem"] = table_contract(
        "lineitem", schemas["lineitem"], location, extra=[partition_property("lineitem")], scale=TEST_SCALE
    )
    for table in ("nation", "region"):
        pl.read_parquet(raw / f"{table}.parquet").write_csv(
            data / "geo" / f"{table}.csv", separator=FEDERATED_CSV_DELIMITER
        )
        location = local_files(f"../../data/geo/{table}.csv", "csv", delimiter=FEDERATED_CSV_DELIMITER)
        contracts[table] = table_contract(table, schemas[table], location, scale=TEST_SCALE)
    folders = {d: f"domains/{d}" for d in DOMAINS.values()}
    mesh_path = _write_contracts(root, contracts, folders)
    return TpchMesh(mesh_path, raw, dict(ADDRESS), data / FEDERATED_SQLITE_FILE, server)


# -- the benchmarks' layouts P and F -----------------------------------------------------------
LAYOUT_F_POSTGRES_TABLES = ("orders", "customer")
LAYOUT_F_SQLITE_TABLES = ("part", "partsupp", "supplier")
LAYOUT_F_CSV_TABLES = ("nation", "region")


def write_layout_p(folder: Path, raw: Path) -> Path:
    """Layout P: small tables as single files (hard links), two big ones partitioned by year."""
    target = folder / "P"
    if (target / DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for table in TABLES:
        source = raw / f"{table}.parquet"
        if table in PARTITIONS:
            write_hive(source, target / table, table)
        else:
            (target / f"{table}.parquet").hardlink_to(source)
    (target / DONE).touch()
    return target


def write_layout_f_files(folder: Path, raw: Path) -> Path:
    """Layout F's SQLite file (part, partsupp, supplier) and CSV files (nation, region)."""
    target = folder / "F"
    if (target / DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    (target / "geo").mkdir(parents=True)
    for table in LAYOUT_F_CSV_TABLES:
        pl.read_parquet(raw / f"{table}.parquet").write_csv(target / "geo" / f"{table}.csv")
    write_sqlite(target / "supply.sqlite", raw, LAYOUT_F_SQLITE_TABLES)
    (target / DONE).touch()
    return target


def parquet_path(layout_p: Path, table: str) -> str:
    """The glob (partitioned) or file of ``table`` in layout P."""
    return str(layout_p / table / "**" / "*.parquet") if table in PARTITIONS else str(layout_p / f"{table}.parquet")


def _benchmark_mesh(root: Path, raw: Path, servers: dict[str, dict]) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    contracts = {}
    for table in TABLES:
        server = servers[table]
        partitioned = table in PARTITIONS and server.get("format") == "parquet"
        extra = [partition_property(table)] if partitioned else []
        contracts[table] = table_contract(table, raw_schema(raw, table), server, extra=extra)
    return _write_contracts(root, contracts, {d: d for d in DOMAINS.values()})


def write_mesh_p(folder: Path, raw: Path, layout_p: Path) -> Path:
    """The contracts of layout P (written at every run)."""
    from support.contracts import local_files

    servers = {t: local_files(parquet_path(layout_p, t)) for t in TABLES}
    return _benchmark_mesh(folder / "mesh-P", raw, servers)


def write_mesh_f(folder: Path, raw: Path, layout_p: Path, files: Path, server: PostgresServer, user_env: str) -> Path:
    """The contracts of layout F; they name the port the PostgreSQL server got this time."""
    from support.contracts import local_files, sqlite_db

    servers = {}
    for table in TABLES:
        if table in LAYOUT_F_POSTGRES_TABLES:
            servers[table] = _pg_server(server, "sales-db", user_env)
        elif table in LAYOUT_F_SQLITE_TABLES:
            servers[table] = sqlite_db(str(files / "supply.sqlite"), server="supply-db")
        elif table in LAYOUT_F_CSV_TABLES:
            path = str(files / "geo" / f"{table}.csv")
            servers[table] = local_files(path, "csv", server="geo-files", delimiter=",")
        else:
            servers[table] = local_files(parquet_path(layout_p, table))
    return _benchmark_mesh(folder / "mesh-F", raw, servers)


# -- flat: one domain, one parquet file per table ----------------------------------------------
def write_flat_mesh(raw: Path, root: Path, domain: str = "tpch") -> Path:
    """One domain ``domain``, one contract per table pointing at its parquet file in ``raw``."""
    from support.contracts import local_files

    contracts = {}
    for table in TABLES:
        document = table_contract(table, raw_schema(raw, table), local_files(str(raw / f"{table}.parquet")))
        contracts[table] = {**document, "domain": domain}
    return _write_contracts(root, contracts, {domain: f"domains/{domain}"})
