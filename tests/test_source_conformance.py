"""Every source kind gives the same answers: one table entry per kind, the same tests for all.

:data:`PLACEMENTS` is the table. An entry is a :class:`~support.placements.Placement`: how
a polars DataFrame is written into that kind (returning the ODCS server block that reads
it back) and how to see what the source actually received (a server's statement log, a
driver's trace hook, the plan Polars hands its reader). Each kind gets one mesh per module,
built on first use: the eight TPC-H tables at SF0.01 and ``hr.people`` (a governed dataset
with quality rules), all in that kind, under one policy. For every kind:

1. the 22 TPC-H queries give DuckDB's answers over the plain parquet files;
2. what the plan says a source takes (columns, filter, limit) is in what it received, and a
   reader that counts row groups reads fewer for a selective filter;
3. the same row filter and masks give the same governed rows as the parquet kind and as
   DuckDB over the raw frame through views written by hand from the policy;
4. the same quality rules measure the same values as on parquet and in DuckDB;
5. the SPI's metadata hooks (check, physical schema, row estimate, bytes) answer sensibly.

A registered kind without an entry fails :func:`test_every_registered_kind_has_a_placement`:
adding a kind to meshlab (or installing a plugin) is not done until it is in this table.
docs/sources.md shows an entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import assert_same_rows, duckdb_answer, order_by_positions, read_tpch_query
from support import tpch
from support.contracts import columns_of, contract, library_rule, write_mesh, write_yaml
from support.placements import (
    Home,
    LoggerTrace,
    Placement,
    PolarsPlan,
    ServerLog,
    StatementHook,
    write_arrow,
    write_csv,
    write_delta,
    write_duckdb,
    write_iceberg,
    write_mysql,
    write_ndjson,
    write_parquet,
    write_postgres,
    write_sqlite,
)

import meshlab
from meshlab.catalog.server_kinds import BROKEN_KINDS, server_kinds

#: One entry per source kind (the key names it in test ids). The parquet entry is the
#: reference the others' governed rows and check metrics are compared with.
PLACEMENTS: dict[str, Placement] = {
    "parquet": Placement("files", write_parquet, PolarsPlan(counts_row_groups=True)),
    "csv": Placement("files", write_csv, PolarsPlan()),
    "ndjson": Placement("files", write_ndjson, PolarsPlan()),
    "sqlite": Placement("sqlite", write_sqlite, LoggerTrace("meshlab.sources.sqlite", "sqlite3 ran: ", "sqlite")),
    "postgres": Placement(
        "postgres",
        write_postgres,
        ServerLog("postgres_server", "postgres"),
        services=("postgres_server",),
        marks=(pytest.mark.postgres,),
    ),
    "mysql": Placement(
        "mysql",
        write_mysql,
        ServerLog("mariadb_server", "mysql"),
        services=("mariadb_server",),
        marks=(pytest.mark.mysql,),
    ),
    "duckdb": Placement(
        "duckdb", write_duckdb, StatementHook("meshlab.sources.duckdb_database:STATEMENT_HOOKS", "duckdb")
    ),
    "delta": Placement("delta", write_delta, PolarsPlan(counts_row_groups=True)),
    "iceberg": Placement("iceberg", write_iceberg, PolarsPlan()),
    "arrow": Placement("arrow", write_arrow, PolarsPlan()),  # the tests/plugins/meshlab-arrow-ipc plugin
}
REFERENCE = "parquet"
KINDS = [pytest.param(name, id=name, marks=list(p.marks)) for name, p in PLACEMENTS.items()]
QUERIES = [f"q{number:02d}" for number in range(1, 23)]


# -- the governed dataset ----------------------------------------------------------------------
POLICY = {
    "users": {"*": ["steward", "analyst"]},
    "roles": {
        "steward": {"read": ["*"], "unmask": ["pii", "restricted", "confidential"]},
        "analyst": {"read": ["hr.*"], "row_filters": {"hr.people": "country IN ('SE', 'DE')"}},
    },
    "masks": {"pii": "hash", "restricted": "null", "confidential": "floor({column} / 1000) * 1000"},
}
CLASSIFICATION = {"id": "restricted", "name": "pii", "email": "pii", "salary": "confidential"}
VALID_COUNTRIES = ["SE", "DE", "FR"]


def people_frame() -> pl.DataFrame:
    """200 people: one repeated e-mail, ten without a manager, a quarter in the US."""
    ids = list(range(1, 201))
    return pl.DataFrame(
        {
            "id": ids,
            "name": [f"Person {i}" for i in ids],
            "email": [f"user{1 if i == 200 else i}@example.org" for i in ids],
            "salary": [float(30_000 + (i * 7919) % 60_000) for i in ids],
            "country": [("SE", "DE", "US", "FR")[i % 4] for i in ids],
            "manager_id": [None if i <= 10 else 1 + i % 7 for i in ids],
            "joined": pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 7, 18), eager=True),
        },
        schema_overrides={"manager_id": pl.Int64},
    )


def people_contract(server: dict) -> dict:
    """``hr.people`` with classifications for the masks and one rule of each library metric."""
    quality = {
        "country": [library_rule("invalidValues", arguments={"validValues": VALID_COUNTRIES})],
        "manager_id": [library_rule("nullValues")],
    }
    properties = []
    for prop in columns_of(people_frame()):
        name = prop["name"]
        if name in CLASSIFICATION:
            prop["classification"] = CLASSIFICATION[name]
        if name == "email":
            prop["unique"] = True
        if name in quality:
            prop["quality"] = quality[name]
        properties.append(prop)
    rules = [
        library_rule("rowCount", mustBe=200),
        library_rule("duplicateValues", arguments={"properties": ["country", "manager_id"]}),
    ]
    return contract("hr", "people", properties, server, physical_name="people", quality=rules)


#: the analyst's view of hr.people, by hand from POLICY (DuckDB's own md5 and floor)
ANALYST_VIEW = (
    "SELECT CAST(NULL AS BIGINT) AS id, md5(name) AS name, md5(email) AS email, "
    "floor(salary / 1000) * 1000 AS salary, country, manager_id, joined "
    "FROM people WHERE country IN ('SE', 'DE')"
)
GOVERNED_QUERIES = {
    "all_rows": "SELECT * FROM hr.people",
    "grouped": "SELECT country, count(*) AS n, sum(salary) AS total, count(DISTINCT email) AS emails "
    "FROM hr.people GROUP BY country",
    "filter_on_masked": "SELECT name, salary FROM hr.people WHERE salary >= 50000 ORDER BY name",
    "clear_value_finds_nothing": "SELECT count(*) AS n FROM hr.people WHERE email = 'user2@example.org'",
    "limit": "SELECT email, joined FROM hr.people ORDER BY joined LIMIT 5",
}
#: every check of people_contract, measured independently
EXPECTED_METRICS = {
    "rowCount": "SELECT count(*) FROM people",
    "nullValues:manager_id": "SELECT count(*) - count(manager_id) FROM people",
    "invalidValues:country": f"SELECT count(*) FROM people WHERE country NOT IN {tuple(VALID_COUNTRIES)}",
    "unique:email": "SELECT count(email) - count(DISTINCT email) FROM people",
    "duplicateValues:(country, manager_id)": "SELECT count(*) - (SELECT count(*) FROM "
    "(SELECT DISTINCT country, manager_id FROM people)) FROM people",
}


# -- one mesh per kind -------------------------------------------------------------------------
@dataclass
class KindMesh:
    """One kind's mesh: every dataset placed in that kind, connected as steward and as analyst."""

    placement: Placement
    home: Home
    steward: meshlab.Mesh
    analyst: meshlab.Mesh


