"""Pass: write every DATE and TIMESTAMP literal the way every engine reads it.

Databases parse the text of a date literal leniently (``'2002-3-1'`` is March 1st
to DuckDB, PostgreSQL and Trino); Polars and a SQLite text column compare it as
written, where ``'2002-3-1'`` is neither a date nor equal to ``'2002-03-01'``::

    d_date BETWEEN CAST('2002-3-01' AS DATE) AND DATE '2002-5-1'
    -> d_date BETWEEN CAST('2002-03-01' AS DATE) AND CAST('2002-05-01' AS DATE)

A literal that is not a date (``DATE '2002-02-30'``) is refused here, with its
place in the query, as a database would refuse it. String literals compared with
a date *column* become dates later, once columns have types
(:mod:`meshlab.planner.cast_string_literals`); both use :func:`date_text` and
:func:`timestamp_text`.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlglot import exp

from meshlab.errors import SqlError
from meshlab.planner.parse import _position
from meshlab.planner.state import PlanState

# Year, month and day, one or two digits for the last two, '-' or '/' between them
# (what DuckDB's and PostgreSQL's date input accept in ISO order).
_DATE = r"(\d{1,4})([-/])(\d{1,2})\2(\d{1,2})"
DATE_TEXT = re.compile(rf"\s*{_DATE}\s*")
TIMESTAMP_TEXT = re.compile(rf"\s*{_DATE}(?:[ T](\d{{1,2}}):(\d{{1,2}})(?::(\d{{1,2}})(\.\d{{1,9}})?)?)?\s*")

DATE_TYPES = (exp.DataType.Type.DATE, exp.DataType.Type.DATE32)
TIMESTAMP_TYPES = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME, exp.DataType.Type.TIMESTAMPNTZ)


class NotADateError(SqlError):
    """A literal read as a date or timestamp is not one."""


def date_text(text: str) -> str | None:
    """``text`` as an ISO date (``'2002-3-1'`` -> ``'2002-03-01'``); None when it is no date."""
    found = DATE_TEXT.fullmatch(text)
    if found is None:
        return None
    year, _, month, day = found.groups()
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def timestamp_text(text: str) -> str | None:
    """``text`` as an ISO timestamp (``'2002-3-1 9:05'`` -> ``'2002-03-01 09:05:00'``); None when it is none."""
    found = TIMESTAMP_TEXT.fullmatch(text)
    if found is None:
        return None
    year, _, month, day, hour, minute, second, fraction = found.groups()
    try:
        value = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    text = value.isoformat(sep=" ")
    return text + fraction if fraction else text


def _iso(text: str, is_date: bool) -> bool:
    try:
        (dt.date if is_date else dt.datetime).fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def canonical_text(text: str, kind: exp.DType, sql: str, node: exp.Expr) -> str:
    """``text`` as the ISO date or timestamp ``kind`` reads it; a text that is none is an error at ``node``."""
    is_date = kind in DATE_TYPES
    canonical = date_text(text) if is_date else timestamp_text(text)
    if canonical is None and _iso(text, is_date):
        return text  # ISO already (a time zone, a fraction, a 'T'): every engine reads it
    if canonical is None:
        what = "date" if is_date else "timestamp"
        raise NotADateError(f"'{text}' is not a valid {what} (write it as YYYY-MM-DD)", *_position(sql, node))
    return canonical


def run(state: PlanState) -> PlanState:
    for node in list(state.tree.find_all(exp.Cast)):
        value, to = node.this, node.to.this
        if not (isinstance(value, exp.Literal) and value.is_string and to in DATE_TYPES + TIMESTAMP_TYPES):
            continue
        if isinstance(node, exp.TryCast):  # NULL, not an error, when the text is no date
            canonical = (date_text if to in DATE_TYPES else timestamp_text)(value.name)
        else:
            canonical = canonical_text(value.name, to, state.sql, node)
        if canonical is not None and canonical != value.name:
            value.replace(exp.Literal.string(canonical))
    return state
