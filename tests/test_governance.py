"""Governance, attacked: every bypass attempt must fail or see masked, filtered data.

The mesh: ``hr.people`` (parquet), ``hr.offices`` (CSV), ``sales.orders`` and
``sales.customers`` (one SQLite file), ``crm.contacts`` (PostgreSQL) and
``secret.payroll`` (parquet, granted to stewards only). The oracle is DuckDB
over the raw data through views that apply the analyst's row filters and
masks, written here by hand from the policy (DuckDB's own ``md5``): each
attack query must give DuckDB's answer, and no clear personal value may
appear in any answer.
"""

from __future__ import annotations

import json
import random
import sqlite3

import duckdb
import polars as pl
import psycopg
import pytest
import sqlglot
import yaml
from conftest import assert_same_rows
from sqlglot import exp
from support.contracts import contract, properties, write_yaml

import meshlab
from meshlab.errors import (
    AccessDeniedError,
    DescriptorError,
    GovernanceError,
    MeshError,
    SqlError,
    UnknownDatasetError,
)

POLICY = {
    "users": {"alice": ["steward", "analyst"], "bob": ["analyst"], "*": ["guest"]},
    "roles": {
        "analyst": {
            "read": ["hr.*", "sales.*", "crm.*"],
            "unmask": [],
            "row_filters": {"hr.people": "country IN ('SE', 'DE')", "crm.contacts": "country <> 'US'"},
        },
        "steward": {"read": ["*"], "unmask": ["pii", "restricted", "confidential"]},
        "guest": {"read": ["sales.orders"]},
    },
    "masks": {"pii": "hash", "restricted": "NULL", "confidential": "floor({column} / 1000) * 1000"},
    "domain_policies": {"sales": {"roles": {"analyst": {"row_filters": {"sales.orders": "amount < 900"}}}}},
}
PG_DATABASE = "crm"
PG_USER_ENV = "MESHLAB_GOV_PGUSER"


def _frames(seed: int = 11) -> dict[str, pl.DataFrame]:
    rng = random.Random(seed)
    countries = ["SE", "DE", "US", "FR"]
    people = pl.DataFrame(
        {
            "id": list(range(1, 201)),
            "name": [f"Person {i}" for i in range(1, 201)],
            "email": [f"user{i}@example.org" for i in range(1, 201)],
            "salary": [float(rng.randrange(30_000, 90_000)) for _ in range(200)],
            "country": [countries[i % 4] for i in range(200)],
            "manager_id": [None if i < 10 else rng.randrange(1, 11) for i in range(200)],
        }
    )
    # Contacts share half their e-mails with people: masked keys must still join.
    contacts = pl.DataFrame(
        {
            "contact_id": list(range(1, 121)),
            "email": [f"user{i * 2}@example.org" if i % 2 else f"lead{i}@example.com" for i in range(1, 121)],
            "phone": [f"+46-70-{i:04d}" for i in range(1, 121)],
            "country": [countries[(i + 1) % 4] for i in range(120)],
        }
    )
    orders = pl.DataFrame(
        {
            "order_id": list(range(1, 301)),
            "customer_email": [f"user{rng.randrange(1, 201)}@example.org" for _ in range(300)],
            "amount": [float(rng.randrange(10, 1000)) for _ in range(300)],
            "country": [countries[rng.randrange(4)] for _ in range(300)],
        }
    )
    customers = pl.DataFrame(
        {
            "email": [f"user{i}@example.org" for i in range(1, 201)],
            "segment": [("gold", "silver", "bronze")[i % 3] for i in range(200)],
        }
    )
    offices = pl.DataFrame(
        {
            "office_id": [1, 2, 3],
            "city": ["Stockholm", "Berlin", "Boston"],
            "office_phone": ["+46-8-1", "+49-30-2", "+1-617-3"],
        }
    )
    payroll = pl.DataFrame({"id": list(range(1, 201)), "email": people["email"], "bonus": [1000.0] * 200})
    return {
        "people": people,
        "contacts": contacts,
        "orders": orders,
        "customers": customers,
        "offices": offices,
        "payroll": payroll,
    }