def build_kind_mesh(name: str, placement: Placement, root: Path, parquet: Path, request, env) -> KindMesh:
    if placement.kind not in {k.name for k in server_kinds()}:
        pytest.skip(
            f"source kind '{placement.kind}' is not registered ({BROKEN_KINDS.get(placement.kind, 'not installed')})"
        )
    services = {service: request.getfixturevalue(service) for service in placement.services}
    data = root / "data"
    data.mkdir(parents=True)
    home = Home(data, f"conformance_{name}", services, env.setenv)
    for table in tpch.TABLES:
        frame = pl.read_parquet(parquet / f"{table}.parquet")
        document = tpch.table_contract(table, dict(frame.schema), placement.write(home, table, frame))
        write_yaml(root / "domains" / tpch.DOMAINS[table] / f"{table}.odcs.yaml", document)
    write_yaml(
        root / "domains" / "hr" / "people.odcs.yaml", people_contract(placement.write(home, "people", people_frame()))
    )
    write_yaml(root / "policies.yaml", POLICY)
    manifest = write_mesh(root, f"conformance-{name}", sorted({*tpch.DOMAINS.values(), "hr"}), policies="policies.yaml")
    steward = meshlab.connect(str(manifest), role="steward")
    assert not steward.errors and not steward.notices, (steward.errors, steward.notices)
    return KindMesh(placement, home, steward, meshlab.connect(str(manifest), role="analyst"))


