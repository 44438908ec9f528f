"""Shared test infrastructure: a throwaway PostgreSQL server, a federated TPC-H mesh and
an independent oracle (DuckDB over the plain parquet files).

Fixtures
--------
postgres_server
    A PostgreSQL cluster on 127.0.0.1 in a temp dir, logging every statement it receives
    (``log_statement=all``): ``.statements()`` is what the server actually got.
tpch_parquet
    TPC-H SF0.01 as plain parquet files, one per table (``support.tpch.generate``).
tpch_mesh
    TPC-H SF0.01 spread over every source kind meshlab reads: ``sales.orders`` in
    PostgreSQL, ``sales.customer`` and ``supply.supplier`` in one SQLite file,
    ``supply.part`` as newline-delimited JSON, ``supply.partsupp`` as parquet,
    ``shipping.lineitem`` as hive-partitioned parquet (``l_year=YYYY/``, which adds the
    column ``l_year``), ``geo.nation`` and ``geo.region`` as CSV
    (``support.tpch.build_federated_mesh``: the benchmarks' layouts are built there too).
pg_log
    A per-test view of the PostgreSQL log: ``pg_log()`` lists the statements received
    since the test started.
mesh
    ``meshlab.connect()`` on ``tpch_mesh``, shared by the session.

Helpers (import them: ``from conftest import duckdb_answer, assert_same_rows``)
---------------------------------------------------------------------------------
duckdb_answer(sql, parquet_dir, trivial=None)
    The oracle: the plain TPC-H query run by DuckDB over the parquet files, guarded: it
    raises :class:`TrivialOracleAnswer` when the answer could not tell a working engine from
    a broken one (:func:`guard_oracle_answer`), unless ``trivial`` gives the reason it may.
guard_oracle_answer(answer, sql, trivial=None)
    The guard alone, for a test with an oracle of its own.
assert_same_rows(actual, expected, ordered, order_by=None)
    Compare two result frames by column position with type normalisation.
order_by_positions(sql)
    Output positions of the outermost ORDER BY, to pass as ``order_by``.
read_tpch_query(name)
    The text of ``shared/tpch/qNN.sql`` (or a copy in ``tests/tpch``/``$MESHLAB_TPCH_QUERIES``)
    with the tests' substitution parameters (``support.tpch.TEST_SUBSTITUTIONS``).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import psycopg
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from support import ci_no_skips, tpch
from support.postgres_server import (  # noqa: F401 - re-exported for the tests
    PostgresServer,
    parse_statement_log,
    start_postgres,
    unavailable_reason,
    user_env,
)
from support.tpch import TpchMesh, to_mesh_sql  # noqa: F401 - re-exported for the tests and benchmarks

# The columnar cache of CSV and NDJSON files (meshlab.sources.text_cache) writes under the
# user's cache folder by default: the tests keep theirs in a folder of their own.
TEXT_CACHE_DIR = tempfile.mkdtemp(prefix="meshlab-tests-text-cache-")
os.environ["MESHLAB_TEXT_CACHE_DIR"] = TEXT_CACHE_DIR
atexit.register(shutil.rmtree, TEXT_CACHE_DIR, ignore_errors=True)

# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------

# The server itself lives in tests/support/postgres_server.py (the benchmarks start it too).


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster on loopback, trust auth, every statement logged.

    Skips (with the reason) only when the server binaries are not installed.
    """
    reason = unavailable_reason()
    if reason:
        if os.environ.get("MESHLAB_REQUIRE_POSTGRES"):
            pytest.fail(reason)  # `make test` installs them: a skip there would hide a broken setup
        pytest.skip(reason)
    with start_postgres() as server:
        with psycopg.connect(server.dsn, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
        server.clear_log()
        yield server


@pytest.fixture(scope="session")
def mariadb_server():
    """A throwaway MariaDB on loopback (tests/support/mariadb_server.py), every statement logged."""
    from support.mariadb_server import start_mariadb
    from support.mariadb_server import unavailable_reason as mariadb_missing

    reason = mariadb_missing()
    if reason:
        if os.environ.get("MESHLAB_REQUIRE_MYSQL"):
            pytest.fail(reason)  # `make test` installs it: a skip there would hide a broken setup
        pytest.skip(reason)
    with start_mariadb() as server:
        yield server


@pytest.fixture
def pg_log(postgres_server):
    """``pg_log()`` -> the statements PostgreSQL received since this test started."""
    start = postgres_server.mark()
    return lambda: postgres_server.statements(since=start)


# ---------------------------------------------------------------------------------------
# The federated TPC-H mesh
# ---------------------------------------------------------------------------------------

TPCH_DOMAINS = tpch.DOMAINS
TPCH_QUERY_DIRS = tpch.QUERY_DIRS
PG_USER_ENV = "MESHLAB_TEST_PGUSER"
PARTITION_COLUMN = tpch.PARTITIONS["lineitem"][0]  # hive partition of shipping.lineitem: year of l_shipdate


@pytest.fixture(scope="session")
def tpch_parquet(tmp_path_factory) -> Path:
    """Plain TPC-H SF0.01 parquet files, one per table (generated once per session)."""
    return tpch.generate(tmp_path_factory.mktemp("tpch-parquet"), tpch.TEST_SCALE, timeout=300)


@pytest.fixture(scope="session")
def tpch_mesh(tmp_path_factory, tpch_parquet, postgres_server):
    """The federated TPC-H mesh (see the module docstring), with the PostgreSQL user env set."""
    with user_env(PG_USER_ENV, postgres_server.user):
        root = tmp_path_factory.mktemp("tpch-mesh")
        mesh = tpch.build_federated_mesh(root, tpch_parquet, postgres_server, PG_USER_ENV)
        postgres_server.clear_log()
        yield mesh


# ---------------------------------------------------------------------------------------
# The oracle and result comparison
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _duckdb_over(parquet_dir: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for path in sorted(Path(parquet_dir).glob("*.parquet")):
        relation = con.read_parquet(str(path))
        if path.stem == "lineitem" and PARTITION_COLUMN not in relation.columns:
            # The mesh's lineitem has the hive partition column too; mirror it.
            relation = relation.project(f"*, CAST(year(l_shipdate) AS INTEGER) AS {PARTITION_COLUMN}")
        relation.create_view(path.stem)
    return con


class TrivialOracleAnswer(Exception):
    """The oracle's answer cannot tell a working engine from a broken one: comparing with it
    proves nothing, so the test errors instead of passing (:func:`guard_oracle_answer`)."""


def duckdb_answer(sql: str, parquet_dir: Path | str, trivial: str | None = None) -> pl.DataFrame:
    """Run the plain (un-meshed) query in DuckDB over views on the parquet files.

    The ``lineitem`` view also has ``l_year`` (year of ``l_shipdate``), like the mesh's
    hive-partitioned ``shipping.lineitem``. The answer is guarded
    (:func:`guard_oracle_answer`): ``trivial`` is the reason an empty, all-NULL or all-zero
    answer is what the test means to compare with.
    """
    answer = _duckdb_over(str(parquet_dir)).cursor().sql(sql).pl()
    return guard_oracle_answer(answer, sql, trivial)


def guard_oracle_answer(answer: pl.DataFrame, sql: str, trivial: str | None = None) -> pl.DataFrame:
    """``answer`` (the oracle's, to ``sql``), after checking an engine could fail against it.

    Raises :class:`TrivialOracleAnswer` when the answer is empty, when an output column is
    NULL in every row, or when a numeric aggregate output (a projection of the outermost
    SELECT holding an aggregate function) is zero in every row -- an engine that drops every
    row, or every match, gives that too. ``trivial``: the reason the test means it (checked
    to be given, not empty); the guard is then skipped.
    """
    if trivial is not None:
        if not trivial.strip():
            raise ValueError("trivial= needs the reason the oracle's answer may be empty, NULL or zero")
        return answer
    problem = _triviality(answer, sql)
    if problem:
        raise TrivialOracleAnswer(
            f"the oracle's answer {problem}: an engine losing rows or values could pass. Choose a "
            f"query whose answer is non-trivial, or pass trivial='<why this is meant>'.\nquery: {sql}"
        )
    return answer


def _triviality(answer: pl.DataFrame, sql: str) -> str | None:
    if answer.height == 0:
        return "is empty"
    columns = answer.get_columns()
    for column in columns:
        if column.null_count() == answer.height:
            return f"has output column {column.name!r} NULL in every row"
    for position in _aggregate_positions(sql, answer.width):
        column = columns[position]
        if column.dtype.is_numeric() and column.fill_null(0).eq(0).all():
            return f"has aggregate output {column.name!r} zero in every row"
    return None


def _aggregate_positions(sql: str, width: int) -> list[int]:
    """Output positions of the outermost SELECT's projections holding an aggregate function;
    every position when the query does not parse, none after a ``*`` (positions unknown)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return list(range(width))
    positions = []
    for position, projection in enumerate(getattr(tree, "selects", [])):
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            break
        if projection.find(exp.AggFunc) is not None and position < width:
            positions.append(position)
    return positions


def order_by_positions(sql: str, dialect: str | None = None) -> list[int]:
    """0-based output positions of the outermost ORDER BY keys ([] when there is none).

    A key may be an ordinal, an output name, or an expression equal to a projection.
    Raises ValueError when a key is not an output column (the test cannot check it).
    """
    tree = sqlglot.parse_one(sql, read=dialect)
    order = tree.args.get("order")
    if order is None:
        return []
    selects = tree.selects
    names = [s.alias_or_name.lower() for s in selects]
    bodies = [s.unalias() for s in selects]
    positions = []
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Literal) and not key.is_string:
            positions.append(int(key.this) - 1)
        elif key in bodies:
            positions.append(bodies.index(key))
        elif isinstance(key, exp.Column) and key.name.lower() in names:
            positions.append(names.index(key.name.lower()))
        else:
            raise ValueError(f"ORDER BY key {key.sql()} is not an output column of: {sql}")
    return positions


_INEXACT = (pl.Float32, pl.Float64)


def _normalise(column: pl.Series, other: pl.Series) -> pl.Series:
    """One comparable dtype per kind: numbers -> Float64, dates -> Datetime(us), text -> String."""
    dtype = column.dtype
    if dtype == pl.Null:
        return _normalise(other, column).clear(len(column)) if other.dtype != pl.Null else column
    if dtype.is_numeric():
        return column.cast(pl.Float64)
    if dtype == pl.Date:
        return column.cast(pl.Datetime("us"))
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return column.cast(pl.Datetime("us"))
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        return column.cast(pl.String)
    return column


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    return str(dtype)


def _mismatch(actual: pl.Series, expected: pl.Series, inexact: bool) -> int | None:
    """Index of the first row where the two (normalised) columns differ, else None."""
    frame = pl.DataFrame({"a": actual, "e": expected})
    a, e = pl.col("a"), pl.col("e")
    if inexact:
        close = ((a - e).abs() <= 1e-6 + 1e-6 * e.abs()) | (a == e) | (a.is_nan() & e.is_nan())
    else:
        close = a == e
    same = (a.is_null() & e.is_null()) | (a.is_not_null() & e.is_not_null() & close.fill_null(False))
    bad = frame.select(same.not_().arg_true())
    return bad.item(0, 0) if bad.height else None


def _show(frame: pl.DataFrame, row: int) -> str:
    lo = max(row - 2, 0)
    with pl.Config(tbl_rows=10, tbl_cols=20, fmt_str_lengths=40):
        return str(frame.slice(lo, 5).with_row_index("row", offset=lo))


def assert_same_rows(
    actual: pl.DataFrame,
    expected: pl.DataFrame,
    ordered: bool,
    order_by: list[int] | None = None,
) -> None:
    """Assert two results hold the same rows, matching columns by position (not name).

    Values are compared after normalising types: every number (integer, decimal, float)
    as Float64 with relative and absolute tolerance 1e-6, dates and timestamps exactly (a
    date equals the midnight timestamp), strings exactly, nulls equal to nulls.

    Rows are always compared as multisets (both frames sorted on every column, exact kinds
    first). When ``ordered``: with ``order_by`` (output positions of the ORDER BY keys, see
    :func:`order_by_positions`) the key columns must also appear in the same sequence as
    in ``expected`` -- rows tied on the keys may come in any order; without ``order_by``
    the frames must match row for row.
    """
    assert actual.width == expected.width, (
        f"column count differs: got {actual.width} {actual.columns}, expected {expected.width} {expected.columns}"
    )
    assert actual.height == expected.height, (
        f"row count differs: got {actual.height}, expected {expected.height}\n"
        f"got:\n{_show(actual, 0)}\nexpected:\n{_show(expected, 0)}"
    )
    names = [f"c{i}" for i in range(actual.width)]
    a_cols, e_cols, inexact = [], [], []
    for i, (a, e) in enumerate(zip(actual.get_columns(), expected.get_columns())):
        kinds = {_kind(a.dtype), _kind(e.dtype)} - {str(pl.Null)}
        assert len(kinds) <= 1, f"column {i} ({a.name!r} vs {e.name!r}) has incompatible types: {a.dtype} vs {e.dtype}"
        a_cols.append(_normalise(a, e).alias(names[i]))
        e_cols.append(_normalise(e, a).alias(names[i]))
        inexact.append(any(d in _INEXACT or isinstance(d, pl.Decimal) for d in (a.dtype, e.dtype)))
    got, want = pl.DataFrame(a_cols), pl.DataFrame(e_cols)

    def compare(left: pl.DataFrame, right: pl.DataFrame, columns: list[int], how: str) -> None:
        for i in columns:
            row = _mismatch(left.get_column(names[i]), right.get_column(names[i]), inexact[i])
            assert row is None, (
                f"{how}: column {i} ({actual.columns[i]!r}) differs at row {row}: "
                f"got {left.item(row, i)!r}, expected {right.item(row, i)!r}\n"
                f"got:\n{_show(left, row)}\nexpected:\n{_show(right, row)}"
            )

    if ordered and not order_by:
        compare(got, want, list(range(len(names))), "in order")
        return
    if ordered:
        compare(got, want, order_by, "ORDER BY key sequence")
    sort_keys = [n for n, x in zip(names, inexact) if not x] + [n for n, x in zip(names, inexact) if x]
    compare(
        got.sort(sort_keys, nulls_last=True),
        want.sort(sort_keys, nulls_last=True),
        list(range(len(names))),
        "as sorted multisets",
    )


def read_tpch_query(name: str, missing_ok: bool = False) -> str | None:
    """The plain text of TPC-H query ``name`` (``"q01"`` .. ``"q22"``) with the tests'
    substitution parameters (``support.tpch.TEST_SUBSTITUTIONS``: non-trivial at SF0.01)."""
    text = tpch.query_text(name, parameters="tests")
    if text is not None or missing_ok:
        return text
    pytest.fail(f"TPC-H query {name}.sql not found in {[str(d) for d in TPCH_QUERY_DIRS]}")


@pytest.fixture(scope="session")
def mesh(tpch_mesh):
    """``meshlab.connect()`` on the federated TPC-H mesh, closed at the end of the session."""
    import meshlab  # here, not at the top: a broken engine must not break fixture-only runs

    connected = meshlab.connect(str(tpch_mesh.mesh_path))
    try:
        yield connected
    finally:
        connected.close()


# ---------------------------------------------------------------------------------------
# Spark
# ---------------------------------------------------------------------------------------

#: the Spark tests' session: local, two cores, two shuffle partitions, a small driver
SPARK_TEST_MASTER = "local[2]"
SPARK_TEST_CONFIG = (("spark.sql.shuffle.partitions", "2"), ("spark.driver.memory", "1g"))


@pytest.fixture(scope="session")
def spark():
    """The process's one SparkSession (meshlab shares it), started once for every Spark test."""
    if os.environ.get("MESHLAB_REQUIRE_SPARK"):
        import pyspark  # noqa: F401 - `make test` installs it: a skip there would hide a broken setup
    else:
        pytest.importorskip("pyspark")
    from meshlab.engine.spark_session import SparkSettings, spark_session, stop_spark_session

    session = spark_session(SparkSettings(master=SPARK_TEST_MASTER, config=SPARK_TEST_CONFIG))
    yield session
    stop_spark_session()


def pytest_configure(config):
    config.addinivalue_line("markers", "attack: a governance bypass attempt (counted in the summary)")


def pytest_sessionfinish(session, exitstatus):
    ci_no_skips.pytest_sessionfinish(session, exitstatus)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Report how many governance attack cases ran (tests marked ``attack``), and skips under CI=true."""
    ci_no_skips.pytest_terminal_summary(terminalreporter, exitstatus, config)
    held = [r for r in terminalreporter.stats.get("passed", []) if "attack" in r.keywords]
    broke = [r for r in terminalreporter.stats.get("failed", []) if "attack" in r.keywords]
    if held or broke:
        terminalreporter.write_line(f"governance: {len(held)} attack cases refused or masked, {len(broke)} got through")