COLUMNS = {
    "people": [
        ("id", "integer", "restricted"),
        ("name", "string", "pii"),
        ("email", "string", "pii"),
        ("salary", "number", "confidential"),
        ("country", "string", "internal"),
        ("manager_id", "integer", "restricted"),
    ],
    "offices": [("office_id", "integer", None), ("city", "string", "public"), ("office_phone", "string", "pii")],
    "orders": [
        ("order_id", "integer", None),
        ("customer_email", "string", "pii"),
        ("amount", "number", None),
        ("country", "string", None),
    ],
    "customers": [("email", "string", "pii"), ("segment", "string", None)],
    "contacts": [
        ("contact_id", "integer", None),
        ("email", "string", "pii"),
        ("phone", "string", "pii"),
        ("country", "string", None),
    ],
    "payroll": [("id", "integer", "restricted"), ("email", "string", "pii"), ("bonus", "number", "confidential")],
}


def _contract(domain: str, table: str, server: dict) -> dict:
    return contract(domain, table, properties(*COLUMNS[table]), server, physical_name=table)


@pytest.fixture(scope="module")
def governed_mesh(tmp_path_factory, postgres_server):
    """The governed mesh on disk; yields (manifest path, raw frames)."""
    root = tmp_path_factory.mktemp("governed")
    frames = _frames()
    data = root / "data"
    data.mkdir()
    frames["people"].write_parquet(data / "people.parquet")
    frames["payroll"].write_parquet(data / "payroll.parquet")
    frames["offices"].write_csv(data / "offices.csv")
    with sqlite3.connect(data / "sales.sqlite") as conn:
        for table in ("orders", "customers"):
            frame = frames[table]
            conn.execute(f"CREATE TABLE {table} ({', '.join(frame.columns)})")
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * frame.width)})", frame.rows())
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    with psycopg.connect(postgres_server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        conn.execute("CREATE TABLE public.contacts (contact_id BIGINT, email TEXT, phone TEXT, country TEXT)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO public.contacts VALUES (%s, %s, %s, %s)", frames["contacts"].rows())
    lake = {"server": "lake", "type": "local", "format": "parquet"}
    sqlite_server = {"server": "sales-db", "type": "sqlite", "path": "../../data/sales.sqlite"}
    pg = {
        "server": "crm-db",
        "type": "postgres",
        "host": postgres_server.host,
        "port": postgres_server.port,
        "database": PG_DATABASE,
        "schema": "public",
        "customProperties": [{"property": "userEnv", "value": PG_USER_ENV}],
    }
    domains = root / "domains"
    write_yaml(
        domains / "hr" / "people.odcs.yaml", _contract("hr", "people", {**lake, "path": "../../data/people.parquet"})
    )
    csv = {"server": "lake", "type": "local", "format": "csv", "path": "../../data/offices.csv"}
    write_yaml(domains / "hr" / "offices.odcs.yaml", _contract("hr", "offices", csv))
    write_yaml(domains / "sales" / "orders.odcs.yaml", _contract("sales", "orders", sqlite_server))
    write_yaml(domains / "sales" / "customers.odcs.yaml", _contract("sales", "customers", sqlite_server))
    write_yaml(domains / "crm" / "contacts.odcs.yaml", _contract("crm", "contacts", pg))
    payroll = {**lake, "path": "../../data/payroll.parquet"}
    write_yaml(domains / "secret" / "payroll.odcs.yaml", _contract("secret", "payroll", payroll))
    write_yaml(root / "policies.yaml", POLICY)
    manifest = {
        "mesh": "governed",
        "domains": {d: f"domains/{d}" for d in ("hr", "sales", "crm", "secret")},
        "policies": "policies.yaml",
        "audit": {"log": "audit/queries.jsonl", "openlineage": {"transport": "file", "path": "audit/lineage.jsonl"}},
    }
    write_yaml(root / "mesh.yaml", manifest)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PG_USER_ENV, postgres_server.user)
        yield root / "mesh.yaml", frames


