"""Meshes on object stores over real protocols: S3 (moto's server on loopback) and HTTP.

The manifest, the contracts and the data all live on the store; the endpoint comes from
``connect(storage=...)``, ``storage:`` in mesh.yaml or ``AWS_ENDPOINT_URL``, and the
credentials from the environment only. Both servers count the bytes they send, so the
tests see that a parquet scan fetches only the row groups and columns it needs.
"""

from __future__ import annotations

import os

import fsspec
import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import TPCH_DOMAINS, assert_same_rows, duckdb_answer, order_by_positions, read_tpch_query
from object_store_servers import CountingHttpServer, CountingS3Server
from support.contracts import columns_of
from support.contracts import contract as build_contract

import meshlab
from meshlab.errors import DescriptorError, SourceError

# The wide table the byte counts are taken on: 16 row groups of 25,000 rows, 8 columns.
EVENT_ROWS, ROW_GROUP = 400_000, 25_000
TPCH_ON_STORE = ("customer", "orders", "lineitem", "nation")


def events_frame() -> pl.DataFrame:
    n = EVENT_ROWS
    return pl.DataFrame(
        {
            "event_id": pl.int_range(0, n, eager=True),
            "user_id": (pl.int_range(0, n, eager=True) * 7919) % 10_007,
            "country": pl.Series(["DE", "SE", "FR", "US", "BR"] * (n // 5)),
            "amount": pl.int_range(0, n, eager=True).cast(pl.Float64) * 0.37,
            "note_a": pl.Series([f"note {i % 9973} of the event stream" for i in range(n)]),
            "note_b": pl.Series([f"payload {i * 31 % 100_003}" for i in range(n)]),
            "score": pl.int_range(0, n, eager=True).cast(pl.Float64).sqrt(),
            "flag": pl.int_range(0, n, eager=True) % 3 == 0,
        }
    )


def row_group_span(meta, group: int) -> tuple[int, int]:
    """First and last byte (exclusive) of row group ``group`` in the file."""
    chunks = [meta.row_group(group).column(c) for c in range(meta.num_columns)]
    starts = [c.dictionary_page_offset if c.has_dictionary_page else c.data_page_offset for c in chunks]
    return min(starts), max(start + c.total_compressed_size for start, c in zip(starts, chunks))


TAIL = 256 * 1024  # Polars prefetches a file's last 256 KiB for the footer; fsspec reads 64 KiB


def data_reads(requests, size: int) -> list[tuple[int, int]]:
    """The byte ranges read, other than footer reads (suffix ranges or tails up to 256 KiB)."""
    found = []
    for request in requests:
        assert request.range, f"a whole-file GET: {request}"
        first, last = request.range.removeprefix("bytes=").split("-")
        if not first or (int(last) + 1 >= size and size - int(first) <= TAIL):
            continue
        found.append((int(first), int(last) + 1))
    return found


def assert_reads_within(requests, meta, groups: list[int], size: int) -> None:
    spans = [row_group_span(meta, g) for g in groups]
    reads = data_reads(requests, size)
    assert reads, "no data was read"
    for start, end in reads:
        assert any(lo <= start and end <= hi for lo, hi in spans), (start, end, spans)


def contract(domain: str, name: str, frame: pl.DataFrame, server: dict) -> dict:
    return build_contract(domain, name, columns_of(frame, physical=False), server)


def write_store(root, data_url: str, tpch_parquet) -> dict[str, pl.DataFrame]:
    """A mesh in folder ``root`` whose contracts point at ``data_url`` (the same tree, uploaded)."""
    frames = {t: pl.read_parquet(tpch_parquet / f"{t}.parquet") for t in TPCH_ON_STORE}
    frames["events"] = events_frame()
    kind = "s3" if data_url.startswith("s3") else "https"
    for table in ("customer", "orders", "nation"):
        (root / "data").mkdir(parents=True, exist_ok=True)
        frames[table].write_parquet(root / "data" / f"{table}.parquet")
    frames["events"].write_parquet(root / "data" / "events.parquet", row_group_size=ROW_GROUP, statistics=True)
    for (year,), part in frames["lineitem"].group_by(pl.col("l_shipdate").dt.year(), maintain_order=True):
        (root / "data" / "lineitem" / f"l_year={year}").mkdir(parents=True)
        part.write_parquet(root / "data" / "lineitem" / f"l_year={year}" / "part-0.parquet")
    lineitem = frames["lineitem"].with_columns(l_year=pl.col("l_shipdate").dt.year().cast(pl.Int64))
    paths = {t: f"{data_url}/{t}.parquet" for t in ("customer", "orders", "nation", "events")}
    # HTTP has no listing for a glob: the S3 mesh reads the partitioned tree, the HTTP one one file.
    paths["lineitem"] = (
        f"{data_url}/lineitem/**/*.parquet" if kind == "s3" else f"{data_url}/lineitem/l_year=1995/part-0.parquet"
    )
    domains = {**TPCH_DOMAINS, "events": "web"}
    for table, path in paths.items():
        schema = lineitem if table == "lineitem" and kind == "s3" else frames[table]
        server = {"server": "store", "type": kind, "format": "parquet", "path": path}
        document = contract(domains[table], table, schema, server)
        target = root / "domains" / domains[table] / f"{table}.odcs.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(document, sort_keys=False))
    used = sorted({domains[t] for t in paths})
    (root / "mesh.yaml").write_text(yaml.safe_dump({"mesh": "store", "domains": {d: f"domains/{d}" for d in used}}))
    return frames


# -- S3 -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3(tmp_path_factory, tpch_parquet):
    """moto's S3 on loopback with bucket ``mesh`` (manifest, contracts) and ``lake`` (data)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "meshlab-test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "meshlab-test-secret")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        server = CountingS3Server()
        endpoint = server.start()
        root = tmp_path_factory.mktemp("s3-mesh")
        frames = write_store(root, "s3://lake", tpch_parquet)
        fs = fsspec.filesystem("s3", endpoint_url=endpoint, skip_instance_cache=True)
        fs.mkdir("mesh")
        fs.mkdir("lake")
        fs.put(str(root / "data") + "/", "lake/", recursive=True)
        fs.put(str(root / "domains"), "mesh/", recursive=True)
        fs.put(str(root / "mesh.yaml"), "mesh/mesh.yaml")
        server.endpoint_fs = fs
        server.frames = frames
        yield server
        server.stop()


@pytest.fixture
def s3_mesh(s3):
    mesh = meshlab.connect("s3://mesh/mesh.yaml", storage={"s3": {"endpoint_url": s3.endpoint}})
    s3.log.clear()
    return mesh


def test_the_catalog_loads_from_s3(s3_mesh):
    assert s3_mesh.errors == []
    assert [d.address for d in s3_mesh.datasets()] == [
        "geo.nation",
        "sales.customer",
        "sales.orders",
        "shipping.lineitem",
        "web.events",
    ]
    assert s3_mesh.dataset("sales.orders").server.path == "s3://lake/orders.parquet"


def test_tpch_q3_over_s3_matches_duckdb(s3_mesh, tpch_mesh):
    sql = read_tpch_query("q03")

    result = s3_mesh.sql(tpch_mesh.to_mesh_sql(sql))

    keys = order_by_positions(sql)
    assert_same_rows(result.df, duckdb_answer(sql, tpch_mesh.parquet_dir), bool(keys), keys)


def test_hive_partitions_on_s3_are_pruned_by_the_folder_name(s3_mesh, s3):
    result = s3_mesh.sql("SELECT sum(l_quantity) AS q FROM shipping.lineitem WHERE l_year = 1995")

    expected = s3.frames["lineitem"].filter(pl.col("l_shipdate").dt.year() == 1995)["l_quantity"].sum()
    assert float(result.df["q"][0]) == pytest.approx(float(expected))
    by_partition: dict[str, list] = {}
    for request in s3.log.gets(".parquet"):
        by_partition.setdefault(request.path.split("/")[3], []).append(request)
    # Polars reads every file's footer while planning (a tail read each: these test files
    # are smaller than its 256 KiB tail, so that is the whole file), and data only from the
    # partition the folder name selects.
    sizes = {p: s3.endpoint_fs.size(f"lake/lineitem/{p}/part-0.parquet") for p in by_partition}
    read_data = {p for p, requests in by_partition.items() if data_reads(requests, sizes[p])}
    assert read_data == {"l_year=1995"}, by_partition


def test_parquet_scans_on_s3_fetch_only_the_needed_row_groups(s3_mesh, s3):
    size = s3.endpoint_fs.size("lake/events.parquet")
    meta = pq.ParquetFile(s3.endpoint_fs.open("lake/events.parquet")).metadata
    s3.log.clear()

    result = s3_mesh.sql("SELECT country, sum(amount) AS total FROM web.events WHERE event_id < 20000 GROUP BY 1")

    assert result.df["total"].sum() == pytest.approx(sum(i * 0.37 for i in range(20_000)))
    requests = s3.log.gets("/lake/events.parquet")
    assert_reads_within(requests, meta, [0], size)  # event_id < 20000: the first row group only
    assert s3.log.sent("/lake/events.parquet") < 0.2 * size, requests


def test_endpoint_from_the_manifests_storage_section(s3, tmp_path):
    # A manifest kept locally, its domains on S3: mesh.yaml's own storage: reaches them.
    manifest = {
        "mesh": "local-manifest",
        "domains": {"geo": "s3://mesh/domains/geo", "sales": "s3://mesh/domains/sales"},
        "storage": {"s3": {"endpoint_url": s3.endpoint, "region": "us-east-1"}},
    }
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(manifest))

    mesh = meshlab.connect(str(tmp_path / "mesh.yaml"))

    assert mesh.errors == []
    assert mesh.sql("SELECT count(*) AS n FROM sales.orders").df["n"][0] == s3.frames["orders"].height


def test_endpoint_from_the_environment(s3, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)

    mesh = meshlab.connect("s3://mesh/mesh.yaml")

    assert mesh.sql("SELECT count(*) AS n FROM geo.nation").df["n"][0] == 25


def test_options_for_a_bucket_take_precedence_over_the_protocols(s3):
    # The protocol's endpoint leads nowhere: only the buckets' own entries make the mesh reachable.
    storage = {
        "s3": {"endpoint_url": "http://127.0.0.1:9"},
        "s3://mesh": {"endpoint_url": s3.endpoint},
        "s3://lake": {"endpoint_url": s3.endpoint},
    }

    mesh = meshlab.connect("s3://mesh/mesh.yaml", storage=storage)

    assert mesh.sql("SELECT count(*) AS n FROM sales.customer").df["n"][0] == s3.frames["customer"].height


def test_a_missing_object_is_a_source_error_naming_dataset_and_server(s3, tmp_path):
    document = contract(
        "web",
        "gone",
        pl.DataFrame({"id": [1]}),
        {"server": "store", "type": "s3", "format": "parquet", "path": "s3://lake/gone/*.parquet"},
    )
    (tmp_path / "gone.odcs.yaml").write_text(yaml.safe_dump(document))
    mesh = meshlab.connect(str(tmp_path / "gone.odcs.yaml"), storage={"s3": {"endpoint_url": s3.endpoint}})

    with pytest.raises(SourceError, match=r"dataset 'web.gone' on server 'store': .*s3://lake/gone/\*.parquet"):
        mesh.sql("SELECT count(*) AS n FROM web.gone")


def test_credentials_never_go_in_mesh_yaml(s3, tmp_path):
    document = {"mesh": "x", "domains": {"a": "s3://mesh/domains/geo"}, "storage": {"s3": {"secret": "hunter2"}}}
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(document))

    with pytest.raises(DescriptorError, match=r"mesh.yaml: storage.s3.secret: credentials never go in mesh.yaml"):
        meshlab.connect(str(tmp_path / "mesh.yaml"))
    with pytest.raises(DescriptorError, match="storage.s3.aws_access_key_id"):
        meshlab.connect("s3://mesh/mesh.yaml", storage={"s3": {"aws_access_key_id": "AKIA"}})


# -- HTTP ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def web(tmp_path_factory, tpch_parquet):
    root = tmp_path_factory.mktemp("http-mesh")
    server = CountingHttpServer(root)
    url = server.start()
    server.frames = write_store(root, f"{url}/data", tpch_parquet)
    server.root = root
    yield server
    server.stop()


def test_a_mesh_served_over_http_loads_and_scans_selectively(web):
    mesh = meshlab.connect(f"{web.url}/mesh.yaml")
    assert mesh.errors == [] and len(mesh.datasets()) == 5
    path = web.root / "data" / "events.parquet"
    web.log.clear()

    result = mesh.sql("SELECT count(*) AS n, max(score) AS top FROM web.events WHERE event_id >= 375000")

    assert result.df.row(0) == (25_000, pytest.approx((EVENT_ROWS - 1) ** 0.5))
    requests = web.log.gets("/data/events.parquet")
    last_group = EVENT_ROWS // ROW_GROUP - 1
    assert_reads_within(requests, pq.ParquetFile(path).metadata, [last_group], os.path.getsize(path))
    assert web.log.sent("/data/events.parquet") < 0.2 * os.path.getsize(path), requests


def test_http_queries_match_local_reads(web):
    mesh = meshlab.connect(f"{web.url}/mesh.yaml")
    sql = (
        "SELECT n.n_name, count(*) AS customers FROM sales.customer c JOIN geo.nation n "
        "ON c.c_nationkey = n.n_nationkey GROUP BY 1 ORDER BY 2 DESC, 1"
    )

    result = mesh.sql(sql)

    customer, nation = web.frames["customer"], web.frames["nation"]
    expected = (
        customer.join(nation, left_on="c_nationkey", right_on="n_nationkey")
        .group_by("n_name")
        .agg(customers=pl.len())
        .sort(["customers", "n_name"], descending=[True, False])
    )
    assert_same_rows(result.df, expected, ordered=True)


# -- Spark over object stores --------------------------------------------------------------------
@pytest.mark.postgres
def test_spark_reads_s3_datasets_on_the_driver_and_agrees_with_polars(spark, s3_mesh, s3, tpch_mesh):
    sql = tpch_mesh.to_mesh_sql(read_tpch_query("q03"))

    on_spark = s3_mesh.sql(sql, engine="spark")
    on_polars = s3_mesh.sql(sql, engine="polars")

    assert_same_rows(on_spark.df, on_polars.df, ordered=True)
    sent = [line for fragment in on_spark.plan for line in fragment.sent]
    assert any("read on the Spark driver" in line for line in sent)


def test_spark_driver_reads_stay_selective(spark, s3_mesh, s3):
    size = s3.endpoint_fs.size("lake/events.parquet")
    s3.log.clear()

    result = s3_mesh.sql("SELECT sum(amount) AS total FROM web.events WHERE event_id < 20000", engine="spark")

    assert result.df["total"][0] == pytest.approx(sum(i * 0.37 for i in range(20_000)))
    meta = pq.ParquetFile(s3.endpoint_fs.open("lake/events.parquet")).metadata
    assert_reads_within(s3.log.gets("/lake/events.parquet"), meta, [0], size)
    assert s3.log.sent("/lake/events.parquet") < 0.2 * size


def test_storage_options_per_protocol_and_prefix_for_each_reader():
    from meshlab.catalog.storage import StorageSettings, fsspec_options, polars_options

    settings = StorageSettings.parse(
        {
            "s3": {"endpoint_url": "http://minio:9000", "region": "eu-central-1"},
            "s3://team": {"endpoint_url": "https://objects.team.example"},
            "s3://team/archive": {"anon": True},
        },
        "mesh.yaml",
    )

    deep = settings.options_for("s3a://team/archive/2024/x.parquet")
    assert deep == {"endpoint_url": "https://objects.team.example", "region": "eu-central-1", "anon": True}
    assert settings.options_for("s3://teammate/x.parquet")["endpoint_url"] == "http://minio:9000"
    assert settings.options_for("https://example.org/x.parquet") == {}
    assert fsspec_options("s3://team/x", deep) == {
        "endpoint_url": "https://objects.team.example",
        "anon": True,
        "client_kwargs": {"region_name": "eu-central-1"},
        # the time limits (meshlab.limits defaults): fsspec has none of its own
        "config_kwargs": {
            "connect_timeout": 10.0,
            "read_timeout": 30.0,
            "retries": {"max_attempts": 1, "mode": "standard"},
        },
    }
    assert polars_options("s3://team/x", settings.options_for("s3://other/x")) == {
        "aws_endpoint_url": "http://minio:9000",
        "aws_allow_http": "true",
        "aws_region": "eu-central-1",
    }
    assert polars_options("s3://team/archive/x", deep)["aws_skip_signature"] == "true"
