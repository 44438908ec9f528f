"""Each :class:`ScanPlan` of a plan as a Spark DataFrame.

Three ways in, chosen by the source:

* **files Spark reads itself** (local paths, and ``s3a`` when the hadoop-aws
  jars are on Spark's class path): the files the source lists, with hive
  partitions, the scan's columns and -- for a scan only one table reference
  uses -- its pushed predicates, which Spark hands on to its parquet reader;
* **databases through JDBC**: exactly the SQL the Polars engine sends
  (``source.query(spec)`` in the database's dialect), with Spark's own JDBC
  pushdown turned off so the database receives nothing else;
* **files Spark cannot reach** (``s3://`` without hadoop-aws, ``http(s)://``,
  other fsspec URLs): read on the driver by the file source's Polars scan --
  which fetches only the needed row groups and columns -- and handed to Spark
  as an Arrow table. Such data passes through the driver: fine for the
  dimension tables of a query, not for its biggest fact table.

Every column comes back typed as its contract says, and the governance the
plan carries (row filter, masks) is applied in the scan, before the query
sees a value.
"""

from __future__ import annotations

import time

import polars as pl
import pyarrow as pa
from sqlglot import exp

from meshlab.catalog.contract import Column
from meshlab.catalog.types import TYPES, spark_type
from meshlab.engine.spark_session import SparkSettings, has_jvm_class, is_connect, jdbc_jar
from meshlab.errors import EngineError, SourceError
from meshlab.planner.plan import ScanPlan
from meshlab.sources import ScanStats, Source
from meshlab.sources.base import column_dtype
from meshlab.sources.database import DatabaseSource
from meshlab.sources.files import GLOB_CHARS, FileSource

S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"
#: Spark's own JDBC pushdown, off: the database gets the plan's SQL and nothing else
JDBC_NO_PUSHDOWN = {
    "pushDownPredicate": "false",
    "pushDownAggregate": "false",
    "pushDownLimit": "false",
    "pushDownOffset": "false",
    "pushDownTableSample": "false",
}


# -- types --------------------------------------------------------------------------------
def contract_type(column: Column | None) -> str | None:
    return spark_type(column_dtype(column)) if column is not None else None


def conform(frame, targets: dict[str, str | None]):
    """Cast the columns whose Spark type differs from their target (unparsable values become NULL)."""
    from pyspark.sql import functions as F

    current = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    changes = {
        name: F.col(name).try_cast(target)
        for name, target in targets.items()
        if target is not None and name in current and current[name] != target
    }
    return frame.withColumns(changes) if changes else frame


def unqualified_sql(node: exp.Expr) -> str:
    """``node`` in Spark SQL, with table qualifiers dropped: it runs against one scan."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
        column.set("this", exp.to_identifier(column.name, quoted=True))
    return copy.sql(dialect="spark", identify=True)


# -- governance -----------------------------------------------------------------------------
def govern(frame, scan: ScanPlan, names: list[str], filtered: bool = False, masked=frozenset()):
    """The role's row filter (on raw values), then its masks, then the columns ``names``."""
    from pyspark.sql import functions as F

    spec = scan.spec
    row_filter = getattr(spec, "row_filter", None)
    if row_filter is not None and not filtered:
        frame = frame.where(F.expr(unqualified_sql(row_filter)))
    masks = spec.masks_for(names) if getattr(spec, "masks", ()) else {}
    for name, mask in masks.items():
        if name in masked:
            continue
        value = F.expr(unqualified_sql(mask.to_sql()))
        target = spark_type(mask.dtype())
        frame = frame.withColumn(name, value.try_cast(target) if target else value)
    return frame.select(*names)


def _governed(scan: ScanPlan) -> bool:
    return bool(getattr(scan.spec, "governed", False))


# -- files ----------------------------------------------------------------------------------
def spark_reads(session, path: str) -> bool:
    """Whether Spark's own readers can open ``path`` (else it is read on the driver)."""
    protocol = path.split("://", 1)[0].lower() if "://" in path else "file"
    if protocol in ("file", "local"):
        return not is_connect(session)  # a Connect server cannot see this machine's files
    if protocol in ("s3", "s3a"):
        return has_jvm_class(session, S3A_CLASS)
    return False


def _base_path(path: str) -> str:
    """The folder above the first glob character: where hive partition folders start."""
    cut = min((path.index(c) for c in GLOB_CHARS if c in path), default=len(path))
    return path[:cut].rsplit("/", 1)[0] if cut < len(path) else path