@pytest.fixture
def as_user(monkeypatch):
    """``as_user(name)``: the identity JupyterHub would give."""
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    return lambda name: monkeypatch.setenv("JUPYTERHUB_USER", name)


@pytest.fixture
def analyst(governed_mesh, as_user):
    as_user("bob")
    mesh = meshlab.connect(str(governed_mesh[0]))
    assert mesh.role == "analyst"
    yield mesh
    mesh.close()


@pytest.fixture(scope="module")
def oracle(governed_mesh):
    """DuckDB over the raw frames, with the analyst's view of each dataset."""
    frames = governed_mesh[1]
    con = duckdb.connect()
    for name, frame in frames.items():
        con.register("incoming", frame.to_arrow())
        con.execute(f"CREATE TABLE raw_{name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    con.execute(
        "CREATE VIEW hr_people AS SELECT CAST(NULL AS BIGINT) AS id, md5(name) AS name, md5(email) AS email, "
        "floor(salary / 1000) * 1000 AS salary, country, CAST(NULL AS BIGINT) AS manager_id "
        "FROM raw_people WHERE country IN ('SE', 'DE')"
    )
    con.execute("CREATE VIEW hr_offices AS SELECT office_id, city, md5(office_phone) AS office_phone FROM raw_offices")
    con.execute(
        "CREATE VIEW sales_orders AS SELECT order_id, md5(customer_email) AS customer_email, amount, country "
        "FROM raw_orders WHERE amount < 900"
    )
    con.execute("CREATE VIEW sales_customers AS SELECT md5(email) AS email, segment FROM raw_customers")
    con.execute(
        "CREATE VIEW crm_contacts AS SELECT contact_id, md5(email) AS email, md5(phone) AS phone, country "
        "FROM raw_contacts WHERE country <> 'US'"
    )
    yield con
    con.close()


