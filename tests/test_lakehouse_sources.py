"""Delta and Iceberg sources on real tables with a history (tests/support/lakehouse.py).

Each table holds four versions of orders appended a day at a time, partitioned
by region; what a version should hold is computed from the frames written.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlglot import parse_one
from support.lakehouse import write_delta_history, write_iceberg_history

from meshlab.catalog.contract import Column, Dataset, Server
from meshlab.errors import SourceError, TimeTravelError
from meshlab.sources.base import ScanSpec, ScanStats
from meshlab.sources.delta import DeltaSource
from meshlab.sources.iceberg import IcebergSource, metadata_number
from meshlab.sources.lakehouse import LakehouseSource

COLUMNS = (
    Column("id", "integer"),
    Column("region", "string"),
    Column("day", "date"),  # stored as text: the scan casts it to the contract's type
    Column("amount", "number"),  # stored as integers: a number already, not cast
)
DAYS = [
    pl.DataFrame(
        {
            "id": list(range(day * 100, day * 100 + 100)),
            "region": ["eu", "us"] * 50,
            "day": [f"2024-01-0{day + 1}"] * 100,
            "amount": list(range(100)),
        }
    )
    for day in range(4)
]


def dataset(server: Server) -> Dataset:
    return Dataset(
        domain="sales",
        name="orders",
        product="shop",
        title="Orders",
        description="",
        owner=None,
        status="active",
        tags=(),
        columns=COLUMNS,
        server=server,
        physical_name="orders",
        contract_path="sales/orders.odcs.yaml",
        address="sales.orders",
    )


def read(source: LakehouseSource, where: str | None = None, columns=("id", "region", "day", "amount")) -> pl.DataFrame:
    """The scan as the engine runs it: the source's frame, the predicate re-checked above it."""
    predicates = (parse_one(where),) if where else ()
    frame = source.scan(ScanSpec("__scan0", source.dataset, columns, predicates), ScanStats())
    if where:
        frame = frame.filter(pl.sql_expr(where))
    return frame.collect().sort("id")


def expected(upto: int) -> pl.DataFrame:
    """The rows of the first ``upto`` days, typed as the contract says."""
    frame = pl.concat(DAYS[:upto])
    return frame.with_columns(pl.col("day").str.to_date()).sort("id")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    write_delta_history(root / "orders_delta", DAYS, partition_by=["region"])
    write_iceberg_history(
        root / "warehouse", f"sqlite:///{root}/catalog.db", "shop.orders", DAYS, partition_by=["region"]
    )
    return root


def delta_source(lake: Path) -> DeltaSource:
    return DeltaSource(dataset(Server(name="lake", type="local", format="delta", path=str(lake / "orders_delta"))))


def iceberg_by_folder(lake: Path) -> IcebergSource:
    path = str(lake / "warehouse" / "shop" / "orders")
    return IcebergSource(dataset(Server(name="lake", type="local", format="iceberg", path=path)))


def iceberg_by_catalog(lake: Path, table: str = "shop.orders", catalog: str = "sqlite:///${LAKE_DIR}/catalog.db"):
    properties = (("catalog", catalog), ("table", table), ("warehouse", (lake / "warehouse").as_uri()))
    return IcebergSource(dataset(Server(name="lake", type="local", format="iceberg", properties=properties)))


SOURCES = {"delta": delta_source, "iceberg-folder": iceberg_by_folder, "iceberg-catalog": iceberg_by_catalog}


@pytest.fixture(params=list(SOURCES))
def source(request, lake, monkeypatch) -> LakehouseSource:
    monkeypatch.setenv("LAKE_DIR", str(lake))
    return SOURCES[request.param](lake)


# -- the latest version and time travel ---------------------------------------------------------
def test_latest_version_holds_every_write(source):
    assert read(source).equals(expected(4))
    assert source.estimate_rows() == 400


def test_history_lists_each_write_oldest_first(source):
    history = source.history()
    assert len(history) == 4
    assert [v.timestamp for v in history] == sorted(v.timestamp for v in history)
    assert {v.operation.lower() for v in history} <= {"write", "append"}
    assert source.resolved_version() == history[-1].version


