"""SQL logic cases (``tests/sql_logic/*.yaml``) answered by meshlab as DuckDB answers them.

Each case is one entry of a topic file: SQL over the small tables of
``tests/sql_logic/tables.yaml`` (mesh addresses ``t.<table>``) and the answer DuckDB gave,
recorded by ``python tests/sql_logic/record.py``. Three checks per case:

- the stored answer still is DuckDB's answer now (the file cannot drift from the oracle);
- that answer is not trivial (rows, not all NULL) unless the case says why it is empty;
- meshlab gives it on every layout: all tables parquet, all in one SQLite file, all in
  PostgreSQL (so what is pushed down into a database is held to DuckDB's semantics too).
  PostgreSQL costs a connection per query, so there only the cases with something to push
  down run (a WHERE, JOIN, LIMIT or OFFSET: ``Case.pushable``), every case with
  ``MESHLAB_SQL_LOGIC_ALL_POSTGRES=1``; the others read whole columns, as on SQLite.

A case meshlab gets wrong carries ``meshlab_gap: <diagnosis>`` (strict xfail, per layout
when given as a mapping); one meshlab refuses on purpose carries ``error: <MeshError
subclass>``. See ``tests/sql_logic/README.md``.
"""

from __future__ import annotations

import functools
import os

import polars as pl
import pytest
from conftest import assert_same_rows
from sql_logic.cases import LAYOUT_NAMES, Case, answer_block, dump_text, load_cases, ordering
from sql_logic.tables import oracle, parquet_mesh, postgres_mesh, sqlite_mesh
from support.postgres_server import user_env

import meshlab
from meshlab.errors import MeshError

CASES = load_cases()
PG_USER_ENV = "MESHLAB_SQL_LOGIC_PGUSER"
ALL_ON_POSTGRES = bool(os.environ.get("MESHLAB_SQL_LOGIC_ALL_POSTGRES"))


@functools.cache
def _oracle():
    return oracle()


@functools.cache
def _duckdb_frame(sql: str) -> pl.DataFrame:
    return _oracle().cursor().sql(sql).pl()


def duckdb_frame(case: Case) -> pl.DataFrame:
    """DuckDB's answer to the case now, as a frame."""
    return _duckdb_frame(case.sql)


# -- the oracle side ------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_stored_answer_is_duckdbs(case):
    assert case.expected is not None, f"{case.name} has no expected answer: run python tests/sql_logic/record.py"
    block = answer_block(_oracle().cursor(), case.sql, case.ordered)
    assert dump_text(block) == dump_text(case.expected), (
        f"{case.topic}.yaml: {case.name}: DuckDB's answer changed; re-record with python tests/sql_logic/record.py"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_answer_is_not_trivial(case):
    rows = (case.expected or {}).get("rows") or []
    trivial = not rows or all(value is None for row in rows for value in row)
    if case.empty:
        assert trivial, f"{case.name} is marked empty ({case.empty}) but DuckDB answers {len(rows)} row(s)"
    else:
        assert not trivial, f"{case.name}: DuckDB's answer is empty or all NULL; fix the case or mark it `empty: why`"


# -- meshlab on each layout -----------------------------------------------------------------
@pytest.fixture(scope="module")
def logic_mesh_parquet(tmp_path_factory):
    with meshlab.connect(str(parquet_mesh(tmp_path_factory.mktemp("logic-parquet")))) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def logic_mesh_sqlite(tmp_path_factory):
    with meshlab.connect(str(sqlite_mesh(tmp_path_factory.mktemp("logic-sqlite")))) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def logic_mesh_postgres(tmp_path_factory, postgres_server):
    with user_env(PG_USER_ENV, postgres_server.user):
        path = postgres_mesh(tmp_path_factory.mktemp("logic-postgres"), postgres_server, PG_USER_ENV)
        with meshlab.connect(str(path)) as mesh:
            yield mesh


def _meshlab_params():
    for case in CASES:
        for layout in LAYOUT_NAMES:
            if layout == "postgres" and not (case.pushable or ALL_ON_POSTGRES):
                continue
            marks = [pytest.mark.postgres] if layout == "postgres" else []
            gap = case.gap_on(layout)
            if gap:
                marks.append(pytest.mark.xfail(strict=True, reason=f"meshlab gap: {gap}"))
            yield pytest.param(case, layout, marks=marks, id=f"{case.name}-{layout}")


@pytest.mark.parametrize(("case", "layout"), list(_meshlab_params()))
def test_meshlab_gives_duckdbs_answer(case, layout, request):
    mesh = request.getfixturevalue(f"logic_mesh_{layout}")
    if case.error:
        with pytest.raises(MeshError) as raised:
            mesh.sql(case.sql)
        assert type(raised.value).__name__ == case.error, f"raised {type(raised.value).__name__}: {raised.value}"
        message = str(raised.value).lower()
        missing = [word for word in case.error_mentions if word.lower() not in message]
        assert not missing, f"the message does not name {missing}: {raised.value}"
        return
    actual = mesh.sql(case.sql).df
    ordered, order_by = ordering(case.sql, case.ordered)
    assert_same_rows(actual, duckdb_frame(case), ordered, order_by)
