"""ODCS checks on real data with injected faults: parquet, SQLite and PostgreSQL.

Every expected count is computed independently by DuckDB over the same
frames the sources were written from; pushdown is asserted on what the
PostgreSQL server logged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

import duckdb
import polars as pl
import pytest
import yaml
from support.contracts import column, local_files
from support.contracts import contract as build_contract
from support.postgres_server import user_env
from trust_fixtures import (
    CUSTOMERS,
    EMAIL_PATTERN,
    ORDERS,
    PG_USER_ENV,
    SKU_PATTERN,
    STATUSES,
    build_trust_mesh,
    customers_frame,
    orders_frame,
    payments_frame,
    write_yaml,
)

import meshlab
from meshlab.quality.rules import Threshold

AS_OF = "2026-10-15T06:00:00Z"


@pytest.fixture(scope="module")
def pg_env(postgres_server):
    with user_env(PG_USER_ENV, postgres_server.user):
        yield postgres_server


@pytest.fixture(scope="module")
def trust_path(tmp_path_factory, pg_env):
    return build_trust_mesh(tmp_path_factory.mktemp("trust"), pg_env)


@pytest.fixture(scope="module")
def mesh(trust_path):
    return meshlab.connect(str(trust_path))


@pytest.fixture(scope="module")
def report(mesh):
    return mesh.check(as_of=AS_OF, store=False)


@pytest.fixture(scope="module")
def oracle():
    con = duckdb.connect()
    con.register("orders", orders_frame().to_arrow())
    con.register("customers", customers_frame().to_arrow())
    con.register("payments", payments_frame().to_arrow())
    return lambda sql: con.execute(sql).fetchone()[0]


def observed(report, dataset: str, check: str):
    result = report.result(dataset, check)
    assert result.status in ("passed", "failed"), f"{dataset} {check}: {result.status}: {result.message}"
    return result.observed


def in_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


# --- agreement with DuckDB ---------------------------------------------------------------


def test_parquet_counts_agree_with_duckdb(report, oracle):
    expected = {
        "required:customer_id": oracle("SELECT count(*) - count(customer_id) FROM orders"),
        "primaryKey:(order_id)": oracle("SELECT count(order_id) - count(DISTINCT order_id) FROM orders"),
        "unique:sku": oracle("SELECT count(sku) - count(DISTINCT sku) FROM orders"),
        "invalidValues:status": oracle(
            f"SELECT count(*) FROM orders WHERE status IS NOT NULL AND status NOT IN ({in_list(STATUSES)})"
        ),
        "invalidValues:sku": oracle(
            f"SELECT count(*) FROM orders WHERE sku IS NOT NULL AND NOT regexp_matches(sku, '{SKU_PATTERN}')"
        ),
        "missingValues:coupon#2": oracle("SELECT count(*) FROM orders WHERE coupon IS NULL OR coupon IN ('', 'N/A')"),
        "nullValues:amount": oracle("SELECT count(*) - count(amount) FROM orders"),
        "rowCount": oracle("SELECT count(*) FROM orders"),
        "duplicateValues:(order_id, sku)": oracle(
            "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT order_id, sku FROM orders)) FROM orders"
        ),
    }
    for check, value in expected.items():
        assert observed(report, "shop.orders", check) == value, check
    assert expected["required:customer_id"] > 0 and expected["invalidValues:sku"] == 10
    assert report.result("shop.orders", "primaryKey:(order_id)").status == "failed"
    assert report.result("shop.orders", "rowCount").status == "passed"


def test_percent_rules_divide_by_the_row_count(report, oracle):
    nulls = oracle("SELECT count(*) - count(customer_id) FROM orders")
    share = observed(report, "shop.orders", "nullValues:customer_id")
    assert share == pytest.approx(100 * nulls / ORDERS)
    assert report.result("shop.orders", "nullValues:customer_id").status == "passed"  # < 1 %
    missing = oracle("SELECT count(*) FROM orders WHERE coupon IS NULL OR coupon IN ('', 'N/A')")
    assert observed(report, "shop.orders", "missingValues:coupon") == pytest.approx(100 * missing / ORDERS)
    assert report.result("shop.orders", "missingValues:coupon").status == "passed"  # <= 50 %
    assert report.result("shop.orders", "missingValues:coupon#2").status == "failed"  # < 100 rows


def test_sqlite_counts_agree_with_duckdb(report, oracle):
    checks = {
        "primaryKey:(customer_id)": "SELECT count(customer_id) - count(DISTINCT customer_id) FROM customers",
        "required:name": "SELECT count(*) - count(name) FROM customers",
        "unique:email": "SELECT count(email) - count(DISTINCT email) FROM customers",
        "invalidValues:email": f"SELECT count(*) FROM customers WHERE NOT regexp_matches(email, '{EMAIL_PATTERN}')",
        "invalidValues:country": "SELECT count(*) FROM customers WHERE country NOT IN ('DE', 'SE', 'FR')",
        "rowCount": "SELECT count(*) FROM customers",
    }
    for check, sql in checks.items():
        assert observed(report, "crm.customers", check) == oracle(sql), check
    assert observed(report, "crm.customers", "rowCount") == CUSTOMERS + 1


def test_postgres_counts_agree_with_duckdb(report, oracle):
    checks = {
        "primaryKey:(payment_id)": "SELECT count(payment_id) - count(DISTINCT payment_id) FROM payments",
        "invalidValues:method": "SELECT count(*) FROM payments WHERE method NOT IN ('card', 'transfer')",
        "nullValues:amount#2": "SELECT count(*) - count(amount) FROM payments",
        "rowCount": "SELECT count(*) FROM payments",
    }
    for check, sql in checks.items():
        assert observed(report, "billing.payments", check) == oracle(sql), check
    nulls = oracle("SELECT count(*) - count(amount) FROM payments")
    assert observed(report, "billing.payments", "nullValues:amount") == pytest.approx(100 * nulls / 5000)
    assert report.result("billing.payments", "nullValues:amount").status == "failed"  # 2 % is not < 1 %


def test_relationships_across_domains_agree_with_duckdb(report, oracle):
    orphans = oracle(
        "SELECT count(*) FROM orders o LEFT JOIN (SELECT DISTINCT customer_id FROM customers) c "
        "USING (customer_id) WHERE o.customer_id IS NOT NULL AND c.customer_id IS NULL"
    )
    result = report.result("shop.orders", "foreignKey:customer_id->crm.customers.customer_id")
    assert (result.status, result.observed) == ("failed", orphans) and orphans > 0
    assert {row["customer_id"] for row in result.failing_rows} == {9999}
    unpaid = oracle(
        "SELECT count(*) FROM payments p WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = p.order_id)"
    )
    result = report.result("billing.payments", "foreignKey:order_id->shop.orders.order_id")
    assert (result.status, result.observed) == ("failed", unpaid)  # PostgreSQL -> parquet, another domain


# --- pushdown and batching --------------------------------------------------------------------


def test_postgres_metrics_run_in_postgres_in_one_statement(mesh, pg_log):
    mesh.check(["billing.payments"], as_of=AS_OF, failing_rows=0, store=False)
    statements = [s for s in pg_log() if "payments" in s]
    aggregates = [s for s in statements if "COUNT(" in s.upper()]
    batch = [s for s in aggregates if 'COUNT(*) - COUNT("amount")' in s]
    assert len(batch) == 1, aggregates
    for fragment in ('COUNT(DISTINCT "payment_id")', "'card'", "COUNT(*) AS"):
        assert fragment in batch[0]
    # No statement fetched the amount column itself: the null count ran in PostgreSQL.
    assert not [s for s in statements if re.search(r'SELECT\s+"amount"', s)], statements


def test_failing_rows_of_postgres_are_filtered_in_postgres(mesh, pg_log):
    report = mesh.check(["billing.payments"], as_of=AS_OF, failing_rows=3, store=False)
    rows = report.result("billing.payments", "invalidValues:method").failing_rows
    assert len(rows) == 3 and {r["method"] for r in rows} == {"cheque"}
    sent = [s for s in pg_log() if "cheque" not in s and "NOT" in s.upper() and "IN ('card', 'transfer')" in s]
    assert any("LIMIT 3" in s for s in sent), sent


def test_parquet_is_scanned_once_for_every_count(report):
    scans = report.sent["shop.orders"]
    columns = [scan.splitlines()[1].removeprefix("columns: ").split(", ") for scan in scans]
    assert columns[0] == ["order_id", "customer_id", "status", "sku", "coupon", "amount", "created_at"]
    # Keys that do not come sorted (duplicates were injected at the end) are counted exactly in a
    # second pass over those key columns only.
    assert len(scans) == 2 and columns[1] == ["order_id", "sku"], scans


def test_sorted_keys_need_no_second_pass(tmp_path):
    clean = orders_frame().filter(pl.col("order_id").is_unique() & pl.col("sku").is_unique()).sort("order_id")
    clean.write_parquet(tmp_path / "o.parquet")
    contract = build_contract(None, "orders", [
        column("order_id", "integer", primaryKey=True),
        column("sku", "string", unique=True),
        column("customer_id", "integer"),
    ], local_files("o.parquet", server="s"), id="sorted", version="1",
        quality=[{"metric": "duplicateValues", "arguments": {"properties": ["customer_id", "sku"]}, "mustBe": 0}],
    )  # fmt: skip
    report = meshlab.connect(str(write_yaml(tmp_path / "o.odcs.yaml", contract))).check(store=False)
    (scans,) = report.sent.values()
    assert report.ok and len(scans) == 1, scans


def test_sqlite_pattern_rules_run_locally_and_the_rest_in_sqlite(report):
    sent = report.sent["crm.customers"]
    aggregate = next(s for s in sent if s.startswith("SELECT") and "COUNT(" in s)
    assert "COUNT(*) - COUNT(`name`)" in aggregate and "REGEXP" not in aggregate.upper()
    assert any("email" in s and not s.startswith("SELECT COUNT") for s in sent)  # the email scan for the pattern


# --- failing rows ---------------------------------------------------------------------------


def test_failing_rows_are_offending_rows(report):
    nulls = report.result("shop.orders", "required:customer_id").failing_rows
    assert 0 < len(nulls) <= 10 and all(r["customer_id"] is None for r in nulls)
    assert set(nulls[0]) == {"order_id", "customer_id", "status", "sku", "coupon", "amount", "created_at"}
    bad = report.result("shop.orders", "invalidValues:sku").failing_rows
    assert {r["sku"] for r in bad} == {"sku_x"}
    dupes = report.result("shop.orders", "primaryKey:(order_id)").failing_rows
    assert [r["order_id"] for r in dupes] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # grouped by key
    assert report.result("shop.orders", "rowCount").failing_rows == ()


# --- freshness -------------------------------------------------------------------------------


def test_freshness_against_as_of(mesh):
    newest = dt.datetime(2026, 10, 1) + dt.timedelta(minutes=ORDERS - 1)
    fresh = mesh.check(["shop.orders"], as_of=newest + dt.timedelta(hours=23), store=False)
    stale = mesh.check(["shop.orders"], as_of=newest + dt.timedelta(hours=25), store=False)
    assert fresh.result("shop.orders", "latency:created_at").status == "passed"
    late = stale.result("shop.orders", "latency:created_at")
    assert late.status == "failed" and late.observed["newest"] == newest.isoformat()
    assert late.observed["age"] == "1 d 1 h" and "more than 1 d" in late.message


def test_a_date_is_fresh_until_the_end_of_its_day(mesh):
    newest = dt.date(2026, 1, 1) + dt.timedelta(days=279)
    end_of_day = dt.datetime.combine(newest + dt.timedelta(days=1), dt.time())
    ok = mesh.check(["crm.customers"], as_of=end_of_day + dt.timedelta(days=30), store=False)
    late = mesh.check(["crm.customers"], as_of=end_of_day + dt.timedelta(days=30, seconds=1), store=False)
    assert ok.result("crm.customers", "latency:signup_date").status == "passed"
    assert late.result("crm.customers", "latency:signup_date").status == "failed"


# --- sql, text and custom rules -------------------------------------------------------------


def test_sql_rules_run_through_the_mesh(report, oracle):
    big = report.result("shop.orders", "big_orders")
    assert (big.status, big.observed) == ("passed", oracle("SELECT count(*) FROM orders WHERE amount > 240"))
    assert report.result("shop.orders", "no_negative_amounts").status == "passed"


def test_text_and_custom_rules_are_skipped_with_a_reason(report):
    skipped = {r.check: r.message for r in report.with_status("skipped")}
    assert "a text rule is for people to read" in skipped["text[4]"]
    assert "engine 'soda'" in skipped["custom[5]"]


# --- broken rules and sources ---------------------------------------------------------------


def test_malformed_rules_are_errors_naming_file_line_and_rule(tmp_path):
    path = build_trust_mesh(tmp_path)
    contract_path = tmp_path / "domains" / "shop" / "orders.odcs.yaml"
    contract = yaml.safe_load(contract_path.read_text())
    contract["schema"][0]["quality"] += [
        {"metric": "nulValues", "mustBe": 0},
        {"metric": "rowCount", "mustBeAbout": 5},
        {
            "type": "sql",
            "name": "broken_sql",
            "query": "SELECT count(*) FROM {object} WHERE no_such_column > 0",
            "mustBe": 0,
        },
        {"type": "sql", "name": "two_values", "query": "SELECT 1, 2", "mustBe": 0},
        {"metric": "invalidValues", "arguments": {"pattern": "(unclosed"}, "mustBe": 0},
        {
            "type": "sql",
            "name": "null_answer",
            "query": "SELECT max(amount) FROM {object} WHERE amount < 0",
            "mustBe": 0,
        },
    ]
    write_yaml(contract_path, contract)
    text = contract_path.read_text().splitlines()
    report = meshlab.connect(str(path)).check(["shop.orders"], as_of=AS_OF, store=False)
    errors = {r.check: r for r in report.errors}
    assert "unknown metric 'nulValues'" in errors["nulValues"].message
    assert "unknown operator 'mustBeAbout'" in errors["rowCount#2"].message
    assert "no_such_column" in errors["broken_sql"].message
    assert "one value" in errors["two_values"].message
    assert "invalidValues needs a column" in errors["invalidValues"].message
    for result in errors.values():
        assert result.message.startswith("domains/shop/orders.odcs.yaml:"), result.message
        line = int(result.rule.split(":")[1].split()[0])
        assert text[line - 1].lstrip().startswith("- "), (result.rule, text[line - 1])
    assert errors["nulValues"].rule.endswith("schema[0].quality[6]")
    null = report.result("shop.orders", "null_answer")
    assert (null.status, null.observed) == ("failed", None) and "returned NULL" in null.message
    json.dumps(report.to_dicts(), allow_nan=False)  # strict JSON
    # Everything else still ran and agrees with the full run.
    assert report.result("shop.orders", "unique:sku").observed == 9
    assert report.result("shop.orders", "rowCount").status == "passed"


def test_unreachable_sources_give_errors_and_the_rest_runs(tmp_path):
    path = build_trust_mesh(tmp_path)
    gone = yaml.safe_load((tmp_path / "domains" / "shop" / "orders.odcs.yaml").read_text())
    gone["id"], gone["schema"][0]["name"] = "gone", "archive"
    gone["servers"][0]["path"] = "../../data/nowhere/*.parquet"
    gone["slaProperties"] = []
    write_yaml(tmp_path / "domains" / "shop" / "archive.odcs.yaml", gone)
    down = yaml.safe_load((tmp_path / "domains" / "crm" / "customers.odcs.yaml").read_text())
    down["id"], down["schema"][0]["name"] = "down", "leads"
    down["servers"] = [{"server": "down-db", "type": "postgres", "host": "127.0.0.1", "port": 9, "database": "x"}]
    down["slaProperties"] = []
    write_yaml(tmp_path / "domains" / "crm" / "leads.odcs.yaml", down)
    report = meshlab.connect(str(path)).check(as_of=AS_OF, store=False)
    for address, server in (("shop.archive", "lake"), ("crm.leads", "down-db")):
        mine = [r for r in report if r.dataset == address]
        assert mine and all(r.status in ("error", "skipped") for r in mine), mine
        assert f"dataset '{address}' on server '{server}'" in mine[0].message
    assert report.result("shop.orders", "rowCount").status == "passed"
    assert report.result("crm.customers", "rowCount").status == "passed"


def test_a_rule_on_a_column_missing_from_the_source_is_an_error(tmp_path):
    path = build_trust_mesh(tmp_path)
    contract_path = tmp_path / "domains" / "shop" / "orders.odcs.yaml"
    contract = yaml.safe_load(contract_path.read_text())
    contract["schema"][0]["properties"].append(
        {
            "name": "discount",
            "logicalType": "number",
            "required": True,
            "quality": [{"metric": "nullValues", "mustBe": 0}],
        }
    )
    write_yaml(contract_path, contract)
    report = meshlab.connect(str(path)).check(["shop.orders"], as_of=AS_OF, store=False)
    assert report.result("shop.orders", "columns").status == "failed"
    assert "discount" in report.result("shop.orders", "columns").message
    assert report.result("shop.orders", "nullValues:discount").status == "error"
    assert report.result("shop.orders", "nullValues:amount").status == "passed"


# --- schema types ---------------------------------------------------------------------------


def test_types_are_checked_against_the_stored_schema(report, tmp_path):
    assert report.result("crm.customers", "type:signup_date").status == "passed"  # ISO text in SQLite
    assert report.result("billing.payments", "type:paid_at").observed.startswith("Datetime")
    path = build_trust_mesh(tmp_path)
    contract_path = tmp_path / "domains" / "shop" / "orders.odcs.yaml"
    contract = yaml.safe_load(contract_path.read_text())
    contract["schema"][0]["properties"][3]["logicalType"] = "integer"  # sku holds text
    write_yaml(contract_path, contract)
    typed = meshlab.connect(str(path)).check(["shop.orders"], as_of=AS_OF, store=False)
    wrong = typed.result("shop.orders", "type:sku")
    assert wrong.status == "failed" and "cannot hold integer" in wrong.message


# --- thresholds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operator, value, passes, fails",
    [
        ("mustBe", 0.0, [0], [1]),
        ("mustNotBe", 3.0, [2, 4], [3]),
        ("mustBeGreaterThan", 5.0, [6], [5, 4]),
        ("mustBeGreaterOrEqualTo", 5.0, [5, 6], [4]),
        ("mustBeLessThan", 5.0, [4], [5]),
        ("mustBeLessOrEqualTo", 5.0, [5], [6]),
        ("mustBeBetween", (1.0, 3.0), [1, 2, 3], [0, 4]),
        ("mustNotBeBetween", (1.0, 3.0), [0, 4], [1, 3]),
    ],
)
def test_thresholds(operator, value, passes, fails):
    threshold = Threshold(operator, value)
    assert all(threshold.holds(v) for v in passes) and not any(threshold.holds(v) for v in fails)


# --- front ends -----------------------------------------------------------------------------


def test_cli_json_is_the_spec_list_and_exit_code_is_1(trust_path, tmp_path):
    out = tmp_path / "checks.json"
    done = subprocess.run(
        [sys.executable, "-m", "meshlab.cli", "check", str(trust_path), "shop.orders", "--format", "json",
         "--output", str(out), "--as-of", AS_OF],
        capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    results = json.loads(out.read_text())
    keys = {"dataset", "check", "status", "observed", "expected", "message", "failing_rows"}
    assert all(keys <= set(r) for r in results)
    assert {r["status"] for r in results} <= {"passed", "failed", "error", "skipped"}
    nulls = next(r for r in results if r["check"] == "required:customer_id")
    assert nulls["status"] == "failed" and nulls["failing_rows"][0]["customer_id"] is None


def test_cli_table_lists_what_failed(trust_path):
    done = subprocess.run(
        [sys.executable, "-m", "meshlab.cli", "check", str(trust_path), "crm.customers", "--as-of", "2026-10-10"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "crm.customers:" in done.stdout and "FAILED" in done.stdout and "failing rows" in done.stdout
    assert re.search(r"checks on 1 dataset: \d+ passed, \d+ failed", done.stdout)


def test_cli_exit_code_is_0_when_every_check_passes(tmp_path):
    orders_frame().filter(pl.col("order_id").is_unique()).select("order_id", "amount").write_parquet(
        tmp_path / "o.parquet"
    )
    contract = build_contract(None, "orders", [
        column("order_id", "integer", primaryKey=True),
        column("amount", "number", quality=[{"metric": "nullValues", "mustBe": 0}]),
    ], local_files("o.parquet", server="s"), id="clean", version="1")  # fmt: skip
    path = write_yaml(tmp_path / "clean.odcs.yaml", contract)
    done = subprocess.run([sys.executable, "-m", "meshlab.cli", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 6 checks passed" in done.stdout


# --- duplicates: one cheap pass when keys come sorted, exact counting otherwise -------------------


@pytest.mark.parametrize(
    "values",
    [
        [1, 1, 2, None, 3, 3, 3],  # sorted, with repeats and a null between them
        [3, 1, 2, 1, None, 3],  # unsorted: the exact pass
        ["a", "b", "b", "c"],  # sorted text
        [None, None],
        [],
    ],
)
def test_duplicate_counts_are_exact_sorted_or_not(tmp_path, values):
    text = bool(values) and isinstance(values[0], str)
    keys = pl.Series("k", values, dtype=pl.String if text else pl.Int64)
    pl.DataFrame([keys, pl.Series("j", [i % 2 for i in range(len(values))], dtype=pl.Int64)]).write_parquet(
        tmp_path / "d.parquet"
    )
    contract = build_contract(None, "d", [
        column("k", "string" if text else "integer", quality=[{"metric": "duplicateValues", "mustBe": 0}]),
        column("j", "integer"),
    ], local_files("d.parquet", server="s"), id="d", version="1",
        quality=[{"metric": "duplicateValues", "arguments": {"properties": ["k", "j"]}, "mustBe": 0}],
    )  # fmt: skip
    report = meshlab.connect(str(write_yaml(tmp_path / "d.odcs.yaml", contract))).check(store=False)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW d AS SELECT * FROM read_parquet('{tmp_path / 'd.parquet'}')")
    expected = con.execute("SELECT count(k) - count(DISTINCT k) FROM d").fetchone()[0]
    assert report.result("d.d", "duplicateValues:k").observed == expected
    both = con.execute("SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT k, j FROM d)) FROM d").fetchone()[0]
    assert report.result("d.d", "duplicateValues:(k, j)").observed == both


def test_the_check_magic_returns_the_report(trust_path):
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "meshlab")
    shell.run_line_magic("mesh", f"connect {trust_path}")
    report = shell.run_line_magic("mesh", "check crm.customers")
    assert report.datasets() == ["crm.customers"] and report.failed
    page = report._repr_html_()
    assert "crm.customers" in page and "Failing rows" in page and re.search(r"checked \d{4}-\d\d-\d\d", page)
    assert "crm.customers: " in repr(report)
