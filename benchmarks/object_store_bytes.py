"""Bytes an object store sends for meshlab's parquet scans: S3 (moto on loopback) and HTTP.

TPC-H SF1 ``lineitem`` (one parquet file, 6 M rows, ~52 row groups, written by
``tpchgen-cli``) sits on a local S3-compatible server and on an HTTP server with range
requests; both count the body bytes of every response (tests/object_store_servers.py).
A mesh of one contract per store points at it, and each query runs through
``mesh.sql``; the figures are what the server sent, split into footer (tail) reads and
data reads. The baseline is the file: what a reader without pushdown downloads.

    python benchmarks/object_store_bytes.py [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: servers and builders from the test infrastructure
import fsspec
import polars as pl
from object_store_servers import CountingHttpServer, CountingS3Server
from support.contracts import columns_of, contract, store_files, write_mesh, write_yaml
from support.tpch import generate

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / ".benchdata" / "object-stores"
DOC = ROOT / "docs" / "benchmarks" / "object-stores.md"
TAIL = 256 * 1024  # footer reads: suffix ranges, or at most 256 KiB ending at the end of the file
QUERIES = {
    "one column, every row": "SELECT sum(l_quantity) AS q FROM tpch.lineitem",
    "two columns, 1% of rows (l_orderkey, the file's sort key)": (
        "SELECT sum(l_extendedprice) AS revenue, count(*) AS n FROM tpch.lineitem WHERE l_orderkey <= 60000"
    ),
    "TPC-H Q6 (four columns, predicates on unsorted columns)": (
        "SELECT sum(l_extendedprice * l_discount) AS revenue FROM tpch.lineitem "
        "WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' "
        "AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24"
    ),
    "first 10 rows, every column": "SELECT * FROM tpch.lineitem LIMIT 10",
}


def ensure_lineitem() -> Path:
    path = DATA / "lineitem.parquet"
    if not path.exists():
        generate(DATA, 1, tables=("lineitem",))
    return path


def write_mesh_of(folder: Path, url: str, schema: pl.Schema, kind: str) -> Path:
    properties = columns_of(schema, physical=False)
    server = store_files(kind, url, server=kind)
    write_yaml(
        folder / "tpch" / "lineitem.odcs.yaml", contract("tpch", "lineitem", properties, server, id=f"lineitem-{kind}")
    )
    return write_mesh(folder, kind, {"tpch": "tpch"})


def split(requests, size: int) -> tuple[int, int, int]:
    """(footer bytes, data bytes, requests) of GETs of one file."""
    footer = data = 0
    for request in requests:
        first, last = (request.range or "bytes=0-").removeprefix("bytes=").split("-")
        tail = not first or (last and int(last) + 1 >= size and size - int(first) <= TAIL)
        footer, data = (footer + request.sent, data) if tail else (footer, data + request.sent)
    return footer, data, len(requests)


def run(mesh, log, suffix: str, size: int, sql: str, engine: str = "polars") -> dict:
    mesh.sql(sql, engine=engine)  # warm: listing, footers and schemas are read once per mesh
    log.clear()
    started = time.perf_counter()
    mesh.sql(sql, engine=engine)
    seconds = time.perf_counter() - started
    footer, data, count = split(log.gets(suffix), size)
    return {"footer": footer, "data": data, "requests": count, "seconds": seconds}


def mib(n: int) -> str:
    return f"{n / 2**20:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-doc", action="store_true", help=f"write the table to {DOC.relative_to(ROOT)}")
    parser.add_argument("--spark", action="store_true", help="also run the Spark engine (reads on the driver)")
    args = parser.parse_args()
    path = ensure_lineitem()
    size = path.stat().st_size
    schema = pl.scan_parquet(path).collect_schema()
    import meshlab

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret", AWS_DEFAULT_REGION="us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        os.environ.pop(name, None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshlab-stores-") as scratch:
        s3 = CountingS3Server()
        endpoint = s3.start()
        fs = fsspec.filesystem("s3", endpoint_url=endpoint)
        fs.mkdir("lake")
        fs.put(str(path), "lake/lineitem.parquet")
        s3_mesh = meshlab.connect(
            str(write_mesh_of(Path(scratch) / "s3", "s3://lake/lineitem.parquet", schema, "s3")),
            storage={"s3": {"endpoint_url": endpoint}},
        )
        (Path(scratch) / "www").mkdir()
        try:
            os.link(path, Path(scratch) / "www" / "lineitem.parquet")
        except OSError:  # another file system
            shutil.copy(path, Path(scratch) / "www" / "lineitem.parquet")
        web = CountingHttpServer(Path(scratch) / "www")
        url = web.start()
        http_mesh = meshlab.connect(
            str(write_mesh_of(Path(scratch) / "http", f"{url}/lineitem.parquet", schema, "https"))
        )
        for label, sql in QUERIES.items():
            rows.append((label, "S3", "polars", run(s3_mesh, s3.log, "/lake/lineitem.parquet", size, sql)))
            rows.append((label, "HTTP", "polars", run(http_mesh, web.log, "/lineitem.parquet", size, sql)))
            print(rows[-2], rows[-1], flush=True)
        if args.spark:
            label = list(QUERIES)[1]
            rows.append(
                (label, "S3", "spark", run(s3_mesh, s3.log, "/lake/lineitem.parquet", size, QUERIES[label], "spark"))
            )
            print(rows[-1], flush=True)
        web.stop()
        s3.stop()
    text = report(rows, size)
    print(text)
    if args.write_doc:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text)


def report(rows, size: int) -> str:
    lines = [
        "# Bytes fetched from object stores",
        "",
        f"Measured {dt.date.today()}: TPC-H SF1 `lineitem` as one parquet file written by `tpchgen-cli` "
        f"({mib(size)} MiB, 6,001,215 rows, {_row_groups()} row groups), served by moto's S3 server and by an "
        "HTTP server with range requests, both on loopback and both counting the body bytes they send "
        "(`tests/object_store_servers.py`). Each query runs once to warm the mesh (listing, footers), then "
        "once measured. *Footer* = tail reads (the reader's 256 KiB footer prefetch); *data* = every other "
        "range. Without pushdown a reader downloads the whole file. Seconds are loopback times; on S3 they "
        "measure moto, which copies the whole object for every range request (about a second each here), "
        "not the reader. Reproduce: `make bench-object-stores` "
        "(`python benchmarks/object_store_bytes.py --spark --write-doc`).",
        "",
        "| query | store | engine | footer MiB | data MiB | share of the file | requests | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, store, engine, f in rows:
        share = (f["footer"] + f["data"]) / size
        lines.append(
            f"| {label} | {store} | {engine} | {mib(f['footer'])} | {mib(f['data'])} | {share:.1%} | "
            f"{f['requests']} | {f['seconds']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _row_groups() -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(DATA / "lineitem.parquet").metadata.num_row_groups


if __name__ == "__main__":
    main()
