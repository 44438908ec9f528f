"""The SQL logic cases: one YAML file per topic in this folder, one entry per case.

An entry::

    - name: rank_with_ties            # unique over all files
      sql: |
        select id, rank() over (order by i) as r from t.nums order by id
      expected:                       # written by record.py from DuckDB, never by hand
        columns: [id, r]
        types: [BIGINT, BIGINT]
        rows:
        - [1, 7]

Optional flags:

``ordered``
    true/false; by default derived from the outermost ORDER BY (its keys must be output
    columns, see ``conftest.order_by_positions``). ``true`` compares row for row.
``empty``
    why an empty (or all-NULL) answer is the point of the case.
``meshlab_gap``
    a diagnosis of why meshlab's answer is wrong or why it raises; per layout as a
    mapping (``{sqlite: "...", postgres: "..."}``) when only some layouts fail. The test
    expects the failure (strict xfail) until the planner is fixed.
``error``
    the ``MeshError`` subclass meshlab must raise (a feature it declines on purpose);
    ``error_mentions`` the words its message must contain.
``note``
    free text kept by the recorder (comments are not: the recorder rewrites the files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

HERE = Path(__file__).resolve().parent
NOT_CASE_FILES = ("tables.yaml",)
LAYOUT_NAMES = ("parquet", "sqlite", "postgres")
FIELD_ORDER = ("name", "note", "sql", "ordered", "empty", "error", "error_mentions", "meshlab_gap", "expected")


@dataclass(frozen=True)
class Case:
    """One case of a topic file."""

    name: str
    sql: str
    topic: str
    expected: dict | None = None
    ordered: bool | None = None
    empty: str | None = None
    error: str | None = None
    error_mentions: tuple[str, ...] = ()
    gap: dict[str, str] = field(default_factory=dict)
    note: str | None = None

    def gap_on(self, layout: str) -> str | None:
        """The recorded diagnosis of meshlab's failure on ``layout``, if any."""
        return self.gap.get(layout) or self.gap.get("*")

    @property
    def pushable(self) -> bool:
        """Whether the SQL holds something a database source may be asked to evaluate (a
        WHERE, a JOIN, a LIMIT or OFFSET, anywhere in the query); without one, a scan only
        reads whole columns."""
        tree = sqlglot.parse_one(self.sql, read="duckdb")
        return tree.find(exp.Where, exp.Join, exp.Limit, exp.Offset, exp.Fetch) is not None


def case_files(folder: Path = HERE) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name not in NOT_CASE_FILES)


def _gap(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"*": raw}
    if isinstance(raw, dict) and set(raw) <= set(LAYOUT_NAMES):
        return {str(k): str(v) for k, v in raw.items()}
    raise ValueError(f"{where}: meshlab_gap must be a diagnosis or a mapping {'/'.join(LAYOUT_NAMES)} -> diagnosis")


def read_entries(path: Path) -> list[dict]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: a case file is a list of entries")
    return entries


def load_cases(folder: Path = HERE) -> list[Case]:
    """Every case of every topic file, checked for unique names and known fields."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in case_files(folder):
        for entry in read_entries(path):
            where = f"{path.name}: {entry.get('name', entry)!r}"
            unknown = set(entry) - set(FIELD_ORDER)
            if unknown or "name" not in entry or "sql" not in entry:
                raise ValueError(f"{where}: needs name and sql; unknown fields {sorted(unknown)}")
            name = entry["name"]
            if name in seen:
                raise ValueError(f"{where}: case name already used in {seen[name]}")
            seen[name] = path.name
            mentions = entry.get("error_mentions") or ()
            if entry.get("error") and not mentions:
                raise ValueError(f"{where}: an `error` case names the words its message must hold (error_mentions)")
            cases.append(
                Case(
                    name=name,
                    sql=entry["sql"].strip(),
                    topic=path.stem,
                    expected=entry.get("expected"),
                    ordered=entry.get("ordered"),
                    empty=entry.get("empty"),
                    error=entry.get("error"),
                    error_mentions=(mentions,) if isinstance(mentions, str) else tuple(mentions),
                    gap=_gap(entry.get("meshlab_gap"), where),
                    note=entry.get("note"),
                )
            )
    return cases


# -- the stored form of an answer -------------------------------------------------------------
def encode_value(value: Any) -> Any:
    """A DuckDB value as the YAML scalar stored for it (exact decimals and intervals as text)."""
    if value is None or isinstance(value, (bool, int, str, date, datetime)):
        return value
    if isinstance(value, float):
        return value  # YAML writes .nan and .inf too
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (time, timedelta)):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} ({value!r}): cast it in the case's SQL")


def ordering(sql: str, declared: bool | None = None) -> tuple[bool, list[int] | None]:
    """``(ordered, order_by)`` for ``conftest.assert_same_rows``.

    ``declared`` (the case's ``ordered`` flag) wins: true compares row for row, false as
    multisets. Otherwise the outermost ORDER BY decides, its keys as output positions
    (``conftest.order_by_positions``); a key that is no output column needs the flag.
    """
    from conftest import order_by_positions

    if declared is not None:
        return bool(declared), None
    try:
        positions = order_by_positions(sql, "duckdb")
    except ValueError as error:
        raise ValueError(f"{error}: give the case `ordered: true` (row for row) or `ordered: false`") from error
    return bool(positions), positions or None


def answer_block(con: Any, sql: str, declared_order: bool | None = None) -> dict:
    """The ``expected`` block for ``sql``: DuckDB's column names, types and rows (rows of an
    unordered answer sorted, so the file does not change between runs)."""
    relation = con.sql(sql)
    rows = [[encode_value(v) for v in row] for row in relation.fetchall()]
    if not ordering(sql, declared_order)[0]:
        rows = canonical_rows(rows)
    return {"columns": list(relation.columns), "types": [str(t) for t in relation.types], "rows": rows}


def canonical_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows sorted on a key every value kind accepts (NULLs last, then by kind and value)."""

    def part(value: Any) -> tuple:
        if value is None:
            return (True, "", "")
        if isinstance(value, float) and math.isnan(value):
            return (False, "nan", "")
        return (False, type(value).__name__, value)

    def key(row: list[Any]) -> tuple:
        return tuple(part(v) for v in row)

    return sorted(rows, key=key)


def dump_text(value: Any) -> str:
    """The YAML text of a stored value (compares NaN with NaN, unlike ``==``)."""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
