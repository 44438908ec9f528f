"""Every planner pass against its fixture file of input -> expected pairs.

Each pass of ``meshlab.planner.passes.PASSES`` has one file,
``tests/planner_passes/<pass>.sql`` (a pass without one fails here). A file is a
list of cases::

    -- title: what the case shows
    -- limit: 10                      (options, each optional: limit, params as JSON,
    -- params: {"s": "F"}              role = a role of the fixture policy (user ana),
    -- role: analyst                   join_pushdown: false)
    SELECT ...                        (the query as a user writes it: any lines)
    -- expected:
    the statement's tree after the pass, as pretty DuckDB SQL
    -- expected scans:
    what the scans hold after the pass (see ``render_scans``)
    -- expected error:
    the start of the error's message

A case has at least one ``expected`` block; blank lines at a block's ends do not
count. The query runs through every pass up to and including the file's own,
over the fixture mesh ``tests/planner_passes/mesh`` (``shop.customers`` and
``shop.orders`` in one SQLite file, ``lake.events`` parquet, ``lake.regions`` CSV).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

import meshlab
from meshlab.planner.parse import parse_statement
from meshlab.planner.passes import PASSES, name_of
from meshlab.planner.state import PlanState

FIXTURES = Path(__file__).parent / "planner_passes"
OPTIONS = ("limit", "params", "role", "join_pushdown")
BLOCKS = {"-- expected:": "sql", "-- expected scans:": "scans", "-- expected error:": "error"}


@dataclass
class Case:
    title: str
    line: int
    sql: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    expected: dict[str, list[str]] = field(default_factory=dict)


def read_cases(path: Path) -> list[Case]:
    """The cases of one fixture file (see the module docstring)."""
    cases: list[Case] = []
    block: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("-- title:"):
            cases.append(Case(line.removeprefix("-- title:").strip(), number))
            block = cases[-1].sql
        elif not cases:
            continue  # the file's own comments, before the first case
        elif line.strip() in BLOCKS:
            block = cases[-1].expected.setdefault(BLOCKS[line.strip()], [])
        elif block is cases[-1].sql and line.startswith("-- ") and line[3:].split(":")[0] in OPTIONS:
            key, value = line[3:].split(":", 1)
            cases[-1].options[key] = value.strip()
        elif block is not None:
            block.append(line)
    return cases


def _text(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def build_fixture_mesh(root: Path) -> meshlab.Mesh:
    """The fixture mesh copied to ``root``, with its SQLite file and parquet built, connected."""
    shutil.copytree(FIXTURES / "mesh", root)
    with closing(sqlite3.connect(root / "data" / "shop.sqlite")) as db, db:
        db.executescript((root / "data" / "shop.sql").read_text(encoding="utf-8"))
    pl.read_csv(root / "data" / "events.csv", try_parse_dates=True).write_parquet(root / "data" / "events.parquet")
    mesh = meshlab.connect(str(root / "mesh.yaml"))
    assert not mesh.errors, mesh.errors
    return mesh


@pytest.fixture(scope="module")
def fixture_mesh(tmp_path_factory):
    mesh = build_fixture_mesh(tmp_path_factory.mktemp("passes") / "mesh")
    yield mesh
    mesh.close()


def plan_through(mesh, case: Case, last: str) -> PlanState:
    """The case's query after every pass up to and including ``last``."""
    role = case.options.get("role")
    view = mesh.for_user("ana", role) if role else mesh
    state = PlanState(
        sql=_text(case.sql),
        tree=parse_statement(_text(case.sql)),
        catalog=view.catalog if role else view.full_catalog,
        source_for=mesh.source,
        params=json.loads(case.options["params"]) if "params" in case.options else None,
        limit=int(case.options["limit"]) if "limit" in case.options else None,
        access=view.access if role else None,
        join_pushdown=case.options.get("join_pushdown", "true") == "true",
    )
    for step in PASSES:
        state = step.run(state)
        if name_of(step) == last:
            return state
    raise AssertionError(f"no pass named {last}")


