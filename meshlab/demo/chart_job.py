"""The nightly chart job's history: ``plays.daily_track_plays`` as a Delta table, run by run.

The job runs at midnight and charts the day that just ended from the play events
received by then. Plays that reach the platform later (offline sessions, up to
48 h; plays still going at midnight) are missing from their day until a
restatement merges them in. Each run is a version of the table, so an analyst
can read the charts as they were published (``FOR VERSION AS OF 1``) and see
what the restatement changed. With ``T`` the last day built
(:func:`~meshlab.demo.plays.charts_built_through`)::

    v0  WRITE  the first build: every day through T-3, from the plays received by its midnight
    v1  WRITE  the nightly build of T-2
    v2  WRITE  the nightly build of T-1
    v3  WRITE  the nightly build of T (then the job stalls: the demo's freshness incident)
    v4  MERGE  the restatement at the snapshot: each day that late plays reached, recomputed

So the last version holds exactly :func:`~meshlab.demo.plays.daily_track_plays`
of every event through ``T``, and the versions before it what each night saw.
A history of fewer days has fewer nightly builds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from meshlab.demo.files import merge_delta, write_delta
from meshlab.demo.plays import DAILY_TRACK_PLAYS, charts_built_through, daily_track_plays
from meshlab.demo.sizes import SNAPSHOT, DemoSizes

NIGHTLY_BUILDS = 3  # runs after the first build, before the job stalled
KEY = ("date", "track_id")


@dataclass(frozen=True)
class ChartBuild:
    """One run of the chart job: the days of plays it charted, and when it ran."""

    first_day: dt.date
    last_day: dt.date

    @property
    def ran_at(self) -> dt.datetime:
        """Midnight after its last day: plays received from then on are late for it."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time())

    def charts(self, events: pl.DataFrame) -> pl.DataFrame:
        """What this run published: its days, from the plays received before it ran."""
        seen = events.filter(pl.col("received_at") < self.ran_at, _played_on(self.first_day, self.last_day))
        return daily_track_plays(seen)

    def late(self, events: pl.DataFrame) -> pl.Series:
        """Days of plays this run charted that arrived after it ran."""
        late = events.filter(pl.col("received_at") >= self.ran_at, _played_on(self.first_day, self.last_day))
        return late["played_at"].dt.date().unique()


def _played_on(first: dt.date, last: dt.date) -> pl.Expr:
    return pl.col("played_at").dt.date().is_between(first, last)


def chart_builds(sizes: DemoSizes) -> list[ChartBuild]:
    """The runs before the job stalled: a first build, then one run a night."""
    through = charts_built_through(sizes)
    first_through = max(sizes.first_day, through - dt.timedelta(days=NIGHTLY_BUILDS))
    nights = [first_through + dt.timedelta(days=n) for n in range(1, (through - first_through).days + 1)]
    return [ChartBuild(sizes.first_day, first_through), *(ChartBuild(day, day) for day in nights)]


def restated_days(events: pl.DataFrame, builds: list[ChartBuild]) -> list[dt.date]:
    """The days the restatement recomputes: those that late plays reached after their run."""
    return sorted(set().union(*(build.late(events).to_list() for build in builds)))


def write_chart_history(events: pl.DataFrame, sizes: DemoSizes, path: Path) -> None:
    """Write ``daily_track_plays`` at ``path`` as the Delta table the job's runs left.

    Parameters
    ----------
    events
        Every play event received by the snapshot (:func:`~meshlab.demo.plays.play_events`).
    sizes
        The demo's sizes, for its calendar.
    path
        The table's folder; a table there is replaced.
    """
    builds = chart_builds(sizes)
    for index, build in enumerate(builds):
        note = {
            "job": "nightly charts",
            "days": f"{build.first_day}..{build.last_day}",
            "ranAt": f"{build.ran_at.isoformat()}Z",
        }
        write_delta(DAILY_TRACK_PLAYS.cast(build.charts(events)), path, "date", note, create=index == 0)
    days = restated_days(events, builds)
    if days:
        restated = daily_track_plays(events.filter(pl.col("played_at").dt.date().is_in(days)))
        note = {"job": "late plays restatement", "days": ", ".join(map(str, days)), "ranAt": SNAPSHOT}
        merge_delta(DAILY_TRACK_PLAYS.cast(restated), path, KEY, note)