@pytest.fixture(scope="module")
def kind_meshes(tmp_path_factory, tpch_parquet):
    """``get(name, request)``: the kind's mesh, built on first use and kept for the module."""
    built: dict[str, KindMesh] = {}
    with pytest.MonkeyPatch.context() as env:

        def get(name: str, request) -> KindMesh:
            if name not in built:
                root = tmp_path_factory.mktemp(f"conformance-{name}")
                built[name] = build_kind_mesh(name, PLACEMENTS[name], root, tpch_parquet, request, env)
            return built[name]

        yield get
        for kind in built.values():
            kind.steward.close()
            kind.analyst.close()


@pytest.fixture
def kind(request, kind_meshes) -> KindMesh:
    return kind_meshes(request.node.callspec.params["name"], request)


@pytest.fixture
def reference(request, kind_meshes) -> KindMesh:
    return kind_meshes(REFERENCE, request)


@pytest.fixture(scope="module")
def oracle():
    """DuckDB over the raw people frame, with the analyst's view of it."""
    con = duckdb.connect()
    con.register("people", people_frame().to_arrow())
    con.execute(f"CREATE VIEW analyst_people AS {ANALYST_VIEW}")
    yield con
    con.close()


# -- 1. TPC-H ----------------------------------------------------------------------------------
@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("name", KINDS)
def test_tpch_query_matches_duckdb(name, query, kind, tpch_parquet):
    sql = read_tpch_query(query)
    actual = kind.steward.sql(tpch.to_mesh_sql(sql, tpch.ADDRESS)).df
    keys = order_by_positions(sql)
    assert_same_rows(actual, duckdb_answer(sql, tpch_parquet), ordered=bool(keys), order_by=keys)


# -- 2. pushdown, on what the source received ---------------------------------------------------
SELECTIVE = "SELECT o_orderkey, o_totalprice FROM sales.orders WHERE o_orderkey < 200"
LIMITED = "SELECT o_orderkey, o_orderstatus FROM sales.orders LIMIT 7"


def received(kind: KindMesh, sql: str):
    """(the result, what the source of sales.orders received) for ``sql``."""
    results = []
    evidence = kind.placement.evidence.watch(
        kind.home, "orders", lambda: results.append(kind.steward.sql(sql)), lambda: kind.steward.sql(sql, lazy=True)
    )
    return results[-1], evidence


def claims_columns(got: frozenset[str] | int, wanted: set[str]) -> bool:
    return got == len(wanted) if isinstance(got, int) else got == wanted