def oracle_sql(sql: str) -> str:
    """``sql`` with each address ``d.t`` (any case, quoted or not, 2 or 3 parts) -> view ``d_t``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for column in tree.find_all(exp.Column):
        if column.args.get("db"):
            column.set("table", exp.to_identifier(f"{column.args['db'].name}_{column.table}"))
            column.set("db", None)
    for table in tree.find_all(exp.Table):
        if table.args.get("db"):
            domain = (table.args.get("catalog") or table.args["db"]).name.lower()
            table.replace(
                exp.Table(this=exp.to_identifier(f"{domain}_{table.name.lower()}"), alias=table.args.get("alias"))
            )
    return tree.sql(dialect="duckdb")


ATTACKS = {
    "select_star": "SELECT * FROM hr.people",
    "alias": "SELECT p.email AS contact, p.name AS who FROM hr.people AS p",
    "cte": "WITH x AS (SELECT email, salary FROM hr.people) SELECT * FROM x",
    "subquery": "SELECT e FROM (SELECT email AS e FROM hr.people) AS t",
    "union_with_granted": "SELECT email FROM hr.people UNION ALL SELECT email FROM crm.contacts "
    "UNION ALL SELECT customer_email FROM sales.orders",
    "self_join": "SELECT a.email, b.name FROM hr.people AS a JOIN hr.people AS b ON a.email = b.email",
    "where_equals_clear": "SELECT count(*) AS n FROM hr.people WHERE email = 'user2@example.org'",
    "where_not_equals_clear": "SELECT count(*) AS n FROM hr.people WHERE email <> 'user2@example.org'",
    "where_like_clear": "SELECT count(*) AS n FROM hr.people WHERE email LIKE 'user%'",
    "where_in_clear_postgres": "SELECT count(*) AS n FROM crm.contacts WHERE email IN ('user2@example.org', 'x')",
    "where_clear_sqlite": "SELECT count(*) AS n FROM sales.orders WHERE customer_email LIKE '%@example.org'",
    "where_clear_csv": "SELECT count(*) AS n FROM hr.offices WHERE office_phone LIKE '+46%'",
    "case_when_clear": "SELECT sum(CASE WHEN email = 'user2@example.org' THEN 1 ELSE 0 END) AS n FROM hr.people",
    "group_by_masked": "SELECT customer_email, count(*) AS n FROM sales.orders GROUP BY customer_email",
    "order_by_masked_limit_postgres": "SELECT email FROM crm.contacts ORDER BY email LIMIT 3",
    "order_by_masked_limit_parquet": "SELECT email FROM hr.people ORDER BY email DESC LIMIT 2",
    "window_over_masked": "SELECT email, row_number() OVER (ORDER BY email) AS r FROM hr.people",
    "functions_of_masked": "SELECT upper(email) AS u, length(email) AS l, substr(name, 1, 3) AS s FROM hr.people",
    "min_max_masked": "SELECT min(email) AS lo, max(email) AS hi FROM hr.people",
    "join_on_masked_keys": "SELECT count(*) AS n FROM hr.people AS p JOIN crm.contacts AS c ON p.email = c.email",
    "join_masked_across_sqlite": "SELECT c.segment, count(*) AS n FROM sales.orders AS o "
    "JOIN sales.customers AS c ON o.customer_email = c.email GROUP BY c.segment",
    "outer_join_brings_back_filtered_rows": "SELECT count(*) AS n, count(p.country) AS matched "
    "FROM crm.contacts AS c LEFT JOIN hr.people AS p ON c.email = p.email",
    "right_join_filtered_side": "SELECT count(*) AS n FROM crm.contacts AS c RIGHT JOIN hr.people AS p "
    "ON c.email = p.email",
    "exists_on_masked": "SELECT count(*) AS n FROM crm.contacts AS c "
    "WHERE EXISTS (SELECT 1 FROM hr.people AS p WHERE p.email = c.email)",
    "in_subquery_on_masked": "SELECT count(*) AS n FROM crm.contacts WHERE email IN (SELECT email FROM hr.people)",
    "clear_values_joined_in": "WITH guesses(e) AS (VALUES ('user2@example.org'), ('user4@example.org')) "
    "SELECT count(*) AS n FROM hr.people AS p JOIN guesses AS g ON p.email = g.e",
    "row_filter_counts": "SELECT country, count(*) AS n FROM hr.people GROUP BY country",
    "row_filter_sqlite_domain_policy": "SELECT count(*) AS n, max(amount) AS top FROM sales.orders",
    "row_filter_postgres": "SELECT country, count(*) AS n FROM crm.contacts GROUP BY country",
    "or_predicate_escapes_filter": "SELECT count(*) AS n FROM hr.people WHERE country = 'US' OR 1 = 1",
    "distinct_masked": "SELECT count(DISTINCT email) AS n FROM hr.people",
    "restricted_is_null": "SELECT count(id) AS ids, count(manager_id) AS managers FROM hr.people",
    "confidential_rounded": "SELECT min(salary) AS lo, sum(salary) AS total FROM hr.people",
    "cast_of_masked": "SELECT CAST(salary AS BIGINT) AS s FROM hr.people",
    "having_on_masked": "SELECT email FROM hr.people GROUP BY email HAVING email = 'user2@example.org'",
    "quoted_address": 'SELECT email FROM "hr"."people"',
    "upper_case_address": "SELECT EMAIL FROM HR.PEOPLE",
    "three_part_address": "SELECT email FROM hr.people.people",
    "qualified_column_forms": "SELECT hr.people.email FROM hr.people",
    "scalar_subquery": "SELECT (SELECT max(email) FROM hr.people) AS m",
}


def _clear_values(frames: dict[str, pl.DataFrame]) -> set[str]:
    values = set()
    for table, columns in COLUMNS.items():
        for name, _, classification in columns:
            if classification == "pii":
                values.update(v for v in frames[table][name].to_list() if v is not None)
    return values


def _leaks(frame: pl.DataFrame, clear: set[str]) -> list[str]:
    found = []
    for column in frame.columns:
        if frame[column].dtype == pl.String:
            found += [v for v in frame[column].drop_nulls().unique().to_list() if v in clear]
    return found


@pytest.mark.attack
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_sees_only_masked_filtered_data(name, analyst, oracle, governed_mesh):
    sql = ATTACKS[name]
    result = analyst.sql(sql)
    expected = oracle.cursor().sql(oracle_sql(sql)).pl()
    ordered = "ORDER BY" in sql.upper() and "OVER" not in sql.upper()
    assert_same_rows(result.df, expected, ordered=ordered)
    assert _leaks(result.df, _clear_values(governed_mesh[1])) == []


@pytest.mark.attack
def test_parameters_bind_as_data_not_as_a_way_around_masks(analyst, oracle):
    result = analyst.sql(
        "SELECT count(*) AS n FROM hr.people WHERE email = :e OR name = :n",
        params={"e": "user2@example.org", "n": "Person 2"},
    )
    assert result.df["n"].to_list() == [0]
    hashed = oracle.execute("SELECT email FROM hr_people LIMIT 1").fetchone()[0]
    assert analyst.sql("SELECT count(*) AS n FROM hr.people WHERE email = :e", params={"e": hashed}).df["n"][0] == 1


@pytest.mark.attack
def test_lazy_frames_are_governed_too(analyst, governed_mesh):
    frame = analyst.sql("SELECT email, country FROM hr.people", lazy=True).collect()
    assert set(frame["country"].unique()) <= {"SE", "DE"}
    assert _leaks(frame, _clear_values(governed_mesh[1])) == []


REFUSED = {
    "ungranted_dataset": "SELECT * FROM secret.payroll",
    "ungranted_three_part": "SELECT * FROM secret.payroll.payroll",
    "ungranted_quoted_case": 'SELECT * FROM "SECRET"."Payroll"',
    "ungranted_in_subquery": "SELECT * FROM hr.people WHERE name IN (SELECT email FROM secret.payroll)",
    "ungranted_in_union": "SELECT email FROM hr.people UNION SELECT email FROM secret.payroll",
    "ungranted_in_cte": "WITH s AS (SELECT * FROM secret.payroll) SELECT count(*) FROM s",
    "ungranted_in_join": "SELECT p.email FROM hr.people p JOIN secret.payroll s ON p.email = s.email",
    "physical_parquet_name": "SELECT * FROM people",
    "physical_sqlite_table": "SELECT * FROM orders",
    "physical_postgres_schema_table": "SELECT * FROM public.contacts",
    "read_parquet_table_function": "SELECT * FROM read_parquet('{data}/payroll.parquet')",
    "read_csv_table_function": "SELECT * FROM read_csv('{data}/offices.csv')",
    "parquet_path_as_table": "SELECT * FROM '{data}/payroll.parquet'",
    "several_statements": "SELECT 1; SELECT * FROM secret.payroll",
    "ddl": "CREATE TABLE leak AS SELECT * FROM hr.people",
    "dml": "DELETE FROM hr.people",
    "copy_out": "COPY (SELECT * FROM hr.people) TO '/tmp/leak.csv'",
    "attach_database": "ATTACH '{data}/sales.sqlite' AS s",
}


@pytest.mark.attack
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_attack_is_refused(name, analyst, governed_mesh):
    data = governed_mesh[0].parent / "data"
    with pytest.raises(MeshError) as caught:
        analyst.sql(REFUSED[name].format(data=data))
    message = str(caught.value)
    # Nothing of the hidden dataset beyond what the query itself said: not its columns, not its file.
    assert "bonus" not in message
    assert "payroll.parquet" not in message or "payroll.parquet" in REFUSED[name]


@pytest.mark.attack
def test_denied_and_missing_datasets_are_told_apart_by_nothing(analyst):
    messages = []
    for address in ("secret.payroll", "secret.nothing_here"):
        with pytest.raises(AccessDeniedError) as caught:
            analyst.sql(f"SELECT * FROM {address}")
        assert caught.value.role == "analyst"
        messages.append(str(caught.value).replace(address, "ADDRESS"))
    assert messages[0] == messages[1]
    assert "role 'analyst' cannot read 'ADDRESS'" in messages[0]
    assert isinstance(caught.value, UnknownDatasetError)  # code that catches unknown datasets keeps working


@pytest.mark.attack
def test_role_the_user_does_not_hold_is_refused(governed_mesh, as_user, monkeypatch):
    as_user("bob")
    with pytest.raises(GovernanceError, match="user 'bob' does not hold role 'steward'.*holds analyst"):
        meshlab.connect(str(governed_mesh[0]), role="steward")
    monkeypatch.setenv("MESHLAB_ROLE", "steward")
    with pytest.raises(GovernanceError, match="does not hold role 'steward'"):
        meshlab.connect(str(governed_mesh[0]))
    mesh = meshlab.connect(str(governed_mesh[0]), role="analyst")
    with pytest.raises(GovernanceError):
        mesh.set_role("steward")
    assert mesh.role == "analyst"


def test_catalog_hides_what_the_role_cannot_read(governed_mesh, analyst, as_user):
    addresses = [d.address for d in analyst.datasets()]
    assert "secret.payroll" not in addresses and "hr.people" in addresses
    assert all(d.address != "secret.payroll" for d in analyst.search("payroll bonus"))
    with pytest.raises(UnknownDatasetError):
        analyst.dataset("secret.payroll")
    as_user("someone-else")
    guest = meshlab.connect(str(governed_mesh[0]))
    assert guest.role == "guest" and [d.address for d in guest.datasets()] == ["sales.orders"]
    as_user("alice")
    steward = meshlab.connect(str(governed_mesh[0]))
    assert steward.role == "steward" and len(steward.datasets()) == 6


def test_steward_sees_clear_values(governed_mesh, as_user):
    as_user("alice")
    steward = meshlab.connect(str(governed_mesh[0]), role="steward")
    frame = steward.sql("SELECT id, email, salary, country FROM hr.people ORDER BY id").df
    raw = governed_mesh[1]["people"]
    assert frame["email"].to_list() == raw["email"].to_list()
    assert frame["salary"].to_list() == raw["salary"].to_list()
    assert steward.sql("SELECT count(*) AS n FROM secret.payroll").df["n"][0] == 200


def test_masks_are_computed_in_postgres_and_filters_pushed(analyst, pg_log):
    analyst.sql("SELECT email, phone FROM crm.contacts WHERE contact_id < 50 AND email <> 'x'")
    sent = [s for s in pg_log() if 'FROM "public"."contacts"' in s]  # the scans, not catalog look-ups
    assert sent, "PostgreSQL received no query"
    for statement in sent:
        assert 'MD5(CAST("email" AS TEXT)) AS "email"' in statement
        assert 'MD5(CAST("phone" AS TEXT)) AS "phone"' in statement
        assert "\"country\" <> 'US'" in statement  # the row filter runs in the database
        assert '"contact_id" < 50' in statement  # the user's own predicate still goes down
        assert "'x'" not in statement  # a predicate on a masked column never reaches the source


def test_sqlite_masks_after_fetch_and_no_join_pushdown_for_governed_scans(analyst):
    plan = analyst.explain(ATTACKS["join_masked_across_sqlite"])
    assert "then masked after the fetch (policy): customer_email: hash (pii)" in plan
    assert plan.count("[__scan") == 2  # two governed scans: the join stays local
    assert "`amount` < 900" in plan  # backticks: SQLite never reads them as a string


def test_lineage_marks_masked_columns_and_propagates_classification(analyst):
    result = analyst.sql("SELECT upper(email) AS u, country, salary * 2 AS double_pay FROM hr.people")
    assert result.lineage.masked == {"u": ["hr.people.email"], "double_pay": ["hr.people.salary"]}
    assert result.lineage.classifications["u"] == ["pii"]
    assert result.lineage.classifications["double_pay"] == ["confidential"]
    assert result.lineage.classifications["country"] == ["internal"]
    fields = result.lineage.to_openlineage()["fields"]
    assert fields["u"]["inputFields"][0]["transformations"][0]["masking"] is True
    assert fields["country"]["inputFields"][0]["transformations"][0]["masking"] is False


def test_audit_log_and_openlineage_events(governed_mesh, analyst):
    log = governed_mesh[0].parent / "audit" / "queries.jsonl"
    before = log.read_text().count("\n") if log.exists() else 0
    analyst.sql("SELECT email, country FROM hr.people WHERE country = :c", params={"c": "SE"})
    with pytest.raises(AccessDeniedError):
        analyst.sql("SELECT * FROM secret.payroll")
    with pytest.raises(SqlError):
        analyst.sql("SELECT nope FROM hr.people")
    records = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    assert [r["outcome"] for r in records] == ["ok", "denied", "error"]
    ok = records[0]
    assert ok["user"] == "bob" and ok["role"] == "analyst" and ok["rows"] == 50
    assert ok["datasets"] == ["hr.people"] and ok["parameters"] == ["c"]
    assert ok["columns"] == ["hr.people.country", "hr.people.email"]
    assert len(ok["statement_hash"]) == 64 and '"SE"' not in json.dumps(ok)  # parameter values stay out
    events = [json.loads(line) for line in (log.parent / "lineage.jsonl").read_text().splitlines()]
    last_ok = [e for e in events if e["eventType"] == "COMPLETE"][-1]
    assert [i["name"] for i in last_ok["inputs"]] == ["hr.people"]
    email = last_ok["outputs"][0]["facets"]["columnLineage"]["fields"]["email"]["inputFields"][0]
    assert email["field"] == "email" and email["transformations"][0]["masking"] is True
    assert events[-1]["eventType"] == "FAIL"


def test_audit_log_that_cannot_be_written_withholds_the_result(governed_mesh, as_user, tmp_path):
    as_user("bob")
    mesh = meshlab.connect(str(governed_mesh[0]))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    mesh.audit = type(mesh.audit)(log=str(blocker / "queries.jsonl"))
    with pytest.raises(GovernanceError, match="audit log .* cannot be written"):
        mesh.sql("SELECT count(*) FROM hr.people")


def test_no_policy_means_everything_readable(tpch_mesh):
    mesh = meshlab.connect(str(tpch_mesh.mesh_path))
    assert mesh.role is None and mesh.policy is None
    with pytest.raises(GovernanceError, match="no policy file"):
        meshlab.connect(str(tpch_mesh.mesh_path), role="analyst")


BROKEN_POLICIES = {
    "undefined_role": ({"users": {"x": ["ghost"]}, "roles": {}}, "users.x", "role 'ghost' is not defined"),
    "domain_grants": (
        {"roles": {"a": {}}, "domain_policies": {"hr": {"roles": {"a": {"read": ["hr.*"]}}}}},
        "domain_policies.hr.roles.a.read",
        "may only deny and filter",
    ),
    "domain_outside": (
        {"roles": {"a": {}}, "domain_policies": {"hr": {"roles": {"a": {"deny": ["sales.*"]}}}}},
        "domain_policies.hr.roles.a",
        "outside domain 'hr'",
    ),
    "domain_weakens_mask": (
        {"roles": {}, "masks": {"pii": "null"}, "domain_policies": {"hr": {"masks": {"pii": "hash"}}}},
        "domain_policies.hr.masks.pii",
        "already masked by the global policy",
    ),
    "filter_is_a_query": (
        {"roles": {"a": {"row_filters": {"hr.people": "SELECT 1 FROM t"}}}},
        "roles.a.row_filters",
        "not a query",
    ),
    "mask_is_a_query": ({"masks": {"pii": "(SELECT 1)"}}, "masks.pii", "not a query"),
    "unknown_key": ({"roles": {"a": {"write": ["*"]}}}, "roles.a.write", "unknown key 'write'"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_POLICIES))
def test_broken_policy_is_a_clear_error_never_open_access(name, tmp_path):
    policy, field, message = BROKEN_POLICIES[name]
    write_yaml(tmp_path / "p.yaml", policy)
    (tmp_path / "hr").mkdir()
    write_yaml(tmp_path / "mesh.yaml", {"mesh": "m", "domains": {"hr": "hr"}, "policies": "p.yaml"})
    with pytest.raises(DescriptorError) as caught:
        meshlab.connect(str(tmp_path / "mesh.yaml"))
    assert caught.value.field.startswith(field) and message in str(caught.value)
    assert str(tmp_path / "p.yaml") in str(caught.value)


def test_row_filter_on_unknown_column_fails_closed(governed_mesh, as_user, tmp_path):
    root = governed_mesh[0].parent
    policy = json.loads(json.dumps(POLICY))
    policy["roles"]["analyst"]["row_filters"]["hr.people"] = "region = 'north'"
    write_yaml(root / "broken-policies.yaml", policy)
    manifest = yaml.safe_load((root / "mesh.yaml").read_text())
    manifest["policies"] = "broken-policies.yaml"
    manifest.pop("audit")
    write_yaml(root / "mesh-broken.yaml", manifest)
    as_user("bob")
    mesh = meshlab.connect(str(root / "mesh-broken.yaml"))
    with pytest.raises(GovernanceError, match="row filter for hr.people uses 'region'"):
        mesh.sql("SELECT count(*) FROM hr.people")
    assert mesh.sql("SELECT count(*) AS n FROM hr.offices").df["n"][0] == 3  # the rest still works


def test_role_magic_switches_role_and_refuses_roles_not_held(governed_mesh, as_user):
    from IPython import get_ipython
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import start_ipython

    as_user("alice")
    shell = start_ipython() or get_ipython()  # started here, or already by another test module
    shell.run_line_magic("load_ext", "meshlab")
    shell.run_line_magic("mesh", f"connect {governed_mesh[0]}")
    shown = shell.run_line_magic("mesh", "role")
    assert "user 'alice' in role 'steward' (may take: steward, analyst); 6 of 6 datasets visible" == str(shown)
    assert str(shell.run_line_magic("mesh", "role analyst")).endswith("5 of 6 datasets visible")
    frame = shell.run_cell_magic("mesh", "", "SELECT email FROM hr.people").df
    assert frame.height == 100 and _leaks(frame, _clear_values(governed_mesh[1])) == []
    with pytest.raises(UsageError, match="does not hold role 'guest'"):
        shell.run_line_magic("mesh", "role guest")
    with pytest.raises(UsageError, match="role 'analyst' cannot read 'secret.payroll'"):
        shell.run_cell_magic("mesh", "", "SELECT * FROM secret.payroll")


def test_result_shows_role_and_masked_columns(analyst):
    result = analyst.sql("SELECT email, country FROM hr.people")
    page = result._repr_html_()
    assert "role <code>analyst</code>" in page and "🔒 masked: <code>email</code>" in page
    assert repr(result).endswith("from hr.people; role analyst, masked: email")