def test_a_version_reads_the_table_as_it_was(source):
    second = source.history()[1]
    old = source.at(version=second.version)
    assert read(old).equals(expected(2))
    assert old.estimate_rows() == 200
    assert f"at {source.version_word} {second.version} (pinned)" in old.describe(ScanSpec("s", source.dataset, ("id",)))
    assert read(source).equals(expected(4)), "at() returns a copy: the source still reads the latest"


def test_a_timestamp_reads_the_version_current_then(source):
    history = source.history()
    assert read(source.at(timestamp=history[2].timestamp)).equals(expected(3))
    between = history[0].timestamp + (history[1].timestamp - history[0].timestamp) / 2
    assert read(source.at(timestamp=between)).equals(expected(1))
    naive = history[1].timestamp.replace(tzinfo=None)  # taken as UTC
    assert source.at(timestamp=naive).resolved_version() == history[1].version


def test_an_unknown_version_names_the_versions_that_exist(source):
    with pytest.raises(TimeTravelError) as caught:
        source.at(version=9)
    message = str(caught.value)
    assert message.startswith("dataset 'sales.orders' on server 'lake': ")
    assert f"has no {source.version_word} 9" in message
    assert ", ".join(str(v.version) for v in source.history()) in message


def test_a_time_before_the_first_commit_is_refused(source):
    first = source.history()[0].timestamp
    with pytest.raises(TimeTravelError, match="was committed by .*; the first was committed at"):
        source.at(timestamp=first - timedelta(days=1))


# -- pruning ------------------------------------------------------------------------------------
def test_a_partition_filter_opens_only_its_partition_files(source, lake):
    spec = ScanSpec("s", source.dataset, ("id", "amount"), (parse_one("orders.region = 'eu'"),))
    pruning = source.pruning(spec)
    assert (pruning.total, pruning.opened) == (8, 4)  # 4 writes x 2 regions; the eu files
    assert "files: 4 of 8 opened after pruning by \"region\" = 'eu'" in source.describe(spec)
    assert read(source, "region = 'eu'").equals(expected(4).filter(pl.col("region") == "eu"))


def test_file_statistics_prune_a_range_of_ids(source):
    spec = ScanSpec("s", source.dataset, ("id",), (parse_one("orders.region = 'us' AND orders.id >= 250"),))
    assert (source.pruning(spec).total, source.pruning(spec).opened) == (8, 2)  # days 3 and 4, region us
    assert read(source, "region = 'us' AND id >= 250").equals(
        expected(4).filter((pl.col("region") == "us") & (pl.col("id") >= 250))
    )


def test_a_predicate_the_statistics_cannot_use_prunes_nothing(source):
    spec = ScanSpec("s", source.dataset, ("id",), (parse_one("orders.id + 1 = 5"),))
    pruning = source.pruning(spec)
    assert pruning.opened == pruning.total == 8 or pruning.used == ()
    stats = ScanStats()
    source.scan(spec, stats)
    assert "files:" in stats.sent[0]


def test_a_pinned_version_prunes_its_own_files(source):
    old = source.at(version=source.history()[0].version)
    pruning = old.pruning(ScanSpec("s", old.dataset, ("id",), (parse_one("orders.region = 'eu'"),)))
    assert (pruning.total, pruning.opened) == (2, 1)


# -- types --------------------------------------------------------------------------------------
def test_columns_are_cast_to_the_contract(source):
    assert source.physical_schema()["day"] == pl.String
    frame = read(source)
    assert frame.schema == pl.Schema({"id": pl.Int64, "region": pl.String, "day": pl.Date, "amount": pl.Int64}), (
        "as the contract types them"
    )


def test_bytes_of_columns_come_from_the_table_metadata(source):
    one, two = source.bytes_for(("id",)), source.bytes_for(("id", "amount"))
    assert one is not None and two is not None and 0 < one < two