@pytest.mark.parametrize("name", KINDS)
def test_filter_and_columns_reach_the_source(name, kind, tpch_parquet):
    result, got = received(kind, SELECTIVE)
    assert_same_rows(result.df, duckdb_answer(SELECTIVE.replace("sales.", ""), tpch_parquet), ordered=False)
    assert claims_columns(got.columns, {"o_orderkey", "o_totalprice"}), f"{name} read columns {got.columns}"
    (fragment,) = result.plan
    if fragment.pushed:  # what the plan says the source takes, the source must have been given
        assert "o_orderkey" in got.filter_columns, f"{name}: pushed {fragment.pushed}, received {got}"
    if got.units is not None:
        read, total = got.units
        assert read < total, f"{name}: a filter on the sort key read {read} of {total} row groups"


@pytest.mark.parametrize("name", KINDS)
def test_limit_reaches_the_source(name, kind):
    result, got = received(kind, LIMITED)
    assert result.df.height == 7
    assert claims_columns(got.columns, {"o_orderkey", "o_orderstatus"}), f"{name} read columns {got.columns}"
    (fragment,) = result.plan
    if fragment.limit is not None:
        assert got.limit == 7, f"{name}: the plan sends limit {fragment.limit}, the source received {got}"
    if got.units is not None:
        read, total = got.units
        assert read < total, f"{name}: a limit of 7 rows read {read} of {total} row groups"


# -- 3. governance ------------------------------------------------------------------------------
@pytest.mark.parametrize("query", GOVERNED_QUERIES)
@pytest.mark.parametrize("name", KINDS)
def test_governed_rows_are_the_same_on_every_kind(name, query, kind, reference, oracle):
    sql = GOVERNED_QUERIES[query]
    actual = kind.analyst.sql(sql).df
    keys = order_by_positions(sql)
    expected = oracle.sql(sql.replace("hr.people", "analyst_people")).pl()
    assert_same_rows(actual, expected, ordered=bool(keys), order_by=keys)
    assert_same_rows(actual, reference.analyst.sql(sql).df, ordered=bool(keys), order_by=keys)


# -- 4. checks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", KINDS)
def test_quality_metrics_are_the_same_on_every_kind(name, kind, reference, oracle):
    def metrics(mesh: meshlab.Mesh) -> dict:
        report = mesh.check("hr.people", store=False)
        return {check: report.result("hr.people", check).observed for check in EXPECTED_METRICS}

    expected = {check: oracle.execute(sql).fetchone()[0] for check, sql in EXPECTED_METRICS.items()}
    assert expected["unique:email"] == 1 and expected["invalidValues:country"] == 50  # the data has faults
    assert metrics(kind.steward) == expected
    assert metrics(reference.steward) == expected


# -- 5. metadata hooks of the SPI ---------------------------------------------------------------
@pytest.mark.parametrize("name", KINDS)
def test_metadata_hooks_answer(name, kind):
    mesh = kind.steward
    dataset = mesh.dataset("sales.orders")
    source = mesh.source(dataset)
    source.check()  # reachable: no error
    assert set(source.physical_schema()) >= {c.name for c in dataset.columns}
    rows = source.estimate_rows()
    assert rows is None or 15_000 / 2 <= rows <= 15_000 * 2, f"{name} estimates {rows} rows of 15000"
    stored = source.bytes_for(("o_orderkey", "o_comment"))
    assert stored is None or stored > 0
    explained = mesh.explain("SELECT o_orderkey FROM sales.orders WHERE o_orderkey < 10")
    assert "o_orderkey" in explained


def test_every_registered_kind_has_a_placement():
    """A kind that loads (meshlab's own or a plugin's) is conformance-tested: add its entry to PLACEMENTS."""
    missing = {k.name for k in server_kinds()} - {p.kind for p in PLACEMENTS.values()}
    assert not missing, f"source kinds without a PLACEMENTS entry (see docs/sources.md): {sorted(missing)}"