def render_scans(state: PlanState) -> str:
    """The scans (or, before there are any, the table references and what they could send).

    One paragraph per scan: ``<scan id> AS <alias>: <addresses>``, then its columns,
    each predicate sent (``exact``/``inexact``), each kept local, its limit and order,
    the role's row filter and masks, whether it is shared (and what it then sends), the SQL of a join pushed
    down and the join choice; then ``reads`` (scan id -> shared scan) and the notes.
    """
    lines: list[str] = []
    for scan in state.scans:
        spec = scan.spec
        lines.append(f"{scan.scan_id} AS {scan.alias}: {', '.join(ds.address for ds in scan.datasets)}")
        lines.append(f"  columns: {', '.join(spec.columns)}")
        lines.extend(f"  pushed {verdict.value}: {sql}" for sql, verdict in scan.pushed)
        lines.extend(f"  kept local: {sql}" for sql in scan.kept_local)
        if spec.limit is not None:
            order = ", ".join(o.sql() for o in spec.order_by)
            lines.append(f"  limit: {spec.limit}" + (f", order by {order}" if order else ""))
        lines.extend(_governance(spec.row_filter, spec.masks))
        if spec.shared:  # a shared database scan sends the weaker reference's predicates only
            lines.append(f"  shared, sends: {' AND '.join(p.sql() for p in spec.predicates) or 'no predicate'}")
        if spec.query is not None:
            lines.append(f"  query: {spec.query.sql(dialect=scan.source.dialect)}")
        if scan.join_choice:
            lines.append(f"  join: {scan.join_choice}")
    if not state.scans:
        rules = state.governance or (None,) * len(state.occurrences)
        for occurrence, rule in zip(state.occurrences, rules):
            lines.append(f"{occurrence.alias}: {state.datasets[occurrence.key].address}")
            lines.append(f"  columns: {', '.join(sorted(occurrence.columns)) or '(none)'}")
            lines.extend(f"  candidate: {c.sql()}" for c in occurrence.candidates)
            if occurrence.limit is not None:
                order = ", ".join(o.sql() for o in occurrence.order_by)
                lines.append(f"  limit: {occurrence.limit}" + (f", order by {order}" if order else ""))
            if rule is not None:
                lines.extend(_governance(rule.row_filter, rule.masks))
    lines.extend(f"reads: {old} -> {new}" for old, new in state.renames.items())
    lines.extend(f"note: {note}" for note in state.notes)
    return "\n".join(lines)


def _governance(row_filter, masks) -> list[str]:
    lines = [f"  row filter: {row_filter.sql()}"] if row_filter is not None else []
    if masks:
        lines.append(f"  masks: {', '.join(f'{m.name} {m.kind}' for m in masks)}")
    return lines


def _fixture_cases():
    for step in PASSES:
        name = name_of(step)
        path = FIXTURES / f"{name}.sql"
        if not path.exists():
            yield pytest.param(name, None, id=f"{name}-missing")
            continue
        for case in read_cases(path):
            yield pytest.param(name, case, id=f"{name}:{case.line}:{case.title}")


@pytest.mark.parametrize(("name", "case"), list(_fixture_cases()))
def test_planner_pass(fixture_mesh, name, case):
    assert case is not None, f"the pass {name} has no fixture file tests/planner_passes/{name}.sql"
    assert case.expected, f"{name}.sql line {case.line}: the case has no expected block"
    where = f"{name}.sql line {case.line} ({case.title})"
    if "error" in case.expected:
        with pytest.raises(meshlab.MeshError) as caught:
            plan_through(fixture_mesh, case, name)
        assert str(caught.value).startswith(_text(case.expected["error"])), where
        return
    state = plan_through(fixture_mesh, case, name)
    if "sql" in case.expected:
        assert state.tree.sql(dialect="duckdb", pretty=True) == _text(case.expected["sql"]), where
    if "scans" in case.expected:
        assert render_scans(state) == _text(case.expected["scans"]), where


def test_every_fixture_file_names_a_pass():
    names = {name_of(step) for step in PASSES}
    strays = sorted(p.stem for p in FIXTURES.glob("*.sql") if p.stem not in names)
    assert not strays, f"fixture files for no pass of meshlab.planner.passes.PASSES: {strays}"


def test_a_case_without_expected_block_is_refused(tmp_path):
    path = tmp_path / "x.sql"
    path.write_text("-- title: one\n-- limit: 3\nSELECT 1\n-- title: two\nSELECT 2\n-- expected:\nSELECT 2\n")
    one, two = read_cases(path)
    assert (one.options, one.expected, _text(one.sql)) == ({"limit": "3"}, {}, "SELECT 1")
    assert two.expected == {"sql": ["SELECT 2"]}
