"""The plays domain: every play of a track, and the daily per-track aggregate.

Plays are generated session by session: a listener (weighted by how much they
listen) opens the app at a plausible hour, plays a geometric number of tracks
back to back (Zipf-popular tracks), and each play is sent when it ends. A few
sessions are offline: their events reach the platform hours later ("late
events"), which is why play_events is partitioned by the day an event arrived.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from meshlab.demo.contracts import (
    Contract,
    Field,
    Server,
    Table,
    few_nulls,
    no_duplicates,
    not_null,
    valid_values,
)
from meshlab.demo.sampling import Sampler
from meshlab.demo.sizes import LAST_DAY, DemoSizes
from meshlab.demo.vocabulary import COUNTRIES, DEVICES

_SKIP_MS = 30_000  # the industry rule: under 30 s played is a skip, not a stream
_MEAN_SESSION_TRACKS = 8.0
_OFFLINE_SHARE = 0.03
_MAX_LATE_S = 48 * 3600
CHART_JOB_STALLED_DAYS = 3  # the nightly daily_track_plays job has failed for this many days
# Share of sessions starting in each UTC hour: quiet at night, peaks at the
# morning commute and in the evening.
_HOURLY = (2, 1.2, 0.8, 0.6, 0.6, 1, 2, 4, 5.5, 5, 4.5, 4.5, 5, 5, 4.8, 5, 5.5, 6.5, 7.5, 8, 7.5, 6.5, 5, 3.5)
_TEAM = (("ana", "Ana Silva", "owner"), ("jonas", "Jonas Weber", "data engineer"))

PLAY_EVENTS = Table(
    name="play_events",
    description="One row per play of a track by a listener: who played what, when, where "
    "(country) and on which device. The source of every plays, streams and "
    "listening-time figure.",
    fields=(
        Field(
            "event_id",
            "integer",
            "Play event id, increasing in arrival order.",
            "internal",
            required=True,
            primary_key=1,
            unique=True,
            quality=(not_null(), no_duplicates()),
        ),
        Field(
            "user_id",
            "integer",
            "Listener who played the track (listeners.profiles).",
            "restricted",
            required=True,
            quality=(not_null(),),
            references=("listeners.profiles.user_id",),
        ),
        Field(
            "track_id",
            "integer",
            "Track played (artists.tracks).",
            "public",
            required=True,
            quality=(not_null(),),
            references=("artists.tracks.track_id",),
        ),
        Field(
            "session_id", "integer", "Listening session: plays back to back on one device.", "internal", required=True
        ),
        Field(
            "played_at", "timestamp", "When the play started (UTC).", "internal", required=True, quality=(not_null(),)
        ),
        Field(
            "received_at",
            "timestamp",
            "When the event reached the platform (UTC); hours after played_at for offline plays.",
            "internal",
            required=True,
        ),
        Field("ms_played", "integer", "Milliseconds of the track actually played.", "internal", required=True),
        Field(
            "is_skip", "boolean", "True when under 30 seconds were played (not a stream).", "internal", required=True
        ),
        Field("shuffle", "boolean", "Whether shuffle mode was on.", "internal", required=True),
        Field("offline", "boolean", "Played without a connection; such events arrive late.", "internal", required=True),
        Field(
            "device",
            "string",
            "Device type the track was played on.",
            "internal",
            required=True,
            quality=(valid_values(list(DEVICES), "Known device types."),),
        ),
        Field(
            "country",
            "string",
            "ISO 3166-1 alpha-2 country the play happened in (from the IP address); null when it could not be located.",
            "internal",
            quality=(few_nulls(1),),
        ),
        Field(
            "date",
            "date",
            "Partition: the day (UTC) the event arrived, i.e. received_at's "
            "date (a folder date=YYYY-MM-DD, not a column of the files).",
            "internal",
            required=True,
            partition=True,
        ),
    ),
)

DAILY_TRACK_PLAYS = Table(
    name="daily_track_plays",
    description="Plays, unique listeners, skips and listening time per track and day: the "
    "daily chart, aggregated from play_events by the day of the play.",
    fields=(
        Field(
            "date",
            "date",
            "Day of the plays (UTC date of played_at); the Delta table is partitioned by it.",
            "internal",
            required=True,
            primary_key=1,
            partition=True,
        ),
        Field(
            "track_id",
            "integer",
            "Track (artists.tracks).",
            "public",
            required=True,
            primary_key=2,
            references=("artists.tracks.track_id",),
        ),
        Field("plays", "integer", "Number of plays that day, skips included.", "internal", required=True),
        Field("listeners", "integer", "Distinct listeners who played the track that day.", "internal", required=True),
        Field("skips", "integer", "Plays under 30 seconds.", "internal", required=True),
        Field("ms_played", "integer", "Total milliseconds played.", "internal", required=True),
    ),
    quality=(
        {
            "type": "library",
            "metric": "duplicateValues",
            "mustBe": 0,
            "arguments": {"properties": ["date", "track_id"]},
            "description": "One row per track and day.",
        },
    ),
)

PLAY_EVENTS_CONTRACT = Contract(
    domain="plays",
    file_stem="play_events",
    title="Play events",
    version="1.4.0",
    data_product="listening-history",
    purpose="Every play of a track, one row per play: the raw listening history behind "
    "plays per track, per artist, per country and per device.",
    usage="Join on user_id with listeners.profiles and on track_id with artists.tracks. "
    "Filter on the date partition to read only the days you need.",
    limitations="Offline plays arrive up to 48 h late, so the newest days are incomplete. "
    "date is the arrival day: use played_at for the day a track was played.",
    tags=("music", "plays", "events", "streams", "listening"),
    team=_TEAM,
    server=Server(
        "lake",
        "local",
        "../../data/plays/play_events/**/*.parquet",
        "parquet",
        description="Hive-partitioned by arrival day (date=YYYY-MM-DD).",
    ),
    tables=(PLAY_EVENTS,),
    latency=(2, "d", "play_events.played_at"),
    extra_sla=({"property": "retention", "value": 400, "unit": "d", "element": "play_events.played_at"},),
)

DAILY_TRACK_PLAYS_CONTRACT = Contract(
    domain="plays",
    file_stem="daily_track_plays",
    title="Daily track plays",
    version="1.2.0",
    data_product="track-charts",
    purpose="Daily plays and listeners per track, for charts and royalty estimates.",
    usage="Join on track_id with artists.tracks; sum plays over dates for a period. "
    "Read the charts as published on an earlier night with FOR VERSION AS OF n.",
    limitations="Built each night from the plays received by then: plays that arrive late "
    "(up to 48 h) are added to their day by a restatement, a later version. "
    "Listeners are distinct per day and cannot be summed over days.",
    tags=("music", "plays", "charts", "aggregate"),
    team=_TEAM,
    server=Server(
        "lake",
        "local",
        "../../data/plays/daily_track_plays",
        "delta",
        description="Delta table partitioned by date: one version per run of the chart job "
        "(the first build, one append a night, a MERGE restating late plays).",
    ),
    tables=(DAILY_TRACK_PLAYS,),
    latency=(1, "d", "daily_track_plays.date"),
)


def _sessions(sampler: Sampler, sizes: DemoSizes, profiles: pl.DataFrame) -> pl.DataFrame:
    """One row per listening session, numbered in time order, with its track count."""
    s = sampler
    # Draw a few more sessions than needed, then keep those that reach the target.
    draw = int(sizes.play_events / _MEAN_SESSION_TRACKS * 1.2) + 10
    length = s.geometric("sessions/length", draw, _MEAN_SESSION_TRACKS)
    before = length.cum_sum() - length
    n = int((before < sizes.play_events).sum())
    overshoot = int(length.head(n).sum()) - sizes.play_events
    length = pl.concat([length.head(n - 1), length.slice(n - 1, 1) - overshoot])
    # Listening is very unequal: log-normal activity, and a fifth of accounts idle.
    activity = s.normal("sessions/activity", profiles.height, 0.0, 1.2).exp() * (
        ~s.bernoulli("sessions/idle", profiles.height, 0.2)
    ).cast(pl.Float64)
    listener = s.weighted("sessions/listener", n, activity)
    home = profiles["country"].gather(listener)
    travel = s.choice("sessions/abroad", n, list(COUNTRIES), list(COUNTRIES.values()))
    away = s.bernoulli("sessions/travel", n, 0.02) | home.is_null()
    day_start = pl.lit(dt.datetime.combine(sizes.first_day, dt.time()))
    frame = pl.DataFrame(
        {
            "length": length,
            "user_id": profiles["user_id"].gather(listener),
            "day": s.integers("sessions/day", n, 0, sizes.days),
            "hour": s.weighted("sessions/hour", n, _HOURLY),
            "second": s.integers("sessions/second", n, 0, 3600),
            "device": s.choice("sessions/device", n, list(DEVICES), list(DEVICES.values())),
            "country": pl.select(pl.when(pl.lit(away)).then(pl.lit(travel)).otherwise(pl.lit(home))).to_series(),
            "located": ~s.bernoulli("sessions/unlocated", n, 0.004),
            "shuffle": s.bernoulli("sessions/shuffle", n, 0.4),
            "offline": s.bernoulli("sessions/offline", n, _OFFLINE_SHARE),
            "late_s": s.integers("sessions/late", n, 3600, _MAX_LATE_S),
        }
    )
    return (
        frame.with_columns(
            start=day_start + pl.duration(days="day", hours="hour", seconds="second"),
            country=pl.when("located").then("country"),
        )
        .sort("start", maintain_order=True)
        .with_columns(session_id=pl.int_range(1, n + 1))
    )


def _ms_played(sampler: Sampler, duration: pl.Series) -> pl.Series:
    """How long each play lasted: 25 % skipped early, 10 % stopped part-way, rest in full."""
    s, n = sampler, len(duration)
    skip_at = s.integers("plays/skip_at", n, 1_000, _SKIP_MS)
    stop_at = (s.uniform("plays/stop_at", n) * duration).floor().cast(pl.Int64)
    draw = pl.lit(s.uniform("plays/outcome", n))
    return (
        pl.select(
            pl.when(draw < 0.25)
            .then(pl.min_horizontal(pl.lit(skip_at), pl.lit(duration)))
            .when(draw < 0.35)
            .then(pl.max_horizontal(pl.lit(stop_at), _SKIP_MS))
            .otherwise(pl.lit(duration))
        )
        .to_series()
        .alias("ms_played")
    )


def _plays(sampler: Sampler, sessions: pl.DataFrame, tracks: pl.DataFrame) -> pl.DataFrame:
    """Narrow integer columns of every play, in session order, before arrival filtering."""
    s = sampler
    session = pl.int_range(sessions.height, eager=True).repeat_by(sessions["length"]).explode()
    n = len(session)
    popular = s.permutation("plays/popularity", tracks.height)
    track = popular.gather(s.zipf("plays/track", n, tracks.height, 1.0, tracks.height / 1000 + 2))
    ms_played = _ms_played(s, tracks["duration_ms"].gather(track))
    busy = ms_played + s.integers("plays/gap", n, 0, 3_000)
    # Offset of each play within its session is everything played before it
    # there: a global running sum minus its value at the session's first play
    # keeps this O(n), with no per-session grouping.
    elapsed = busy.cum_sum() - busy
    first_play = (sessions["length"].cum_sum() - sessions["length"]).gather(session)
    played_ms = sessions["start"].dt.epoch("ms").gather(session) + elapsed - elapsed.gather(first_play)
    late_ms = (sessions["late_s"] * sessions["offline"].cast(pl.Int64) * 1000).gather(session)
    sent_ms = s.integers("plays/send_delay", n, 200, 15_000)
    return pl.DataFrame(
        {
            "session": session,
            "track": track,
            "ms_played": ms_played,
            "played_ms": played_ms,
            "received_ms": played_ms + ms_played + sent_ms + late_ms,
        }
    )


def play_events(sampler: Sampler, sizes: DemoSizes, profiles: pl.DataFrame, tracks: pl.DataFrame) -> pl.DataFrame:
    """Generate the play events, sorted by arrival.

    Parameters
    ----------
    sampler
        The run's random streams.
    sizes
        Dataset sizes; about ``sizes.play_events`` rows are made (plays not yet
        arrived at the end of the last day are dropped, as in production).
    profiles, tracks
        The listeners and tracks the plays refer to.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`PLAY_EVENTS`, including the ``date`` partition key.
    """
    sessions = _sessions(sampler, sizes, profiles)
    end = dt.datetime.combine(LAST_DAY + dt.timedelta(days=1), dt.time())
    # Order and filter the narrow integer frame first, then gather the wide
    # (string) session columns once, already in their final order.
    plays = (
        _plays(sampler, sessions, tracks)
        .filter(pl.col("received_ms") < _epoch_ms(end))  # not arrived when the day closed
        .sort("received_ms", maintain_order=True)
    )
    events = sessions.select("user_id", "session_id", "shuffle", "offline", "device", "country").gather(
        plays["session"]
    )
    received_at = _from_ms(plays["received_ms"])
    return events.select(
        event_id=pl.int_range(1, plays.height + 1),
        user_id="user_id",
        track_id=tracks["track_id"].gather(plays["track"]),
        session_id="session_id",
        played_at=_from_ms(plays["played_ms"]),
        received_at=received_at,
        ms_played=plays["ms_played"],
        is_skip=plays["ms_played"] < _SKIP_MS,
        shuffle="shuffle",
        offline="offline",
        device="device",
        country="country",
        date=received_at.dt.date(),
    )


def _epoch_ms(moment: dt.datetime) -> int:
    return int((moment - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def _from_ms(ms: pl.Series) -> pl.Series:
    return ms.cast(pl.Datetime("ms")).cast(pl.Datetime("us"))


def charts_built_through(sizes: DemoSizes) -> dt.date:
    """The last day the nightly chart job built: it has been failing for :data:`CHART_JOB_STALLED_DAYS`.

    The demo's deliberate freshness incident: ``daily_track_plays`` promises a
    1-day latency, and ``meshlab check`` catches that it is days behind
    ``play_events``. A history of a few days only keeps its first day.
    """
    return LAST_DAY - dt.timedelta(days=min(CHART_JOB_STALLED_DAYS, sizes.days - 1))


def daily_track_plays(events: pl.DataFrame, built_through: dt.date | None = None) -> pl.DataFrame:
    """Aggregate play events into plays per track and day of play.

    Parameters
    ----------
    events
        The frame made by :func:`play_events`.
    built_through
        The last day the chart job built (see :func:`charts_built_through`); None: every day.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`DAILY_TRACK_PLAYS`, sorted by date and track.
    """
    if built_through is not None:
        events = events.filter(pl.col("played_at").dt.date() <= built_through)
    return (
        events.group_by(date=pl.col("played_at").dt.date(), track_id="track_id")
        .agg(
            plays=pl.len().cast(pl.Int64),
            listeners=pl.col("user_id").n_unique().cast(pl.Int64),
            skips=pl.col("is_skip").sum().cast(pl.Int64),
            ms_played=pl.col("ms_played").sum(),
        )
        .sort("date", "track_id")
    )
