"""SLA ``latency`` (freshness): the newest value of ``element`` is no older than value + unit.

``element`` is ``object.column`` (or ``column`` when the contract has one
schema object; several elements are separated by commas). Age is measured
from the newest value to the check's ``as_of`` instant (the run's start
unless fixed). A ``date`` covers its whole day, so its age runs from the end
of that day; a timestamp without a time zone is read as UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from meshlab.catalog import Dataset
from meshlab.catalog.contract import listed
from meshlab.catalog.positions import LocatedDocument, field_path
from meshlab.quality.metrics import NewestValue
from meshlab.quality.planned import Judge, Planned, Verdict, known

LATENCY_NAMES = ("latency", "ly", "freshness")
UNITS = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 7 * 86400,
    "week": 7 * 86400,
    "weeks": 7 * 86400,
    "y": 365 * 86400,
    "yr": 365 * 86400,
    "year": 365 * 86400,
    "years": 365 * 86400,
}


@dataclass(frozen=True)
class Latency:
    """A freshness promise on one column of one dataset."""

    dataset: str
    column: str
    limit: dt.timedelta | None
    text: str  # "2 d", as written
    place: str
    problem: str | None = None

    @property
    def check(self) -> str:
        return f"latency:{self.column}"


def age_text(age: dt.timedelta) -> str:
    """``3 d 6 h``, ``5 h 12 min``, ``42 s``: an age as people read it."""
    seconds = int(age.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"
    if hours:
        return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"
    return f"{sign}{minutes} min" if minutes else f"{sign}{secs} s"


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def newest_instant(value: Any) -> dt.datetime | None:
    """The instant a newest value stands for: a date's end of day, a naive timestamp as UTC."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    raise TypeError(f"not a date or timestamp: {value!r}")


def _limit(item: dict) -> tuple[dt.timedelta | None, str, str | None]:
    value, unit = item.get("value"), str(item.get("unit") or "").strip().lower()
    text = f"{value} {unit}".strip()
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        return None, text, f"latency needs a positive number as value, not {value!r}"
    if not unit:
        return None, text, "latency needs a unit (d, h, min, s, ...)"
    if unit not in UNITS:
        return None, text, f"unknown latency unit '{unit}' (known: s, min, h, d, w, y)"
    return dt.timedelta(seconds=float(value) * UNITS[unit]), text, None


NOT_EVALUATED = "not evaluated"


def _column_named(document: LocatedDocument, dataset: Dataset, key: str) -> str:
    """The column an SLA element names by its name or its physical name."""
    if dataset.column(key) is not None:
        return key
    from meshlab.quality.rules import schema_index

    i = schema_index(document, dataset.name)
    for prop in listed(document.data["schema"][i].get("properties")) if i is not None else ():
        if isinstance(prop, dict) and prop.get("physicalName") == key and prop.get("name") is not None:
            return str(prop["name"])
    return key


def latencies(document: LocatedDocument, dataset: Dataset) -> list[Latency]:
    """The latency promises of ``document`` that concern ``dataset``."""
    raw = document.data if isinstance(document.data, dict) else {}
    objects = [str(o.get("name")) for o in listed(raw.get("schema")) if isinstance(o, dict)]
    found = []
    for i, item in enumerate(listed(raw.get("slaProperties"))):
        if not isinstance(item, dict) or str(item.get("property", "")).lower() not in LATENCY_NAMES:
            continue
        where = ("slaProperties", i)
        place = f"{document.place(where)} {field_path(where)}"
        limit, text, problem = _limit(item)
        element = item.get("element") or raw.get("slaDefaultElement")
        if not element:
            if len(objects) == 1 and objects[0] == dataset.name:
                found.append(Latency(dataset.address, "?", None, text, place, "latency has no element (object.column)"))
            continue
        names = (dataset.name, dataset.physical_name)
        for part in str(element).split(","):
            part = part.strip()
            if part in names:  # the object alone: no column to measure
                found.append(Latency(dataset.address, "?", None, text, place, f"{NOT_EVALUATED}: element '{part}' names the object, not a column"))  # fmt: skip
                continue
            target, _, column = part.rpartition(".")
            if (target or (objects[0] if len(objects) == 1 else "")) not in names:
                continue
            column = _column_named(document, dataset, column)
            if dataset.column(column) is None:
                problem = problem or f"element '{part}' names no declared column of {dataset.address}"
            found.append(Latency(dataset.address, column, limit, text, place, problem))
    return found


def _judge(latency: Latency, limit: dt.timedelta, as_of: dt.datetime) -> Judge:
    def judge(value: Any, rows: int | None) -> Verdict:
        expected = {"max_age": latency.text, "as_of": as_of.isoformat()}
        newest = newest_instant(value)
        if newest is None:
            return Verdict(False, None, expected, f"{latency.column} has no value: nothing shows the data is fresh")
        age = as_of - newest
        observed = {"newest": value.isoformat(), "age": age_text(age), "age_seconds": age.total_seconds()}
        stamp = as_of.strftime("%Y-%m-%d %H:%M UTC")
        ok = age <= limit
        verb = "within" if ok else "more than"
        message = (
            f"newest {latency.column} {value.isoformat()} is {age_text(age)} old at {stamp}: {verb} {latency.text}"
        )
        return Verdict(ok, observed, expected, message)

    return judge


def freshness_check(latency: Latency, dataset: Dataset, as_of: dt.datetime) -> Planned:
    """A latency promise as a planned check on the column's newest value."""
    if latency.problem is not None:
        # What meshlab cannot measure (no unit, an object without a column) is skipped, not failed.
        unmeasured = latency.problem.startswith(NOT_EVALUATED) or "unit" in latency.problem
        status = "skipped" if unmeasured else "error"
        return known(
            latency.dataset, latency.check, "sla", status, f"{latency.place}: {latency.problem}", latency.place
        )
    column = dataset.column(latency.column)
    if column is None or latency.limit is None:  # latencies() reports either as the problem: not reached
        problem = f"{latency.place}: latency element '{latency.column}' cannot be measured"
        return known(latency.dataset, latency.check, "sla", "error", problem, latency.place)
    if column.logical_type not in ("date", "timestamp"):
        problem = (
            f"{latency.place}: latency element '{latency.column}' is {column.logical_type}, not a date or timestamp"
        )
        return known(latency.dataset, latency.check, "sla", "error", problem, latency.place)
    return Planned(
        dataset=latency.dataset,
        check=latency.check,
        kind="sla",
        rule=latency.place,
        metric=NewestValue(latency.column, column.logical_type),
        judge=_judge(latency, latency.limit, as_of),
    )
