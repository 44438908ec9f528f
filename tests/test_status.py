"""The status store and where check outcomes show: mesh.status, Result.warnings, the result
banner, the catalog (CLI) and the catalog widget."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest
import yaml
from trust_fixtures import build_trust_mesh, write_yaml

import meshlab
from meshlab.jupyter.widgets import CatalogWidget, tree_options
from meshlab.quality.status import StatusStore, default_path
from meshlab.rendering import CHECKED_PATTERN

FRESH = "2026-10-14T12:00:00Z"  # orders' newest created_at is 2026-10-14 21:19 ... as_of after it
STALE = "2026-10-20T00:00:00Z"


@pytest.fixture
def mesh_path(tmp_path):
    return build_trust_mesh(tmp_path)


def test_results_are_kept_beside_the_mesh(mesh_path):
    mesh = meshlab.connect(str(mesh_path))
    assert mesh.status_path == str(mesh_path.parent / ".meshlab" / "status.sqlite")
    assert mesh.status("shop.orders") is None and mesh.status() == {}
    report = mesh.check(as_of=STALE)
    assert os.path.isfile(mesh.status_path) and report.store_error is None
    status = mesh.status("SHOP.Orders")  # addresses are case-insensitive
    mine = [r for r in report if r.dataset == "shop.orders"]
    assert (status.passed, status.failed, status.errors, status.skipped) == tuple(
        sum(r.status == s for r in mine) for s in ("passed", "failed", "error", "skipped")
    )
    assert status.status == "failed" and status.checked_at == report.checked_at
    assert status.as_of.isoformat() == "2026-10-20T00:00:00+00:00"
    assert status.stale and status.freshness.max_age == "1 d" and status.freshness.newest == "2026-10-14T21:19:00"
    assert {p.check for p in status.problems} >= {"latency:created_at", "required:customer_id"}
    assert set(mesh.status()) == {"shop.orders", "crm.customers"}


def test_the_latest_run_wins_and_history_is_kept(mesh_path):
    mesh = meshlab.connect(str(mesh_path))
    mesh.check(["shop.orders"], as_of=STALE)
    mesh.check(["shop.orders"], as_of=FRESH)
    assert not mesh.status("shop.orders").stale
    history = StatusStore(mesh.status_path).history("shop.orders", limit=500)
    latencies = [r.status for r in history if r.check == "latency:created_at"]
    assert latencies == ["passed", "failed"]  # newest run first
    with sqlite3.connect(mesh.status_path) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (2,)


def test_the_store_path_can_be_configured(mesh_path):
    manifest = yaml.safe_load(mesh_path.read_text())
    manifest["status"] = "state/checks.sqlite"
    write_yaml(mesh_path, manifest)
    mesh = meshlab.connect(str(mesh_path))
    assert mesh.status_path == str(mesh_path.parent / "state" / "checks.sqlite")
    mesh.check(["crm.customers"])
    assert os.path.isfile(mesh_path.parent / "state" / "checks.sqlite")
    assert default_path("s3://team/mesh.yaml").startswith(os.path.expanduser("~/.cache/meshlab/status/"))
    assert default_path(str(mesh_path.parent / "domains" / "crm")) == str(
        mesh_path.parent / "domains" / "crm" / ".meshlab" / "status.sqlite"
    )


def test_a_store_that_cannot_be_written_does_not_fail_the_checks(mesh_path):
    manifest = yaml.safe_load(mesh_path.read_text())
    manifest["status"] = "mesh.yaml/status.sqlite"  # under a file: cannot be created
    write_yaml(mesh_path, manifest)
    mesh = meshlab.connect(str(mesh_path))
    report = mesh.check(["crm.customers"])
    assert report.results and "results not stored in" in report.store_error
    out = subprocess.run([sys.executable, "-m", "meshlab.cli", "check", str(mesh_path), "crm.customers"],
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 1 and "warning: results not stored in" in out.stderr


def test_a_broken_store_reads_as_never_checked(mesh_path):
    mesh = meshlab.connect(str(mesh_path))
    os.makedirs(os.path.dirname(mesh.status_path))
    with open(mesh.status_path, "wb") as handle:
        handle.write(b"not a database" * 100)
    assert mesh.status("shop.orders") is None
    result = mesh.sql("SELECT count(*) AS n FROM shop.orders")
    assert result.df["n"][0] == 20_000 and result.warnings == []


def test_query_results_warn_about_stale_and_failing_datasets(mesh_path):
    mesh = meshlab.connect(str(mesh_path))
    assert mesh.sql("SELECT count(*) FROM shop.orders").warnings == []
    mesh.check(as_of=STALE)
    result = mesh.sql("SELECT o.status, count(*) AS n FROM shop.orders o GROUP BY 1")
    assert len(result.df) == 5  # the rows still come back
    stale, failing = result.warnings
    assert stale.startswith("shop.orders fails its freshness SLA (at most 1 d old): newest value 2026-10-14T21:19:00")
    assert failing.startswith("shop.orders failed ") and "required:customer_id" in failing
    assert result.checks["shop.orders"].stale
    page = result._repr_html_()
    assert 'class="meshlab-warnings"' in page and "⚠ shop.orders fails its freshness SLA" in page
    assert re.search(
        r"last check <span[^>]*>✗ \d+ of \d+ checks failed</span> · ⚠ stale: newest 2026-10-14T21:19:00", page
    )
    assert re.search(CHECKED_PATTERN, page)
    text = repr(result)
    assert "warning: shop.orders fails its freshness SLA" in text and text.splitlines()[-1].startswith("5 rows")


def test_deprecated_datasets_warn_without_any_check(mesh_path):
    contract_path = mesh_path.parent / "domains" / "crm" / "customers.odcs.yaml"
    contract = yaml.safe_load(contract_path.read_text())
    contract["status"] = "deprecated"
    write_yaml(contract_path, contract)
    result = meshlab.connect(str(mesh_path)).sql("SELECT count(*) FROM crm.customers")
    assert result.warnings == ["crm.customers is deprecated: plan to move off it"]


def test_catalog_cli_shows_last_check_and_freshness(mesh_path):
    meshlab.connect(str(mesh_path)).check(as_of=STALE)
    out = subprocess.run([sys.executable, "-m", "meshlab.cli", "catalog", str(mesh_path), "--format", "json"],
                         capture_output=True, text=True)  # fmt: skip
    rows = {d["address"]: d for d in json.loads(out.stdout)["datasets"]}
    last = rows["shop.orders"]["last_check"]
    assert last["status"] == "failed" and last["freshness"]["status"] == "failed"
    assert last["checked_at"].startswith("20") and last["failed"] >= 2
    table = subprocess.run([sys.executable, "-m", "meshlab.cli", "catalog", str(mesh_path)],
                           capture_output=True, text=True).stdout  # fmt: skip
    assert "last_check" in table and "STALE" in table


def test_widget_flags_datasets_and_shows_the_last_check(mesh_path):
    mesh = meshlab.connect(str(mesh_path))
    mesh.check(as_of=STALE)
    labels = [label for label, _ in tree_options(mesh.datasets(), mesh.status())]
    orders = next(label for label in labels if "orders" in label)
    assert "⚠ stale" in orders and "✗ checks" in orders
    widget = CatalogWidget(mesh)
    assert "did not pass the last check" in widget.children[0].value
    widget.tree.value = ("dataset", "shop.orders")
    assert "Last check:" in widget.detail.value and "latency:created_at" in widget.detail.value


def test_the_sidebar_api_carries_the_last_check(mesh_path):
    from meshlab.jupyter.server import catalog_api

    mesh = meshlab.connect(str(mesh_path))
    listed, _ = catalog_api.search_datasets(mesh, "")
    assert {d["address"]: d["last_check"] for d in listed} == {"crm.customers": None, "shop.orders": None}
    mesh.check(as_of=STALE)
    listed, _ = catalog_api.search_datasets(mesh, "orders")
    orders = next(d for d in listed if d["address"] == "shop.orders")
    assert orders["last_check"]["status"] == "failed" and orders["last_check"]["freshness"]["status"] == "failed"
    detail = catalog_api.dataset_detail(mesh.dataset("shop.orders"), catalog_api.last_check(mesh, "shop.orders"))
    assert detail["last_check"] == orders["last_check"]
    json.dumps(detail)  # JSON-able, as the route sends it