def _spark_url(path: str) -> str:
    if "://" not in path:
        return "file://" + path
    return "s3a://" + path.split("://", 1)[1] if path.startswith("s3://") else path


def _reader(session, source: FileSource):
    reader = session.read
    if source.format == "csv":
        # Every column as text, matched by header name, then cast like the Polars scan does.
        reader = reader.option("header", "true").option("sep", source.dataset.server.delimiter)
    elif source.format == "json":
        ddl = ", ".join(f"`{c.name}` {_json_type(c)}" for c in source.dataset.columns)
        reader = reader.schema(ddl)
    files = source.files()
    if len(files) > 1 or any(c in source.path for c in GLOB_CHARS):
        reader = reader.option("basePath", _spark_url(_base_path(source.path)))
    return reader, [_spark_url(f) for f in files]


def configure_s3a(session, source: FileSource) -> None:
    """The mesh's endpoint for this bucket, in Hadoop's S3A settings (credentials: S3A reads AWS_*)."""
    endpoint = source.storage_options.get("endpoint_url")
    if not endpoint:
        return
    bucket = source.path.split("://", 1)[1].split("/", 1)[0]
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    hadoop.set(f"fs.s3a.bucket.{bucket}.endpoint", str(endpoint))
    hadoop.set(f"fs.s3a.bucket.{bucket}.path.style.access", "true")


def _json_type(column: Column) -> str:
    # Dates and times arrive as text and are cast afterwards, as for CSV.
    if column.logical_type in ("date", "timestamp", "time"):
        return "string"
    return contract_type(column) or "string"


def spark_file_frame(session, scan: ScanPlan, source: FileSource, stats: ScanStats, single_reference: bool):
    """A file dataset (``source``, the scan's) read by Spark itself."""
    from pyspark.sql import functions as F

    spec = scan.spec
    raw = spec.raw_columns() if _governed(scan) else list(spec.columns)
    if source.path.startswith(("s3://", "s3a://")):
        configure_s3a(session, source)
    reader, urls = _reader(session, source)
    frame = {"parquet": reader.parquet, "csv": reader.csv, "json": reader.json}[source.format](*urls)
    missing = [c for c in raw if c not in frame.columns]
    if missing:
        raise SourceError(
            source.dataset.address,
            source.server_label,
            f"column(s) {', '.join(missing)} declared in {source.dataset.contract_path} are not in {source.path}",
        )
    frame = conform(frame.select(*raw), {c: contract_type(source.dataset.column(c)) for c in raw})
    if single_reference and spec.predicates:
        # Predicates of one reference only: a scan shared by several references
        # keeps them in the query, where Spark still pushes each to the reader.
        frame = frame.where(F.expr(" AND ".join(f"({unqualified_sql(p)})" for p in spec.predicates)))
    stats.sent.append(source.describe(spec, text_cache=False))  # Spark reads the files themselves
    return govern(frame, scan, list(spec.columns)) if _governed(scan) else frame


def driver_frame(session, scan: ScanPlan, source: Source, stats: ScanStats, single_reference: bool):
    """A dataset Spark cannot open itself (a URL it has no file system for, a source kind
    without a Spark reader): read by the source's Polars scan on the driver, handed over as Arrow."""
    spec = scan.spec
    started = time.perf_counter()
    frame = source.scan(spec, stats)  # columns, casts and governance as on the Polars engine
    if single_reference and spec.predicates:
        condition = " AND ".join(f"({p.sql(dialect='postgres')})" for p in _unqualified(spec.predicates))
        frame = frame.filter(pl.sql_expr(condition))
    try:
        table = frame.collect().to_arrow()
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is this source's failure
        raise SourceError(
            source.dataset.address, source.server_label, f"cannot read {source.location()}: {exc}"
        ) from exc
    table = spark_arrow(table)
    stats.sent.append("read on the Spark driver (Spark cannot open it): Polars scan, then Arrow to Spark")
    stats.rows, stats.bytes, stats.seconds = table.num_rows, table.nbytes, time.perf_counter() - started
    return session.createDataFrame(table)


def _unqualified(predicates) -> list[exp.Expression]:
    found = []
    for predicate in predicates:
        copy = predicate.copy()
        for column in copy.find_all(exp.Column):
            column.set("table", None)
            column.set("this", exp.to_identifier(column.name, quoted=True))
        found.append(copy)
    return found