# -- a source that is not there -----------------------------------------------------------------
def test_a_missing_delta_table_names_dataset_and_server(tmp_path):
    source = DeltaSource(dataset(Server(name="lake", type="local", format="delta", path=str(tmp_path / "gone"))))
    with pytest.raises(SourceError, match="^dataset 'sales.orders' on server 'lake': .*does not exist"):
        source.check()
    with pytest.raises(SourceError, match="^dataset 'sales.orders' on server 'lake': cannot open Delta table"):
        read(source)


def test_a_folder_without_a_delta_log_is_not_a_delta_table(tmp_path):
    DAYS[0].write_parquet(tmp_path / "part.parquet")
    source = DeltaSource(dataset(Server(name="lake", type="local", format="delta", path=str(tmp_path))))
    with pytest.raises(SourceError, match="has no _delta_log: it is not a Delta table"):
        source.check()


def test_a_missing_iceberg_metadata_file_names_it(lake):
    path = str(lake / "warehouse" / "shop" / "orders" / "metadata" / "v99.metadata.json")
    source = IcebergSource(dataset(Server(name="lake", type="local", format="iceberg", path=path)))
    with pytest.raises(SourceError, match=f"^dataset 'sales.orders' on server 'lake': .*{path} does not exist"):
        source.check()


def test_an_iceberg_metadata_file_pins_the_table_as_it_wrote_it(lake):
    folder = lake / "warehouse" / "shop" / "orders" / "metadata"
    files = sorted(folder.glob("*.metadata.json"), key=lambda p: metadata_number(str(p)))
    newest = IcebergSource(dataset(Server(name="lake", type="local", format="iceberg", path=str(files[-1]))))
    assert read(newest).equals(expected(4))
    # each append writes one metadata file, after the two of create_table and the partition spec
    second = IcebergSource(dataset(Server(name="lake", type="local", format="iceberg", path=str(files[-3]))))
    assert read(second).equals(expected(2))


def test_an_unreachable_iceberg_catalog_is_named(lake, monkeypatch):
    monkeypatch.setenv("LAKE_DIR", str(lake / "elsewhere"))
    source = iceberg_by_catalog(lake)
    with pytest.raises(SourceError, match="catalog database .*elsewhere/catalog.db does not exist"):
        source.check()
    assert not (lake / "elsewhere").exists(), "a missing catalog is never created"
    monkeypatch.delenv("LAKE_DIR")
    with pytest.raises(SourceError, match="environment variable LAKE_DIR .* is not set"):
        iceberg_by_catalog(lake).check()


def test_an_unknown_iceberg_table_lists_the_namespace(lake, monkeypatch):
    monkeypatch.setenv("LAKE_DIR", str(lake))
    with pytest.raises(SourceError, match=r"catalog has no table shop.returns \(tables in shop: shop.orders\)"):
        iceberg_by_catalog(lake, table="shop.returns").check()


def test_a_password_in_the_catalog_uri_is_not_shown(lake):
    source = iceberg_by_catalog(lake, catalog="postgresql+psycopg://reader:s3cret@db.example/lake")
    assert "s3cret" not in source.location()
    assert "reader:***@db.example" in source.location()


def test_overwrites_keep_the_old_rows_readable(tmp_path):
    written = write_delta_history(tmp_path / "t", DAYS[:3], mode="overwrite")
    source = DeltaSource(dataset(Server(name="lake", type="local", format="delta", path=str(tmp_path / "t"))))
    assert read(source).equals(expected(3).filter(pl.col("id") >= 200))
    assert read(source.at(version=written[0].version)).equals(expected(1))
    assert [v.version for v in source.history()] == [0, 1, 2]


def test_a_new_commit_is_read_by_the_next_scan(tmp_path):
    write_delta_history(tmp_path / "t", DAYS[:1])
    source = DeltaSource(dataset(Server(name="lake", type="local", format="delta", path=str(tmp_path / "t"))))
    assert read(source).height == 100
    DAYS[1].write_delta(str(tmp_path / "t"), mode="append")
    assert read(source).height == 200
    assert os.path.isdir(tmp_path / "t" / "_delta_log")