def spark_arrow(table: pa.Table) -> pa.Table:
    """Arrow types Spark's converter takes: plain strings and binaries instead of large or view ones."""
    replacements: dict[pa.DataType, pa.DataType] = {
        pa.large_string(): pa.string(),
        pa.string_view(): pa.string(),
        pa.large_binary(): pa.binary(),
        pa.binary_view(): pa.binary(),
    }
    schema = pa.schema(f.with_type(replacements.get(f.type, f.type)) for f in table.schema)
    return table if schema == table.schema else table.cast(schema)


# -- databases ------------------------------------------------------------------------------
def jdbc_options(source: DatabaseSource, settings: SparkSettings, connect: bool) -> dict[str, str]:
    """URL, driver class and login of ``source`` for Spark's JDBC reader (credentials from the environment)."""
    read = source.spark_jdbc()
    if read is None:
        raise EngineError(f"the spark engine cannot read {source.kind} sources through JDBC")
    if not connect and jdbc_jar(source.kind, settings) is None:
        raise EngineError(
            f"the spark engine reads {source.kind} through JDBC, but no driver jar was found: "
            f"install the Debian package {read.package} (make install does) or set engine.spark.jars"
        )
    return {"url": read.url, "driver": read.driver, **dict(read.options)}


def java_message(exc: BaseException) -> str:
    """The informative line of a JVM error (py4j's first line only names the call)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "Exception:" in line or "Error:" in line:
            return line.split("Exception:", 1)[-1].strip() if "Exception:" in line else line
    return lines[0] if lines else type(exc).__name__


def read_schema(source: DatabaseSource, outputs: dict[str, Column], computed: set[str]) -> str:
    """The types Spark's JDBC reader asks the driver for, by column name (Spark's ``customSchema``).

    The drivers' own type reports are not to be trusted: SQLite's says INTEGER is
    32-bit and an untyped column is NUMERIC whatever it holds. So every column is
    read as the contract says -- SQLite's text dates and decimals as text and
    doubles -- and cast afterwards; names the statement does not return are ignored.
    """
    read = source.spark_jdbc()
    loose = read is not None and read.loose_types
    columns = {c.name: c for c in source.dataset.columns} | outputs
    types = []
    for name, column in columns.items():
        kind = column.logical_type
        if name in computed or kind in ("string", "object", "array", "time"):
            wanted = "STRING"  # masks the database computed (a hash) are text
        elif kind == "integer":
            wanted = TYPES["integer"].spark.upper()
        elif loose:
            wanted = TYPES["number"].spark.upper() if kind == "number" else "STRING"
        else:
            wanted = (contract_type(column) or "string").upper()
        types.append(f"`{name}` {wanted}")
    return ", ".join(types)


def jdbc_frame(session, scan: ScanPlan, source: DatabaseSource, stats: ScanStats, settings: SparkSettings):
    """A database scan (``source``, the scan's) through Spark's JDBC reader, sent the plan's own SQL."""
    spec = scan.spec
    outputs = source.output_columns(spec)
    names = list(outputs)
    governed = _governed(scan)
    computed = source.computed_masks(spec, names) if governed else set()
    source.verify_schema(spec)  # schema drift: refused before Spark reads (docs/reliability.md)
    sql = source.render(source.query(spec))
    reader = session.read.format("jdbc").options(**jdbc_options(source, settings, is_connect(session)))
    reader = reader.option("customSchema", read_schema(source, outputs, computed)).option("preferTimestampNTZ", "true")
    try:
        frame = reader.options(**JDBC_NO_PUSHDOWN).option("query", sql).load()  # asks the database for the schema
    except Exception as exc:  # noqa: BLE001 - any driver failure is this source's failure
        raise SourceError(source.dataset.address, source.server_label, java_message(exc)) from exc
    stats.sent.append(sql)
    targets = {n: contract_type(c) for n, c in outputs.items() if n not in computed}
    if governed:
        targets.update({c: contract_type(source.dataset.column(c)) for c in frame.columns if c not in outputs})
        frame = conform(frame, targets)
        return govern(frame, scan, names, filtered=source.takes_row_filter(spec), masked=computed)
    return conform(frame, targets).select(*names)


def scan_frame(session, scan: ScanPlan, stats: ScanStats, settings: SparkSettings, single_reference: bool):
    """The Spark DataFrame of one scan."""
    source = scan.source
    if source.spark_read == "jdbc" and isinstance(source, DatabaseSource):
        return jdbc_frame(session, scan, source, stats, settings)
    if source.spark_read == "files" and isinstance(source, FileSource) and spark_reads(session, source.path):
        return spark_file_frame(session, scan, source, stats, single_reference)
    return driver_frame(session, scan, source, stats, single_reference)
